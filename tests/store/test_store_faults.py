"""Disk full and concurrent writers: clear errors, nothing half-written, no lost update."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from station.audit import check
from station.cases import file_case
from forms.problems import StationError
from station.sample_data import make_submission
from station.store import Store
from tests.support import item_by_initials

ROOT = Path(__file__).resolve().parents[2]


def test_disk_full_during_filing_is_a_clear_error_and_the_store_stays_consistent(store, catalog, agent, rng) -> None:
    item = item_by_initials(catalog, "gljt")
    file_case(store, catalog, item.code, make_submission(item, rng, store.clock().date()), agent)
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count={pages}")  # the file may not grow: like a full disk
    before = store.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    with pytest.raises(StationError) as err:
        for _ in range(200):
            file_case(store, catalog, item.code, make_submission(item, rng, store.clock().date()), agent)
    assert err.value.code == "disk_full" and "磁盘空间不足" in err.value.message
    store.conn.execute("PRAGMA max_page_count=1073741823")
    after = store.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    assert after >= before
    cases = store.conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0]
    filed = store.conn.execute("SELECT COUNT(*) FROM events WHERE type='case.filed'").fetchone()[0]
    assert cases == filed
    assert check(store).ok
    file_case(store, catalog, item.code, make_submission(item, rng, store.clock().date()), agent)  # recovers


def test_concurrent_writers_on_one_home(village_home: Path) -> None:
    """Three processes file at once (as the TUI, the sync loop and a script would write): no
    'database is locked' reaches anyone, every case is kept, numbers never collide."""
    worker = ROOT / "bench" / "filing_worker.py"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FILING_LIMIT": "40"}
    procs = [subprocess.Popen([sys.executable, str(worker), str(village_home), str(seed)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for seed in range(3)]
    outputs = [p.communicate(timeout=180) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err
        assert "locked" not in err
    numbers = [line for out, _ in outputs for line in out.splitlines() if line != "ready"]
    assert len(numbers) == 120 and len(set(numbers)) == 120
    with Store.open(village_home) as store:
        assert store.conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 120
        assert check(store).ok
