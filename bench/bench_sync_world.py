"""Shared set-up for the sync benchmarks: a platform home, an enrolled village with N cases, a gateway process."""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import requests

from station.store import Store
from sync.gateway.testing import file_cases, make_platform, make_station
from station.testing import TOWNSHIP, VILLAGE

STATION = [sys.executable, "-c", "from station.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def world(root: Path, cases: int, township: bool = True) -> tuple[Path, Path, Path]:
    """(platform home, village home, platform keys file); the village holds ``cases`` filed cases."""
    phome, keys = make_platform(root)
    village = make_station(root, phome, keys, VILLAGE)
    if township:
        make_station(root, phome, keys, TOWNSHIP, "township")
    t = time.perf_counter()
    rng = random.Random(2026)
    chunk = 900  # a device issues 999 case numbers a day: spread big sets over days
    for start in range(0, cases, chunk):
        day = datetime.now() + timedelta(days=start // chunk)
        with Store.open(village, clock=lambda d=day: d) as store:
            file_cases(store, min(chunk, cases - start), rng)
    print(f"(set-up: filed {cases} cases in {time.perf_counter() - t:.1f} s)")
    return phome, village, keys


def serve(phome: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([*STATION, "platform", "serve", "--home", str(phome), "--port", str(port),
                             "--log-level", "warning"], stdout=subprocess.DEVNULL)
    for _ in range(400):
        try:
            if requests.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("gateway did not start")
