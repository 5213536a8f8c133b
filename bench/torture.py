"""The long torture loop: hundreds of kill -9 at random points of filing, batch building, sync (both
sides), USB export/import and db rebuild, with every invariant checked after each kill.

    .venv/bin/python bench/torture.py --kills 300 [--seed 3]

Prints one JSON document (kills per mode, how many landed mid-operation, invariant checks passed,
cases, events, seconds) plus the commit and date, for docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.torture_kit import Torture  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=300)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--initial-cases", type=int, default=400)
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="torture-") as tmp:
        world = Torture(Path(tmp), seed=args.seed, initial_cases=args.initial_cases)
        try:
            figures = world.run(args.kills)
        finally:
            world.close()
    print(json.dumps({"commit": commit, "date": date.today().isoformat(), **figures.to_dict()},
                     ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
