"""Rewrite every ```console block of README.md with what the command prints today.

    python scripts/regen_readme.py

(`tests/test_readme.py` fails when a block is stale.)
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

from tokenfrontier.views.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"```console\n\$ tokenfrontier (.*?)\n(.*?)```", re.S)


def _output(command: str) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(shlex.split(command))
    if code != 0:
        raise SystemExit(f"README command failed ({code}): tokenfrontier {command}")
    return buf.getvalue()


def regenerate(text: str) -> str:
    return BLOCK.sub(lambda m: f"```console\n$ tokenfrontier {m[1]}\n{_output(m[1])}```", text)


if __name__ == "__main__":
    README.write_text(regenerate(README.read_text()))
