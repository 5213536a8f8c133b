"""`station platform …` on a damaged home or a busy host: a Chinese error with a code (JSON with --json),
never a traceback or a server's log line."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest

from sync.gateway.testing import STATION_CLI, make_platform


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*STATION_CLI, "platform", *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("as_json", [False, True])
def test_a_damaged_platform_db_is_a_clear_error(tmp_path: Path, as_json: bool) -> None:
    phome, _ = make_platform(tmp_path)  # SQLite: this module does not use the platform_store fixture
    for name in ("platform.db", "platform.db-wal", "platform.db-shm"):
        (phome / name).unlink(missing_ok=True)
    (phome / "platform.db").write_bytes(b"not a database, a disk that went bad" * 100)
    out = _cli("status", "--home", str(phome), *(["--json"] if as_json else []))
    assert out.returncode == 1 and "Traceback" not in out.stderr
    if as_json:
        assert json.loads(out.stdout)["error"]["code"] == "database_corrupt"
    else:
        assert out.stderr.startswith("错误：") and "platform.db" in out.stderr


def test_serve_on_a_port_already_taken_says_so(tmp_path: Path) -> None:
    phome, _ = make_platform(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for workers in ("1", "2"):
            out = _cli("serve", "--home", str(phome), "--port", str(port), "--workers", workers, "--json")
            if workers == "2" and json.loads(out.stdout)["error"]["code"] == "workers_need_postgres":
                continue  # SQLite: refused before the port
            assert out.returncode == 1, out.stdout + out.stderr
            assert json.loads(out.stdout)["error"]["code"] == "cannot_listen"
            assert "Traceback" not in out.stderr and "运行于" not in out.stdout  # never claimed to be running
        text = _cli("serve", "--home", str(phome), "--port", str(port))
        assert text.returncode == 1 and text.stderr.startswith("错误：无法在 127.0.0.1:") and "运行于" not in text.stdout
