from __future__ import annotations

import pytest

from tokenfrontier.catalog import Catalog, default_catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return default_catalog()
