"""kill -9 in the middle of filing: every case whose filing returned is kept, the store stays consistent."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from station.audit import check
from station.setup import init_station
from station.store import Store

WORKER = Path(__file__).resolve().parents[2] / "bench" / "filing_worker.py"
ROOT = Path(__file__).resolve().parents[2]


def _kill_during_filing(home: Path, seed: int, wait_s: float) -> list[str]:
    proc = subprocess.Popen([sys.executable, str(WORKER), str(home), str(seed)], stdout=subprocess.PIPE,
                            text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(wait_s)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return [line.strip() for line in proc.stdout.read().splitlines() if line.strip()]


def test_kill_minus_nine_loses_nothing_that_returned(tmp_path: Path) -> None:
    home = tmp_path / "s"
    init_station(home, "421381105201", "断电测试村")
    rng = random.Random(11)
    returned: list[str] = []
    for round_ in range(6):
        returned += _kill_during_filing(home, seed=round_, wait_s=rng.uniform(0.3, 1.2))
        with Store.open(home) as store:
            report = check(store)
            assert report.ok, report.problems
            kept = {n for (n,) in store.conn.execute("SELECT number FROM cases")}
        missing = set(returned) - kept
        assert not missing, f"round {round_}: cases lost after kill -9: {sorted(missing)[:3]}"
    assert len(returned) > 20  # the kills really happened mid-stream
