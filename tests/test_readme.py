"""Every ```console block in the README shows what the command prints today."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tokenfrontier.views.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```console\n\$ tokenfrontier (.*?)\n(.*?)```", README.read_text(), re.S)


@pytest.mark.parametrize(("command", "shown"), BLOCKS, ids=[b[0] for b in BLOCKS])
def test_readme_output_is_current(command, shown, capsys):
    assert main(shlex.split(command)) == 0
    assert capsys.readouterr().out == shown


def test_readme_has_examples():
    assert len(BLOCKS) >= 4
