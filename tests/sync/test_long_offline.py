"""A month offline, then one sync: everything delivered exactly once, memory bounded on both sides.
CI size here (300 cases); bench/long_offline.py runs the 3,000-case month and prints the figures."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from station.store import Store
from sync.service import sync_status
from bench.offline_world import VILLAGE, run


def test_a_month_offline_then_one_sync(tmp_path: Path) -> None:
    figures = run(tmp_path, cases=300)
    print(json.dumps({k: v for k, v in figures.items() if k not in ("phome", "village")}))
    month, sync = figures["month"], figures["sync"]
    assert month["cases"] == 300 and month["materials"] > 20 and month["rated"] > 20
    assert sync["ok"], sync["errors"]
    assert sync["events"] == month["events"]
    with Store.open(Path(figures["village"])) as store:
        status = sync_status(store)
        assert status.pending_events == 0 and status.cursor.acked_seq == store.last_local_seq()
        assert status.clock_warnings == ()
    conn = sqlite3.connect(Path(figures["phome"]) / "platform.db")
    total, distinct = conn.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM events WHERE station=?",
                                   (VILLAGE,)).fetchone()
    conn.close()
    assert total == distinct == month["events"]
    # bounded: the sync adds little over what the same process needs to open the store at all
    assert sync["peak_rss_kib"] < figures["station_idle_peak_rss_kib"] + 80 * 1024
    assert figures["gateway_peak_rss_kib"] < figures["gateway_idle_peak_rss_kib"] + 80 * 1024
