"""Backup and restore of a station home (issue 12): one sealed file, made while filing goes on; a wrong
passphrase or a damaged file writes nothing; a restored home opens with every case and its keys."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from forms.problems import StationError
from station import events as ev
from station.audit import check
from station.backup import LAST_BACKUP_KEY, MAGIC, backup_station, make_backup, restore_station
from station.cases import CaseReader
from station.cli import main
from station.operators import get_operator
from station.setup import init_station
from station.store import Store
from station.testing import TEST_ADMIN, TEST_PASSWORD, cli_login_env
from sync.gateway.testing import file_cases
from tests.support import VILLAGE

PASS = "村里的备份口令2026"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "village"
    init_station(h, VILLAGE, "测试村便民服务站", admin=(TEST_ADMIN, TEST_PASSWORD))
    with Store.open(h) as store:
        file_cases(store, 5)
    return h


def test_backup_while_filing_then_restore_gives_a_working_home_with_every_case_it_held(home: Path, tmp_path: Path) -> None:
    stop = threading.Event()
    filed: list[str] = []

    def keep_filing() -> None:
        with Store.open(home) as store:
            while not stop.is_set():
                filed.extend(file_cases(store, 1))

    worker = threading.Thread(target=keep_filing)
    worker.start()
    try:
        with Store.open(home) as store:
            while len(filed) < 2:
                threading.Event().wait(0.05)
            info = backup_station(store, tmp_path, PASS, get_operator(store, TEST_ADMIN))
    finally:
        stop.set()
        worker.join()
    target = Path(info.path)
    assert target.parent == tmp_path and target.name.startswith(f"{VILLAGE}-") and target.suffix == ".vsbak"
    raw = target.read_bytes()
    assert raw.startswith(MAGIC) and b"421381105201-" not in raw[200:]  # nothing of the data in clear
    new = tmp_path / "restored"
    restored = restore_station(target, new, PASS)
    assert restored.cases == info.cases >= 7
    with Store.open(new) as store:
        numbers = [r[0] for r in store.conn.execute("SELECT number FROM cases ORDER BY number")]
        assert len(numbers) == info.cases
        assert CaseReader(store).get(numbers[0]).reveal_id(store.codec)  # the data key came along
        assert check(store).ok  # audit chain and projections intact
        assert store.meta_get("catchup.required") == "1"
    with Store.open(home) as store:
        assert store.meta_get(LAST_BACKUP_KEY) == info.made_at
        (event,) = [e for e in store.iter_events("type=?", (ev.BACKED_UP,))]
        assert event.operator == TEST_ADMIN and event.body["file"] == target.name
    assert (new / "keys" / "data.key").stat().st_mode & 0o077 == 0


def test_wrong_passphrase_and_damaged_files_are_clear_errors_and_write_nothing(home: Path, tmp_path: Path) -> None:
    info = make_backup(home, tmp_path / "b.vsbak", PASS)
    target = Path(info.path)
    with pytest.raises(StationError) as err:
        restore_station(target, tmp_path / "new", "不是这个口令哦")
    assert err.value.code == "wrong_passphrase" and "口令不对" in err.value.message
    data = target.read_bytes()
    cases = {
        "flipped": data[:-100] + bytes([data[-100] ^ 1]) + data[-99:],
        "cut": data[: len(data) // 2],
        "no_final_chunk": data[: len(data) - 50],
        "header": data[:12] + b"x" + data[13:],
        "not_a_backup": b"hello" * 50,
    }
    for name, blob in cases.items():
        bad = tmp_path / f"{name}.vsbak"
        bad.write_bytes(blob)
        with pytest.raises(StationError) as err:
            restore_station(bad, tmp_path / "new", PASS)
        assert err.value.code in ("backup_damaged", "not_a_backup"), name
        assert "备份" in err.value.message
    assert not (tmp_path / "new").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary leftovers
    with pytest.raises(StationError) as err:
        make_backup(home, tmp_path / "short.vsbak", "1234")
    assert err.value.code == "weak_passphrase"
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(StationError) as err:
        restore_station(target, tmp_path / "full", PASS)
    assert err.value.code == "home_not_empty"


def test_cli_backup_and_restore_read_passphrases_from_stdin(home: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "usb"
    out.mkdir()
    result = runner.invoke(main, ["backup", "--home", str(home), "--to", str(out), "--passphrase-stdin", "--json"],
                           input=PASS + "\n", env=cli_login_env())
    assert result.exit_code == 0, result.output
    path = json.loads(result.output)["path"]
    assert Path(path).parent == out
    result = runner.invoke(main, ["restore", "--from", path, "--home", str(tmp_path / "again"), "--passphrase-stdin",
                                  "--offline"], input="wrong passphrase\n")
    assert result.exit_code == 1 and "口令不对" in result.output
    assert not (tmp_path / "again").exists()
    result = runner.invoke(main, ["restore", "--from", path, "--home", str(tmp_path / "again"), "--passphrase-stdin",
                                  "--offline"], input=PASS + "\n")
    assert result.exit_code == 0, result.output
    assert "已从备份恢复" in result.output and "station sync now" in result.output
    # the agent may back up too (the reminder asks them to); the passphrase follows the login password
    with Store.open(home) as store:
        from station.operators import add_operator
        add_operator(store, "王代办", "agent", "agent1234", get_operator(store, TEST_ADMIN))
    result = runner.invoke(main, ["backup", "--home", str(home), "--to", str(tmp_path / "agent.vsbak"),
                                  "--operator", "王代办", "--password-stdin", "--passphrase-stdin"],
                           input="agent1234\n" + PASS + "\n", env={k: v for k, v in os.environ.items()
                                                                   if k != "STATION_PASSWORD"})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "agent.vsbak").is_file()
