"""Shared fixtures: real station homes in tmp paths, the real shipped catalog."""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path

import pytest

from forms.catalog import Catalog, load_catalog
from station.operators import add_operator, os_account
from station.setup import init_station
from station.store import Store
from tests.support import VILLAGE, FixedClock
from tests.support.gateway_db import STORES, platform_database
from tests.support.tui import build_demo, copy_home



@pytest.fixture(scope="session")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    cat = load_catalog(cache_dir=tmp_path_factory.mktemp("pinyin-cache"))
    assert not cat.issues, [str(i) for i in cat.issues]
    return cat


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 9, 21, 10, 0))  # a Monday with a holiday week ahead


@pytest.fixture
def village_home(tmp_path: Path, clock: FixedClock) -> Path:
    home = tmp_path / "village"
    init_station(home, VILLAGE, "测试村便民服务站", "village", clock=clock)
    return home


@pytest.fixture
def store(village_home: Path, clock: FixedClock):
    with Store.open(village_home, clock=clock) as s:
        yield s


@pytest.fixture
def agent(store: Store):
    return add_operator(store, "王小红", "agent", "secret123", os_account())


@pytest.fixture(params=STORES, scope="module")
def platform_store(request: pytest.FixtureRequest):
    """Run a module's tests once per platform store: the SQLite file, and PostgreSQL. Every platform made
    by ``make_platform`` meanwhile (served in process or by a `station platform serve` subprocess) uses
    that store, each in a fresh database; the value is the URL of one more fresh database (for tests
    that run `station platform init --database` themselves), or None for SQLite."""
    with platform_database(request.param) as url:
        yield url


@pytest.fixture
def platform_store_pg():
    """PostgreSQL only (the tests of what only it offers: workers, migrations of its schema)."""
    with platform_database("postgres") as url:
        yield url


@pytest.fixture
def rng() -> random.Random:
    return random.Random(7)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo station (`station demo`), built once per session; tests take a copy (demo_home)."""
    return build_demo(tmp_path_factory.mktemp("tui-demo"))


@pytest.fixture
def demo_home(demo_template: Path, tmp_path: Path) -> Path:
    return copy_home(demo_template, tmp_path / "station")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run the long torture/soak tests (marker: slow)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without --runslow the long versions are deselected (not skipped): CI runs the CI-sized ones."""
    if config.getoption("--runslow"):
        return
    slow = [item for item in items if "slow" in item.keywords]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if "slow" not in item.keywords]
