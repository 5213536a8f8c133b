"""A busy village that has been offline for a month, and one sync with the peak memory of both sides
measured (tests/sync/test_long_offline.py at CI size, bench/long_offline.py at 3,000 cases).

The month: every working day the agent files cases (every 4th with a material accepted under 容缺 and
brought in a few days later); village-level items are accepted, approved, handed over and rated.
Stamps stay in the past month (a sane clock), so the gateway flags nothing.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from forms.catalog import load_catalog
from station.cases import CaseReader, deliver, file_case, record_materials
from station.operators import add_operator, os_account
from station.ratings import rate
from station.review import Decision, decide
from station.sample_data import make_submission
from station.store import Store
from station.setup import init_station
from sync.gateway.platform import Platform
from sync.keys import install_platform_keys, station_enrolment
from sync.settings import configure
from sync.gateway.testing import make_platform
from station.testing import VILLAGE, FixedClock
from sync.gateway.testing import free_port as _free_port, serve_platform as _serve

ROOT = Path(__file__).resolve().parents[1]
SYNC_CHILD = """
import json, sys, time
from pathlib import Path
def hwm():  # this process's own peak RSS (ru_maxrss would include the parent's at fork)
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
from station.store import Store
from sync.service import sync_now
started = time.monotonic()
with Store.open(Path(sys.argv[1])) as store:
    summary = sync_now(store)
print(json.dumps({"ok": summary.ok, "errors": summary.errors, "batches": summary.batches_acknowledged,
                  "events": summary.events_acknowledged, "seconds": time.monotonic() - started,
                  "peak_rss_kib": hwm()}))
"""
IDLE_CHILD = """
import json, sys
from pathlib import Path
def hwm():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
from station.store import Store
from sync.service import sync_status
from station.testing import VILLAGE
with Store.open(Path(sys.argv[1])) as store:
    sync_status(store)
print(json.dumps({"peak_rss_kib": hwm()}))
"""


def start_of_month() -> datetime:
    return datetime.now().replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=31)


def busy_month(home: Path, cases: int, seed: int = 5) -> dict[str, int]:
    """File ``cases`` over the last 30 days with materials brought in, decisions, hand-overs and ratings."""
    catalog = load_catalog()
    items = list(catalog.items)
    rng = random.Random(seed)
    start = start_of_month()
    clock = FixedClock(start)
    counts = {"cases": 0, "materials": 0, "decided": 0, "rated": 0}
    with Store.open(home, clock=clock) as store:
        agent = add_operator(store, "王小红", "agent", "secret123", os_account())
        # ratings are entered by someone other than the agent being rated (the paper 评价卡)
        colleague = add_operator(store, "李会计", "agent", "secret123", os_account())
        waived: list[tuple[int, str, list[str]]] = []
        for day in range(30):
            clock.now = start + timedelta(days=day)
            for i in range(cases // 30 + (1 if day < cases % 30 else 0)):
                clock.now += timedelta(seconds=30)
                item = items[(day * 31 + i) % len(items)]
                filed = file_case(store, catalog, item.code,
                                  make_submission(item, rng, clock.now.date(), waive=i % 4 == 1), agent)
                counts["cases"] += 1
                if filed.waived:
                    waived.append((day, filed.number, list(filed.waived)))
                if item.handling_level == "village":
                    decide(store, filed.number, Decision("accept"), os_account())
                    decide(store, filed.number, Decision("approve", certificate=f"证{filed.number[-6:]}"), os_account())
                    deliver(store, filed.number, "本人", True, agent)
                    rate(store, filed.number, rng.choice([5, 5, 4, 3, 1]), colleague, detail="办理太慢",
                         channel="纸质")
                    counts["decided"] += 1
                    counts["rated"] += 1
            while waived and waived[0][0] <= day - 2:  # materials brought in two days later (most of them)
                _, number, keys = waived.pop(0)
                if rng.random() < 0.9 and CaseReader(store).get(number).status not in ("withdrawn", "delivered"):
                    record_materials(store, number, keys, agent)
                    counts["materials"] += 1
        counts["events"] = store.last_local_seq()
    return counts


def _vm_hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def run(root: Path, cases: int) -> dict[str, Any]:
    """Build the month, then one `sync now` in a child process against the gateway in another; returns the
    figures (peak RSS of each side, and of an idle station process and the idle gateway for reference)."""
    import json

    port = _free_port()
    phome, keys = make_platform(root)
    village = root / "village"  # set up a month ago (its first event is stamped then)
    init_station(village, VILLAGE, "测试村便民服务站", "village", clock=FixedClock(start_of_month()))
    with Platform.open(phome) as platform:
        platform.enroll(station_enrolment(village, VILLAGE, "village", "测试村便民服务站"))
    install_platform_keys(village, keys)
    configure(village, f"http://127.0.0.1:{port}", sync_retries=0)
    config = phome / "platform.toml"  # one sync of a month's backlog is a burst of batches
    config.write_text(config.read_text(encoding="utf-8").replace("rate_per_minute = 600", "rate_per_minute = 6000"),
                      encoding="utf-8")
    started = time.monotonic()
    month = busy_month(village, cases)
    build_s = time.monotonic() - started
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    idle = json.loads(subprocess.run([sys.executable, "-c", IDLE_CHILD, str(village)], capture_output=True,
                                     text=True, env=env, check=True).stdout)
    gateway = _serve(phome, port)
    try:
        gateway_idle = _vm_hwm_kib(gateway.pid)
        out = subprocess.run([sys.executable, "-c", SYNC_CHILD, str(village)], capture_output=True, text=True,
                             env=env, timeout=600)
        assert out.returncode == 0, out.stderr
        station = json.loads(out.stdout)
        gateway_peak = _vm_hwm_kib(gateway.pid)
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)
    return {"month": month, "build_seconds": round(build_s, 1), "sync": station,
            "station_idle_peak_rss_kib": idle["peak_rss_kib"], "gateway_idle_peak_rss_kib": gateway_idle,
            "gateway_peak_rss_kib": gateway_peak, "phome": str(phome), "village": str(village)}
