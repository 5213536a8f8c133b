"""Catch-up over a USB stick (sync/usb_catchup.py): a USB-only station restored from a backup learns from the
platform what it already acknowledged of its chain, through the stick, before it cuts new batches.

Real station homes, a real platform home (both platform stores), a real stick folder; the CLI for the
steps an operator runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from station.audit import check
from station.backup import backup_station, restore_station
from station.cli import main
from station.operators import get_operator
from station.store import Store
from station.testing import TEST_ADMIN, cli_login_env
from sync import outbox
from sync.gateway.platform import Platform
from sync.gateway.testing import file_cases, make_platform, make_station
from sync.gateway.usb_import import platform_import
from sync.usb import export, import_
from sync.usb_catchup import CHAIN_FILE, OWN_DIR, needs_catchup
from tests.support import VILLAGE, VILLAGE_2

PASS = "备份口令-2026-村"

pytestmark = pytest.mark.usefixtures("platform_store", "new_process")  # both platform stores


def run(*args: str, exit_code: int = 0) -> dict:
    result = CliRunner(env=cli_login_env()).invoke(main, [*args, "--json"])
    assert result.exit_code == exit_code, result.output
    return json.loads(result.output)


def round_trip(home: Path, phome: Path, stick: Path) -> tuple[dict, dict, dict]:
    """station export → platform import → station import (the domain functions the CLI and TUI call)."""
    with Store.open(home) as store:
        exported = export(store, stick)
    with Platform.open(phome) as platform:
        imported = platform_import(platform, stick)
    with Store.open(home) as store:
        back = import_(store, stick)
    return exported, imported, back


def platform_import_cli(phome: Path, stick: Path) -> dict:
    return run("platform", "import", "--home", str(phome), "--from", str(stick))


def platform_numbers(phome: Path) -> list[str]:
    with Platform.open(phome) as platform:
        return [c["number"] for c in platform.store.cases()]


def station_numbers(home: Path) -> set[str]:
    with Store.open(home) as store:
        return {n for (n,) in store.conn.execute("SELECT number FROM cases")}


def dead_pc(tmp_path: Path, phome: Path, keys: Path, stick: Path) -> tuple[Path, Path, list[str], list[str]]:
    """A USB-only village: files and syncs by stick, backs up, files and syncs twice more; its PC dies.
    Returns (the old home, the backup file, numbers before the backup, numbers after it)."""
    village = make_station(tmp_path, phome, keys, VILLAGE)
    with Store.open(village) as store:
        before = file_cases(store, 2)
    assert round_trip(village, phome, stick)[2]["acks_applied"] == 1
    with Store.open(village) as store:
        info = backup_station(store, tmp_path, PASS, get_operator(store, TEST_ADMIN))
        after = file_cases(store, 3)
    assert round_trip(village, phome, stick)[2]["acks_applied"] == 1
    with Store.open(village) as store:
        after += file_cases(store, 2)
    _, imported, back = round_trip(village, phome, stick)
    assert imported["stations"][0]["accepted"] == 1 and back["acks_applied"] == 1 and back["catchup"] is None
    return village, Path(info.path), before, after


def test_a_restored_usb_station_refuses_to_cut_then_catches_up_through_the_stick(tmp_path: Path) -> None:
    phome, keys = make_platform(tmp_path)
    stick = tmp_path / "usb"
    old, backup, before, after = dead_pc(tmp_path, phome, keys, stick)
    with Store.open(old) as store:
        old_last = store.last_local_seq()
    new = tmp_path / "new-pc"
    restore_station(backup, new, PASS)
    with Store.open(new) as store:
        restored_last = store.last_local_seq()
        assert needs_catchup(store)
    # its next export cuts nothing (a new batch would reuse a number the platform holds) and says why
    result = CliRunner(env=cli_login_env()).invoke(main, ["sync", "export", "--home", str(new), "--to", str(stick)])
    assert result.exit_code == 2, result.output
    assert "catchup_pending" in result.output and "送到平台导入" in result.output and "不会丢失" in result.output
    exported = run("sync", "export", "--home", str(new), "--to", str(stick), exit_code=2)
    assert exported["catchup_pending"] and exported["code"] == "catchup_pending" and exported["batches_built"] == 0
    manifest = json.loads((stick / VILLAGE / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["catchup"]["request"] and manifest["acked_batch"] == 1
    with Store.open(new) as store:
        assert not outbox.batches(store, (outbox.BUILT, outbox.SENT))
    # the stick goes to the platform: it writes back the chain answer and this device's own events
    station = platform_import_cli(phome, stick)["stations"][0]
    assert station["chain_written"] and station["own_written"] >= 1 and not station["refused"]
    # and back: the station adopts what the platform acknowledged
    back = run("sync", "import", "--home", str(new), "--from", str(stick))
    report = back["catchup"]
    # every event the platform acknowledged comes back; the logins of the CLI runs since the restore (audit
    # records only) are put after them: no case is renumbered
    assert report["status"] in ("caught_up", "rebased") and report["renumbered"] == []
    assert report["adopted_events"] == old_last - restored_last and report["lost_events"] == 0
    assert "已从平台取回本机已上报" in back["notice"]
    with Store.open(new) as store:
        assert not needs_catchup(store)
        assert store.last_local_seq() > old_last
        assert check(store).ok
    assert station_numbers(new) == set(before) | set(after)
    # a second import of the same stick is no second catch-up
    again = run("sync", "import", "--home", str(new), "--from", str(stick))
    assert again["catchup"] is None and not again["errors"]
    # its chain goes on from the platform's head: the next export is accepted, no fork
    with Store.open(new) as store:
        fresh = file_cases(store, 1)[0]
    assert fresh not in set(before) | set(after)
    exported, imported, back = round_trip(new, phome, stick)
    assert exported["batches_built"] >= 1 and not exported["catchup_pending"]
    assert imported["stations"][0]["accepted"] >= 1 and not imported["stations"][0]["refused"], imported
    assert back["acks_applied"] >= 1 and not back["errors"]
    numbers = platform_numbers(phome)
    assert sorted(numbers) == sorted(set(before) | set(after) | {fresh})  # every case once
    assert restored_last < old_last


def test_a_restored_usb_station_that_filed_before_the_round_trip_is_rebased_and_renumbered(tmp_path: Path) -> None:
    phome, keys = make_platform(tmp_path)
    stick = tmp_path / "usb"
    village = make_station(tmp_path, phome, keys, VILLAGE)
    with Store.open(village) as store:
        file_cases(store, 2)
        info = backup_station(store, tmp_path, PASS, get_operator(store, TEST_ADMIN))
        lost_pc = file_cases(store, 2)  # synced by stick by the PC that then died
    round_trip(village, phome, stick)
    new = tmp_path / "new-pc"
    restore_station(Path(info.path), new, PASS)
    with Store.open(new) as store:
        offline = file_cases(store, 2)  # the same numbers the dead PC gave other citizens
    assert set(offline) == set(lost_pc)
    exported, imported, back = round_trip(new, phome, stick)
    assert exported["catchup_pending"] and exported["batches_built"] == 0
    assert imported["stations"][0]["own_written"] >= 1
    report = back["catchup"]
    assert report["status"] == "rebased" and not back["errors"]
    renumbered = dict(report["renumbered"])
    assert set(renumbered) == set(offline)
    assert "请打印新的收件回执" in back["notice"]
    with Store.open(new) as store:
        assert check(store).ok and not needs_catchup(store)
    exported, imported, back = round_trip(new, phome, stick)
    assert exported["batches_built"] >= 1 and not imported["stations"][0]["refused"], imported
    held = platform_numbers(phome)
    assert len(held) == len(set(held)) == 6
    assert set(renumbered.values()) <= set(held) and set(lost_pc) <= set(held)


def _restored_and_asking(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A dead PC's backup restored on a new one, whose export put its catch-up request on the stick."""
    phome, keys = make_platform(tmp_path)
    stick = tmp_path / "usb"
    _, backup, _, _ = dead_pc(tmp_path, phome, keys, stick)
    new = tmp_path / "new-pc"
    restore_station(backup, new, PASS)
    with Store.open(new) as store:
        assert export(store, stick)["catchup_pending"]
    return phome, new, stick


def _pending_restored(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A restored home that exported its request; the platform has answered it on the stick."""
    phome, new, stick = _restored_and_asking(tmp_path)
    with Platform.open(phome) as platform:
        assert platform_import(platform, stick)["stations"][0]["own_written"] >= 1
    return phome, new, stick


def _state(home: Path) -> tuple[int, int, bool]:
    with Store.open(home) as store:
        return (store.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0], store.last_local_seq(),
                needs_catchup(store))


def _refused(home: Path, stick: Path) -> str:
    before = _state(home)
    with Store.open(home) as store:
        result = import_(store, stick)
    assert result["catchup"] is None
    (error,) = result["errors"]
    assert error["code"] == "bad_answer"
    assert "未作任何改动" in error["message"]
    assert _state(home) == before and before[2]  # still to catch up, nothing adopted
    with Store.open(home) as store:
        assert export(store, stick)["catchup_pending"]  # and still cuts nothing
    return error["message"]


def test_a_tampered_or_foreign_chain_answer_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    phome, new, stick = _pending_restored(tmp_path)
    folder = stick / VILLAGE
    chain_file, own_file = folder / CHAIN_FILE, sorted((folder / OWN_DIR).iterdir())[0]
    genuine_chain, genuine_own = chain_file.read_bytes(), own_file.read_bytes()

    # one claim changed in the signed answer (still valid JSON)
    outer = json.loads(genuine_chain)
    answer = json.loads(outer["answer"])
    answer["last_event_seq"] += 1
    outer["answer"] = json.dumps(answer, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    chain_file.write_text(json.dumps(outer, ensure_ascii=False), encoding="utf-8")
    assert "签名不对" in _refused(new, stick)
    # one byte of the file changed
    data = bytearray(genuine_chain)
    data[len(data) // 2] ^= 0x01
    chain_file.write_bytes(bytes(data))
    _refused(new, stick)
    chain_file.write_bytes(genuine_chain)
    # one byte of an own event file changed
    data = bytearray(genuine_own)
    data[-1] ^= 0x01
    own_file.write_bytes(bytes(data))
    assert "与平台的清单不符" in _refused(new, stick)
    own_file.write_bytes(genuine_own)

    # another station's answer (and events) copied into this folder
    keys = tmp_path / "platform-keys.json"
    other = make_station(tmp_path, phome, keys, VILLAGE_2)
    with Store.open(other) as store:
        file_cases(store, 1)
    other_stick = tmp_path / "usb-other"
    round_trip(other, phome, other_stick)
    chain_file.write_bytes((other_stick / VILLAGE_2 / CHAIN_FILE).read_bytes())
    assert "不是本站的" in _refused(new, stick)
    # an answer of this station made for another request (the old PC's in-step answer)
    outer = json.loads(genuine_chain)
    outer["request"] = ""
    chain_file.write_text(json.dumps(outer, ensure_ascii=False), encoding="utf-8")
    _refused(new, stick)
    chain_file.write_bytes(genuine_chain)
    # an own file that is sealed to another station, put in the list's place
    with Platform.open(phome) as platform:
        blobs, _ = platform.own_events(VILLAGE_2, 0)
    own_file.write_bytes(blobs[0])
    _refused(new, stick)
    own_file.write_bytes(genuine_own)

    # the genuine answer is still taken
    with Store.open(new) as store:
        result = import_(store, stick)
    assert result["catchup"]["status"] == "caught_up" and not result["errors"]


def test_an_in_step_station_round_trip_carries_only_a_small_chain_answer(tmp_path: Path) -> None:
    phome, keys = make_platform(tmp_path)
    stick = tmp_path / "usb"
    village = make_station(tmp_path, phome, keys, VILLAGE)
    for _ in range(2):
        with Store.open(village) as store:
            file_cases(store, 3)
        exported, imported, back = round_trip(village, phome, stick)
        assert exported["batches_built"] == 1 and not exported["catchup_pending"] and "notice" not in exported
        assert imported["stations"][0]["accepted"] == 1 and imported["stations"][0]["own_written"] == 0
        assert back["acks_applied"] == 1 and back["catchup"] is None and "notice" not in back and not back["errors"]
    folder = stick / VILLAGE
    assert (folder / CHAIN_FILE).stat().st_size < 4096 and not (folder / OWN_DIR).exists()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert "catchup" not in manifest and manifest["acked_batch"] == 1  # as of that export
    # the same stick imported again by the platform: the answer is the same file
    before = (folder / CHAIN_FILE).read_bytes()
    with Platform.open(phome) as platform:
        assert platform_import(platform, stick)["stations"][0]["chain_written"] is False
    assert (folder / CHAIN_FILE).read_bytes() == before


def test_links_on_the_stick_are_neither_followed_nor_written_through(tmp_path: Path) -> None:
    phome, new, stick = _restored_and_asking(tmp_path)
    folder = stick / VILLAGE
    outside = tmp_path / "outside"
    outside.mkdir()
    (folder / OWN_DIR).symlink_to(outside)  # the own events would be written through this link
    with Platform.open(phome) as platform:
        entry = platform_import(platform, stick)["stations"][0]
    assert "chain_error" in entry and not any(outside.iterdir())
    (folder / OWN_DIR).unlink()
    (folder / CHAIN_FILE).unlink(missing_ok=True)
    (folder / CHAIN_FILE).symlink_to("/dev/zero")  # never read without end
    before = _state(new)
    with Store.open(new) as store:
        result = import_(store, stick)
    assert [e["code"] for e in result["errors"]] == ["usb_not_a_file"] and _state(new) == before
