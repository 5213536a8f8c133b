"""A busy village a month offline (default 3,000 cases with materials, decisions, hand-overs and ratings),
then one `station sync now`: every event delivered exactly once; peak RSS of the station process and of
the gateway process (VmHWM), with idle references.

    .venv/bin/python bench/long_offline.py [--cases 3000]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.offline_world import VILLAGE, run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=3000)
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="offline-") as tmp:
        figures = run(Path(tmp), args.cases)
        conn = sqlite3.connect(Path(figures.pop("phome")) / "platform.db")
        total, distinct = conn.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM events WHERE station=?",
                                       (VILLAGE,)).fetchone()
        conn.close()
        figures.pop("village")
    figures["platform_events"] = {"total": total, "distinct": distinct}
    figures["exactly_once"] = total == distinct == figures["month"]["events"] == figures["sync"]["events"]
    print(json.dumps({"commit": commit, "date": date.today().isoformat(), **figures}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
