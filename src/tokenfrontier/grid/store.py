"""The results store of a sweep: a Parquet dataset directory keyed by cell hash.

Every batch of finished cells is one ``part-*.parquet`` file, written to a hidden temporary
file beside it and renamed into place (:func:`tokenfrontier.outputs.write_file`), so a file
either holds its whole batch or does not exist: a run killed at any instant (``kill -9``)
leaves only complete files and hidden temporaries, which are never read. A rerun reads the
stored hashes and skips those cells: zero lost, zero duplicated. One sweep at a time may
write into a directory (an advisory lock, released by the OS when the process dies).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError
from .evaluate import AXIS_COLUMNS, METRIC_COLUMNS

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["Store", "load_sweep"]

_PART = "part-*.parquet"


def _schema() -> pa.Schema:
    import pyarrow as pa

    types = {"string": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}
    return pa.schema([(k, types[t]) for k, t in {**AXIS_COLUMNS, **METRIC_COLUMNS}.items()])


class Store:
    """A sweep's dataset directory, locked for writing while open."""

    def __init__(self, path: str | Path) -> None:
        self.path = Store.check(path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidInputError(f"--out {path}: cannot create: {exc.strerror or exc}") from None
        self._lock_fd = self._lock()
        self._seq = 0
        for stale in self.path.glob(".part-*.tmp"):  # a killed run's unfinished batch
            stale.unlink(missing_ok=True)

    @staticmethod
    def check(path: str | Path) -> Path:
        """``path`` as a sweep folder: new, or one holding only a sweep's files (creates nothing)."""
        folder = Path(path).expanduser()
        if folder.exists() and not folder.is_dir():
            raise InvalidInputError(f"--out {path}: is a file; give a folder for the sweep's results")
        if folder.is_dir() and any(not p.name.startswith((".", "part-")) for p in folder.iterdir()):
            raise InvalidInputError(
                f"--out {path}: not a sweep folder (it holds other files); give a new folder or a sweep's"
            )
        return folder

    @staticmethod
    def read_done(path: str | Path) -> dict[str, str | None]:
        """The cells stored in ``path`` (nothing when it does not exist yet); no lock taken."""
        import pyarrow.parquet as pq

        out: dict[str, str | None] = {}
        for part in sorted(Path(path).expanduser().glob(_PART)):
            cols = pq.read_table(part, columns=["cell_hash", "error"]).to_pydict()
            for h, err in zip(cols["cell_hash"], cols["error"], strict=True):
                out.setdefault(h, err)
        return out

    def _lock(self) -> int:
        try:
            import fcntl
        except ImportError:  # not POSIX (Windows): no lock, one sweep per folder is on the user
            return -1
        fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise InvalidInputError(
                f"--out {self.path}: another sweep is writing into this folder; wait for it or pick another"
            ) from None
        return fd

    def close(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def parts(self) -> list[Path]:
        return sorted(self.path.glob(_PART))

    def done(self) -> dict[str, str | None]:
        """The cells already stored: hash -> their error (``None``: computed)."""
        return Store.read_done(self.path)

    def append(self, rows: Sequence[dict[str, Any]]) -> Path | None:
        """Store finished rows as one new part file (atomically); ``None`` when there are none."""
        if not rows:
            return None
        import pyarrow as pa
        import pyarrow.parquet as pq

        from ..outputs import write_file

        table = pa.Table.from_pylist(list(rows), schema=_schema())
        self._seq += 1
        name = f"part-{time.time_ns():020d}-{os.getpid()}-{self._seq:06d}.parquet"

        def write(tmp: Path) -> None:
            pq.write_table(table, tmp)
            with open(tmp, "rb") as fh:  # on disk before the rename makes it visible
                os.fsync(fh.fileno())

        return write_file(self.path / name, write, "--out")


def load_sweep(path: str | Path) -> pd.DataFrame:
    """A sweep's results as one DataFrame: one row per cell (axes, then metrics in SI units,
    then ``error``), in grid order. Hidden temporaries of a killed run are never read."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise InvalidInputError(f"sweep {path}: no such folder")
    schema = _schema()
    parts = sorted(folder.glob(_PART))
    tables = [pq.read_table(p).select(schema.names).cast(schema) for p in parts]
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    mapping = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
    frame = table.to_pandas(types_mapper=mapping.get)
    frame = frame.drop_duplicates("cell_hash", keep="first")
    return frame.sort_values(["cell_index", "cell_hash"], kind="stable").reset_index(drop=True)
