"""Shared fixtures: real station homes in tmp paths, the real shipped catalog."""

from __future__ import annotations

import random
from datetime import date, datetime, time
from pathlib import Path

import pytest

from forms.catalog import Catalog, load_catalog
from station.operators import add_operator, os_account
from station.setup import init_station
from station.store import Store

VILLAGE = "421381105201"
VILLAGE_2 = "421381105202"
TOWNSHIP = "421381105000"


class FixedClock:
    """A settable clock for the store (dates decide case numbers and due dates)."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set_day(self, day: date, at: time = time(10, 0)) -> None:
        self.now = datetime.combine(day, at)


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


@pytest.fixture
def rng() -> random.Random:
    return random.Random(7)


def ship(src: Store, dst: Store) -> None:
    """Deliver every local event of ``src`` that ``dst`` has not seen: what sync does, minus the
    envelope (the sync package has its own end-to-end tests over the real gateway)."""
    dst.ingest_remote([src.wire_event(e) for e in src.iter_events("origin='local'")])


def item_by_initials(catalog: Catalog, initials: str):
    hits = catalog.search(initials)
    assert hits, f"no catalog item for {initials}"
    return hits[0]


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
