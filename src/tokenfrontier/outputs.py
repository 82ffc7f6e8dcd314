"""Outputs: nothing half-written.

Every file a command writes (``--csv``, ``--plot``, ``--cost-plot``, ``calibrate --out``) is
checked writable before any work starts (:func:`check_file`, :func:`check_folder`), written to a
temporary file in the target folder and renamed into place only when complete
(:func:`write_file`, :class:`Staged` for several files of one command, :func:`write_folder` for
a folder of files). Names derived from data are checked by :func:`safe_name` and confined to the
chosen folder.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import InvalidInputError

__all__ = ["Staged", "check_file", "check_folder", "safe_name", "staged", "write_file", "write_folder"]

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
_PREFIX = ".tokenfrontier-"


def safe_name(text: str, what: str) -> str:
    """``text`` if it can be a file name inside a folder (no separators, no ``..``), else an error."""
    if not _SAFE.match(text) or ".." in text:
        raise InvalidInputError(
            f"{what} {text!r} cannot name a file: use letters, digits, '.', '_', '+' or '-' "
            "(at most 128, no '..', no '/')"
        )
    return text


def _probe(folder: Path, label: str) -> None:
    """Create and remove a temporary file in ``folder``: the only sure test that it is writable."""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=_PREFIX, suffix=".probe")
    except OSError as exc:
        raise InvalidInputError(f"{label}: cannot write in {folder}: {exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(tmp)


def check_file(path: str | Path, flag: str) -> Path:
    """A file output: not a folder, in an existing folder that accepts new files, not read-only."""
    path = Path(path).expanduser()
    label = f"{flag} {path}"
    if not path.name or path.is_dir():
        raise InvalidInputError(f"{label}: is a folder; give a file name")
    parent = path.parent
    if not parent.exists():
        raise InvalidInputError(f"{label}: folder {parent} does not exist")
    if not parent.is_dir():
        raise InvalidInputError(f"{label}: {parent} is not a folder")
    if path.exists() and not path.is_file():
        raise InvalidInputError(f"{label}: exists and is not a regular file")
    if path.exists() and not os.access(path, os.W_OK):
        raise InvalidInputError(f"{label}: the file is read-only")
    _probe(parent, label)
    return path


def _existing_ancestor(path: Path) -> Path:
    current = path
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def check_folder(path: str | Path, flag: str) -> Path:
    """A folder output: an existing writable folder, or one that can be created."""
    path = Path(path).expanduser()
    label = f"{flag} {path}"
    if path.exists() and not path.is_dir():
        raise InvalidInputError(f"{label}: is a file, not a folder")
    anc = _existing_ancestor(path.absolute())
    if not anc.is_dir():
        raise InvalidInputError(f"{label}: {anc} is a file, not a folder")
    _probe(anc, label)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temp_beside(path: Path) -> Path:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; the result gets a normal file's mode
    return Path(tmp)


class Staged:
    """Several outputs of one command: each rendered to a temporary file beside its target;
    :meth:`commit` renames them all into place, :meth:`discard` removes them."""

    def __init__(self) -> None:
        self._items: list[tuple[Path, Path]] = []

    def add(self, path: str | Path, write: Callable[[Path], None], flag: str = "output") -> None:
        """Render one output with ``write(temporary_path)``."""
        path = Path(path).expanduser()
        try:
            tmp = _temp_beside(path)
        except OSError as exc:
            raise InvalidInputError(f"{flag} {path}: cannot write: {exc.strerror or exc}") from None
        self._items.append((tmp, path))
        try:
            write(tmp)
        except OSError as exc:
            raise InvalidInputError(f"{flag} {path}: cannot write: {exc.strerror or exc}") from None

    def commit(self) -> None:
        for i, (tmp, path) in enumerate(self._items):
            try:
                os.replace(tmp, path)
            except OSError as exc:
                self._items = self._items[i:]
                self.discard()
                raise InvalidInputError(f"{path}: cannot write: {exc.strerror or exc}") from None
        self._items = []

    def discard(self) -> None:
        for tmp, _ in self._items:
            tmp.unlink(missing_ok=True)
        self._items = []


@contextmanager
def staged() -> Iterator[Staged]:
    """``with staged() as out: out.add(...)``: all outputs appear together, or none does."""
    st = Staged()
    try:
        yield st
    except BaseException:
        st.discard()
        raise
    st.commit()


def write_file(path: str | Path, write: Callable[[Path], None], flag: str = "output") -> Path:
    """Write one file atomically: ``write(temporary_path)``, then rename into ``path``."""
    with staged() as st:
        st.add(path, write, flag)
    return Path(path).expanduser()


def write_folder(folder: str | Path, files: dict[str, str], flag: str = "--out") -> list[Path]:
    """Write text ``files`` (name -> content) into ``folder`` (created if missing).

    Every name must be :func:`safe_name`; all files are written into a temporary folder first
    and moved into place only when every one is complete.
    """
    folder = check_folder(folder, flag)
    names = [safe_name(n, "file name") for n in files]
    anc = _existing_ancestor(folder.absolute())
    tmpdir = Path(tempfile.mkdtemp(dir=anc, prefix=_PREFIX))
    out: list[Path] = []
    try:
        for name in names:
            (tmpdir / f"{name}.part").write_text(files[name], encoding="utf-8")
            os.chmod(tmpdir / f"{name}.part", 0o666 & ~_umask())
        folder.mkdir(parents=True, exist_ok=True)
        root = folder.resolve()
        for name in names:  # every target checked before the first one is moved
            target = folder / name
            if target.resolve().parent != root:  # a symlink would lead out of the folder
                raise InvalidInputError(f"{flag} {folder}: {name} would be written outside the folder")
            if target.is_dir():
                raise InvalidInputError(f"{flag} {folder}: {name} exists and is a folder")
        for name in names:
            os.replace(tmpdir / f"{name}.part", folder / name)
            out.append(folder / name)
    except OSError as exc:
        raise InvalidInputError(f"{flag} {folder}: cannot write: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return out
