"""Printout timings: warm receipt + notice (median), and the first document in a fresh process.

    .venv/bin/python bench/bench_printouts.py [--runs 30]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FIRST_DOC = """
import time
t0 = time.perf_counter()
from printouts import render, samples
t1 = time.perf_counter()
render(samples.case(), "receipt")
t2 = time.perf_counter()
print(f"{(t1 - t0) * 1000:.1f} {(t2 - t1) * 1000:.1f}")
"""


def warm(runs: int, fmt: str, large: bool) -> float:
    from printouts import render, samples
    case = samples.case()
    render(case, "receipt", fmt, large)
    render(case, "notice", fmt, large)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        render(case, "receipt", fmt, large)
        render(case, "notice", fmt, large)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def cold(runs: int) -> tuple[float, float]:
    imports, firsts = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", FIRST_DOC], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
        imports.append(float(out[0]))
        firsts.append(float(out[1]))
    return statistics.median(imports), statistics.median(firsts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--cold-runs", type=int, default=5)
    args = ap.parse_args()
    for fmt in ("a4", "roll80"):
        for large in (False, True):
            ms = warm(args.runs, fmt, large)
            print(f"warm receipt+notice {fmt:6s} large={large!s:5s}: median {ms:6.1f} ms "
                  f"({args.runs} runs)")
    imp, first = cold(args.cold_runs)
    print(f"fresh process: import printouts {imp:.1f} ms, first receipt (font search + "
          f"registration + render) {first:.1f} ms, total {imp + first:.1f} ms "
          f"(median of {args.cold_runs})")


if __name__ == "__main__":
    main()
