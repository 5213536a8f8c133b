"""A database URL on every operator face: a password never shows (text, --json, the reason libpq gives),
whatever the URL looks like, and a database that cannot be reached fails at once, with libpq's reason."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sync.gateway.database import mask_url
from sync.gateway.testing import STATION_CLI
from tests.support.gateway_db import SERVER

SECRET = "TopSecret9"
HOST = urlsplit(SERVER).hostname

# URLs a tired operator might type: a password with characters URLs reserve, percent-encoding gone wrong,
# a password parameter, the postgres:// scheme, a libpq keyword/value string, an unclosed IPv6 bracket
ODD_URLS = [
    f"host={HOST} password={SECRET} dbname=test",
    f"host={HOST} password='{SECRET} x' dbname=test",
    f"postgresql://nobody:pa#{SECRET}@{HOST}/test",
    f"postgresql://nobody:pa/{SECRET}@{HOST}/test",
    f"postgresql://nobody:pa?{SECRET}@{HOST}/test",
    f"postgresql://nobody:{SECRET}%zz@{HOST}/test",
    f"postgresql://nobody:{SECRET}@[::1/test",
    f"postgres://nobody@{HOST}/test?sslmode=bogus&password={SECRET}",
    f"postgresql://nobody@{HOST}/test?sslpassword={SECRET}&sslmode=bogus",
    f"postgresql://postgres:{SECRET}@127.0.0.1:1/test",
]


@pytest.mark.parametrize("url", ODD_URLS)
def test_a_password_never_shows_whatever_the_url(url: str) -> None:
    assert SECRET not in mask_url(url)


@pytest.mark.parametrize("url", ODD_URLS)
def test_init_with_an_odd_url_fails_at_once_in_chinese_without_the_password(tmp_path: Path, url: str) -> None:
    for as_json in (False, True):
        home = tmp_path / f"p{as_json}"
        started = time.monotonic()
        out = subprocess.run([*STATION_CLI, "platform", "init", "--home", str(home), "--name", "省平台",
                              "--database", url, *(["--json"] if as_json else [])],
                             capture_output=True, text=True, timeout=60)
        took = time.monotonic() - started
        assert out.returncode == 1, out.stdout + out.stderr
        assert SECRET not in out.stdout + out.stderr
        assert "Traceback" not in out.stderr and "error connecting" not in out.stderr  # no pool log lines
        assert took < 8, f"{took:.1f} s to give up"  # not the pool's 10 s of retries
        if as_json:
            error = json.loads(out.stdout)["error"]
            assert error["code"] in ("bad_database", "database_unreachable")
        else:
            assert out.stderr.startswith("错误：")
        assert not home.exists()  # nothing half-made


def test_an_unreachable_database_says_why(tmp_path: Path) -> None:
    out = subprocess.run([*STATION_CLI, "platform", "init", "--home", str(tmp_path / "p"), "--name", "省平台",
                          "--database", f"postgresql://postgres:{SECRET}@127.0.0.1:1/test", "--json"],
                         capture_output=True, text=True, timeout=60)
    error = json.loads(out.stdout)["error"]
    assert error["code"] == "database_unreachable"
    assert "Connection refused" in error["message"] and "postgres:***@127.0.0.1:1" in error["message"]
