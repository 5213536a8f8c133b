"""The CLI against a tired operator and a hostile script: output paths inside the home, damaged homes,
numbers and dates at their extremes, names with control characters. Every refusal is a Chinese
error with a code (JSON under --json), a non-zero exit, no traceback, and nothing saved is lost."""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from forms.catalog import load_catalog
from station.cli import main
from station.sample_data import make_submission
from station.store import Store
from station.testing import TEST_ADMIN, TEST_PASSWORD, VILLAGE, cli_login_env

NO_LOGIN = {"STATION_OPERATOR": None, "STATION_PASSWORD": None}


def run(*args: str, input: str | None = None, env: dict | None = None) -> tuple[int, dict]:
    """A command with --json, as the home's administrator; a traceback fails the test."""
    result = CliRunner().invoke(main, [*args, "--json"], input=input, env=cli_login_env() if env is None else env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"traceback for {args}: {result.exception!r}") from result.exception
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "village"
    code, data = run("init", "--home", str(h), "--division-code", VILLAGE, "--name", "测试村便民服务站",
                     "--admin", TEST_ADMIN, "--password-stdin", input=TEST_PASSWORD + "\n", env=NO_LOGIN)
    assert code == 0, data
    return h


@pytest.fixture
def case_number(home: Path, tmp_path: Path) -> str:
    item = load_catalog(use_cache=False).search("dszn")[0]
    path = tmp_path / "case.json"
    path.write_text(json.dumps(make_submission(item, random.Random(5), date.today()), ensure_ascii=False),
                    encoding="utf-8")
    code, filed = run("case", "file", "--home", str(home), "--item", item.code, "--data", str(path))
    assert code == 0, filed
    return filed["case_number"]


def test_no_output_option_writes_over_the_homes_own_files(home: Path, case_number: str, tmp_path: Path) -> None:
    """`--out station.toml` typed in the home folder (or a link to the data key) would destroy the station."""
    link = tmp_path / "looks-harmless.pdf"
    link.symlink_to(home / "keys" / "data.key")
    kept = {name: (home / name).read_bytes() for name in ("station.toml", "keys/data.key")}
    targets = [home / "station.toml", home / "keys" / "data.key", link, home / "new.pdf"]
    for target in targets:
        for args in (["print", "receipt", case_number, "--out", str(target)],
                     ["print", "daily", "--out", str(target)],
                     ["keys", "export", "--out", str(target)],
                     ["stats", "--export", str(target.with_suffix(".csv")) if target.parent == home else str(target)],
                     ["backup", "--to", str(target), "--passphrase-stdin"]):
            code, err = run(*args, "--home", str(home), input="a-long-backup-passphrase\n")
            assert code != 0 and err["error"]["code"] == "output_in_home", (args, err)
    assert {name: (home / name).read_bytes() for name in kept} == kept
    assert not (home / "new.pdf").exists()
    with Store.open(home) as store:
        assert store.conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 1


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_database_is_a_clear_error(home: Path, case_number: str, damage: str) -> None:
    db = home / "station.db"
    with Store.open(home) as store:
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.write_bytes(b"not a database " * 100 if damage == "garbage" else db.read_bytes()[:8192])
    for args in (["case", "list"], ["case", "show", case_number], ["db", "check"], ["keys", "export"]):
        code, err = run(*args, "--home", str(home))
        assert code != 0 and err["error"]["code"] == "store_damaged", (args, err)
        assert "备份" in err["error"]["message"]


@pytest.mark.parametrize("edit", [
    lambda text: b"\xff\xfe\x00 not utf-8",
    lambda text: text.replace('station_id = "421381105201"', "station_id = 5").encode(),
    lambda text: text.replace('role = "village"', 'role = "x"').encode(),
    lambda text: text.replace("device = 1", "device = 77").encode(),
    lambda text: text.replace('name = "测试村便民服务站"', "name = [1, 2]").encode(),
], ids=["not-utf8", "number-as-code", "unknown-role", "device-77", "list-as-name"])
def test_a_damaged_station_toml_is_a_clear_error(home: Path, edit) -> None:
    config = home / "station.toml"
    config.write_bytes(edit(config.read_text(encoding="utf-8")))
    for args in (["case", "list"], ["keys", "export"], ["sync", "configure", "--interval", "30"], ["db", "check"]):
        code, err = run(*args, "--home", str(home))
        assert code != 0 and err["error"]["code"] == "bad_config", (args, err)


def test_numbers_and_dates_at_their_extremes(home: Path, case_number: str) -> None:
    code, err = run("case", "list", "--offset", "99999999999999999999", "--home", str(home))
    assert code != 0 and err["error"]["code"] == "bad_value"
    for day in ("9999-12-31", "0001-01-01"):
        code, err = run("print", "daily", "--date", day, "--home", str(home))
        assert code != 0 and err["error"]["code"] == "bad_date", (day, err)
        code, err = run("stats", "--from", day, "--home", str(home))
        assert code != 0 and err["error"]["code"] == "bad_date", (day, err)
    code, err = run("print", "daily", "--date", "2026-02-30", "--home", str(home))
    assert code != 0 and err["error"]["code"] == "bad_date"


def test_an_output_file_that_cannot_be_written_is_a_clear_error(home: Path, case_number: str,
                                                                 tmp_path: Path) -> None:
    for out in (tmp_path / ("长" * 200 + ".pdf"), tmp_path / "no-such-dir" / "x" / "\x7f" / ("y" * 300)):
        code, err = run("print", "daily", "--out", str(out), "--home", str(home))
        assert code != 0 and err["error"]["code"] == "file_error", err
        code, err = run("keys", "export", "--out", str(out), "--home", str(home))
        assert code != 0 and err["error"]["code"] == "file_error", err


@pytest.mark.parametrize("name", ["\x1b[2J\x1b[31m管理员", "王\u202e红", "李\x00四", "张\u200b三"])
def test_operator_names_with_control_characters_are_refused(home: Path, name: str) -> None:
    code, err = run("operator", "add", "--name", name, "--role", "agent", "--home", str(home),
                    "--password-stdin", input="secret123\n")
    assert code != 0 and err["error"]["code"] == "bad_name", err
    code, listed = run("operator", "list", "--home", str(home))
    assert [o["name"] for o in listed["operators"]] == [TEST_ADMIN]


def test_the_login_password_is_not_handed_to_child_processes(home: Path, case_number: str, tmp_path: Path) -> None:
    """STATION_PASSWORD is read once and taken out of the environment: the print job (``lp``, run by the
    command) must not inherit the operator's password."""
    import os
    import subprocess
    import sys

    from station.home import update_config

    update_config(home, printer="HP_LaserJet")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    seen = tmp_path / "lp-env.txt"
    (bindir / "lp").write_text(f'#!/bin/sh\nenv > "{seen}"\necho "request id is HP-1 (1 file(s))"\n')
    (bindir / "lp").chmod(0o755)
    env = {**os.environ, **cli_login_env(), "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([sys.executable, "-m", "station", "print", "receipt", case_number, "--home", str(home),
                           "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["printed"] is True
    child = seen.read_text()
    assert "STATION_OPERATOR=" in child  # the environment did reach lp …
    assert "STATION_PASSWORD" not in child and TEST_PASSWORD not in child  # … without the password
