"""Building real worlds for tests and benchmarks: a platform home, enrolled station homes, cases.

Nothing here is mocked: these are the same calls an operator makes through the CLI.
"""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any, Callable

import requests

from station.setup import init_station
from station.store import Store
from station.testing import TEST_ADMIN, TEST_PASSWORD
from sync.gateway.platform import Platform, init_platform
from sync.keys import install_platform_keys, station_enrolment, write_json_atomic
from sync.settings import configure


# Where make_platform keeps a new platform's state: None for the home's SQLite file, or a callable giving
# a fresh PostgreSQL database URL for each platform (tests/conftest.py's ``platform_store`` sets it).
DATABASES: dict[str, Callable[[], str] | None] = {"new": None}


def make_platform(root: Path, name: str = "测试省一体化政务服务平台", database: str | None = None) -> tuple[Path, Path]:
    """A platform home and its exported keys file; its state at ``database`` (a PostgreSQL URL), else in
    a database from ``DATABASES["new"]`` when set, else in the home's SQLite file."""
    home = root / "platform"
    new = DATABASES["new"]
    init_platform(home, name, database or (new() if new else None))
    keys_file = root / "platform-keys.json"
    with Platform.open(home) as platform:
        write_json_atomic(keys_file, platform.enrolment.to_dict())
    return home, keys_file


def make_station(root: Path, platform_home: Path, keys_file: Path, code: str, role: str = "village",
                 url: str = "", name: str | None = None, enroll: bool = True, clock: Any = None,
                 device: int = 1) -> Path:
    """A station home (device ``device`` of the service point ``code``), enrolled on the platform,
    configured with the platform keys (and url), with its first administrator (station.testing.TEST_ADMIN;
    log in on the CLI with ``cli_login_env()``)."""
    home = root / (f"{role}-{code}" + (f"-d{device}" if device > 1 else ""))
    label = name or (f"测试{'镇便民服务中心' if role == 'township' else '村便民服务站'}{code[-3:]}")
    config = init_station(home, code, label, role, clock=clock, admin=(TEST_ADMIN, TEST_PASSWORD), device=device)
    if enroll:
        with Platform.open(platform_home) as platform:
            platform.enroll(station_enrolment(home, config.device_id, role, label))
    install_platform_keys(home, keys_file)
    configure(home, url or None)
    return home


def file_cases(store: Store, count: int, rng: random.Random | None = None, today: date | None = None,
               operator_name: str = "王小红") -> list[str]:
    """File ``count`` valid cases (cycling through the catalog) as a freshly added agent."""
    from forms.catalog import load_catalog
    from station.cases import file_case
    from station.operators import add_operator, get_operator, os_account
    from station.sample_data import make_submission

    catalog = _catalog(load_catalog)
    # A second call on the same store draws other applicants (the same ones would be duplicates)
    rng = rng or random.Random(7 + store.conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0])
    today = today or store.clock().date()
    agent = get_operator(store, operator_name) or add_operator(store, operator_name, "agent", "secret123",
                                                               os_account())
    items = list(catalog.items)
    numbers = []
    for i in range(count):
        item = items[i % len(items)]
        numbers.append(file_case(store, catalog, item.code, make_submission(item, rng, today, waive=i % 4 == 1),
                                 agent).number)
    return numbers


_CATALOG: dict[str, Any] = {}


def _catalog(loader: Any) -> Any:
    if "c" not in _CATALOG:
        _CATALOG["c"] = loader()
    return _CATALOG["c"]


STATION_CLI = [sys.executable, "-c", "from station.cli import main; main()"]


def free_port() -> int:
    """A free TCP port on loopback (for a gateway started in its own process)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_platform(phome: Path, port: int, *extra: str) -> subprocess.Popen:
    """`station platform serve` in its own process on 127.0.0.1:``port``; returns once it answers."""
    proc = subprocess.Popen([*STATION_CLI, "platform", "serve", "--home", str(phome), "--port", str(port),
                             "--log-level", "warning", *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("gateway did not start")
