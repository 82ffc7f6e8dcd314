from __future__ import annotations

import pytest

from tokenfrontier.catalog import Catalog, default_catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return default_catalog()


def assert_cli_error(capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    """Bad input: exit 2, nothing on stdout, one stderr line naming the problem, no traceback."""
    from tokenfrontier.views.cli import main

    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert needle in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
