"""``tokenfrontier dashboard``: the launcher takes its Streamlit server down when it is stopped,
and a busy port is one line on stderr and exit 2. Only 127.0.0.1; every wait is bounded."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tokenfrontier

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SRC = str(Path(tokenfrontier.__file__).resolve().parents[1])  # the package these tests import


def _launcher(port: int) -> list[str]:
    return [sys.executable, "-m", "tokenfrontier.views.cli", "dashboard", "--port", str(port)]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen()
        except OSError:
            return False
        return True


def test_sigterm_to_the_launcher_stops_the_server(tmp_path):
    pytest.importorskip("streamlit")
    port = _free_port()
    log = (tmp_path / "dashboard.log").open("wb")
    # its own session, so the cleanup below can take down the launcher and its child together
    proc = subprocess.Popen(_launcher(port), env=_env(), stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while not _answers(port):
            assert proc.poll() is None, (tmp_path / "dashboard.log").read_text()
            assert time.monotonic() < deadline, "dashboard did not start listening in 90 s"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)  # to the launcher only, not its process group
        assert proc.wait(timeout=20) in (0, 128 + signal.SIGTERM)
        deadline = time.monotonic() + 5
        while _answers(port) or not _bindable(port):
            assert time.monotonic() < deadline, "a server is still on the port after the launcher exited"
            time.sleep(0.1)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the group
        proc.wait(timeout=10)
        log.close()


def test_busy_port_is_one_line_and_exit_2():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(_launcher(port), env=_env(), capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("tokenfrontier: error:") and str(port) in lines[0]
