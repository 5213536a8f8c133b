"""Every gateway test runs on both platform stores (tests/conftest.py, ``platform_store``)."""

import pytest


@pytest.fixture(autouse=True)
def _on_both_stores(platform_store: str | None) -> None:
    pass
