"""The station's health figures that come from outside its store: how old the service catalog is."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from station.health import CATALOG_WARN_DAYS, catalog_updated, station_health
from station.setup import init_station
from station.store import Store
from station.testing import TEST_ADMIN, TEST_PASSWORD
from tests.support import VILLAGE

from tests.forms.test_catalog import GOOD


def _catalog(tmp_path: Path, updated: dict[str, str | None]) -> Path:
    d = tmp_path / "catalog"
    d.mkdir(parents=True)
    for i, (name, when) in enumerate(updated.items(), 1):
        text = GOOD.replace("MZ-TEST-001", f"MZ-TEST-00{i}")
        if when:
            text = text.replace("version = 1", f"version = 1\nupdated = {when}")
        (d / name).write_text(text, encoding="utf-8")
    return d


def test_the_catalog_is_as_old_as_its_stalest_item_whatever_the_files_mtime(tmp_path: Path) -> None:
    d = _catalog(tmp_path, {"a.toml": "2026-03-01", "b.toml": "2025-11-20", "c.toml": None})
    for f in d.iterdir():  # reinstalled today: the mtime says nothing about the rules' age
        os.utime(f, (1796000000, 1796000000))
    assert catalog_updated(d) == date(2025, 11, 20)
    (d / "broken.toml").write_text("updated = [", encoding="utf-8")
    assert catalog_updated(d) == date(2025, 11, 20)
    assert catalog_updated(_catalog(tmp_path / "x", {"a.toml": None})) is None


def test_health_warns_once_the_catalog_is_a_year_old(tmp_path: Path) -> None:
    d = _catalog(tmp_path, {"a.toml": "2025-12-01"})
    home = tmp_path / "station"
    init_station(home, VILLAGE, "测试村便民服务站", admin=(TEST_ADMIN, TEST_PASSWORD))
    with Store.open(home) as store:
        fresh = station_health(store, today=date(2026, 11, 30), catalog_dir=d)
        stale = station_health(store, today=date(2026, 12, 1), catalog_dir=d)
    assert fresh.catalog_days == CATALOG_WARN_DAYS - 1
    assert not any("事项目录" in w for w in fresh.warnings)
    assert stale.catalog_days == CATALOG_WARN_DAYS
    assert any(f"事项目录已 {CATALOG_WARN_DAYS} 天没有更新" in w for w in stale.warnings)
    assert f"事项目录：{CATALOG_WARN_DAYS} 天未更新" in stale.lines()
