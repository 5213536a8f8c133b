"""Every gateway test runs on both platform stores (tests/conftest.py, ``platform_store``)."""

import pytest


@pytest.fixture(scope="module", autouse=True)
def _on_both_stores(platform_store: str | None) -> None:
    """Module-scoped and automatic, so the modules' own module-scoped worlds are built on it too; such a
    world must also name ``platform_store`` itself, or pytest keeps the first store's world for the second."""
