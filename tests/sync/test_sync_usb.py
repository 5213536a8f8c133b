"""Sneakernet: station export → platform import → station import; twice changes nothing."""

from __future__ import annotations

import pytest

from datetime import date, timedelta
import hashlib
import json
from pathlib import Path

from click.testing import CliRunner

from station.cases import CaseReader
from station import events as ev
from station.cli import main
from station.testing import FixedClock, cli_login_env
from station.store import Store
from sync.gateway.platform import Platform
from sync.service import sync_status
from sync.gateway.testing import file_cases, make_platform, make_station
from tests.support import TOWNSHIP, VILLAGE

pytestmark = pytest.mark.usefixtures("platform_store")  # every test on both platform stores



def run(*args: str, exit_code: int = 0) -> dict:
    result = CliRunner(env=cli_login_env()).invoke(main, [*args, "--json"])
    assert result.exit_code == exit_code, result.output
    return json.loads(result.output)


def tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def data_events(store: Store) -> int:
    """Events other than the CLI's own login records (each `station` command logs its operator in)."""
    return store.conn.execute("SELECT COUNT(*) FROM events WHERE type != ?", (ev.OPERATOR_LOGIN,)).fetchone()[0]


def test_usb_round_trip_twice_changes_nothing_the_second_time(tmp_path: Path) -> None:
    phome, keys = make_platform(tmp_path)
    village = make_station(tmp_path, phome, keys, VILLAGE)
    township = make_station(tmp_path, phome, keys, TOWNSHIP, "township")
    stick = tmp_path / "usb"
    with Store.open(village) as store:
        numbers = file_cases(store, 4)
    exported = run("sync", "export", "--home", str(village), "--to", str(stick))
    assert exported["batches"] == 1 and (stick / VILLAGE / "manifest.json").exists()
    first = run("platform", "import", "--home", str(phome), "--from", str(stick))
    assert first["stations"][0]["accepted"] == 1
    imported = run("sync", "import", "--home", str(village), "--from", str(stick))
    assert imported["acks_applied"] == 1
    with Store.open(village) as store:
        assert sync_status(store).pending_events == 0
        assert {c.sync_state for c in CaseReader(store).list()} == {"acknowledged"}
        db_before = data_events(store)
    with Platform.open(phome) as platform:
        platform_before = platform.store.counts()
    files_before = tree(stick)
    # the same folder, imported again on both sides: nothing changes anywhere
    again = run("platform", "import", "--home", str(phome), "--from", str(stick))
    assert again["stations"][0]["accepted"] == 0 and again["stations"][0]["duplicates"] == 1
    assert again["stations"][0]["acks_written"] == 0
    second = run("sync", "import", "--home", str(village), "--from", str(stick))
    assert second["acks_applied"] == 0 and second["acks_already"] == 1 and second["applied"] == 0
    assert tree(stick) == files_before
    with Platform.open(phome) as platform:
        after = platform.store.counts()
        assert {k: v for k, v in after.items()} == platform_before
    with Store.open(village) as store:
        assert data_events(store) == db_before

    # the township's stick: it gets the cases, decides, and the decision comes back by USB
    t_stick = tmp_path / "usb-t"
    run("sync", "export", "--home", str(township), "--to", str(t_stick))
    run("platform", "import", "--home", str(phome), "--from", str(t_stick))
    got = run("sync", "import", "--home", str(township), "--from", str(t_stick))
    assert got["applied"] == 4
    with Store.open(township) as store:
        store.append("case.accepted", {}, "赵审核", numbers[0])
    run("sync", "export", "--home", str(township), "--to", str(t_stick))
    run("platform", "import", "--home", str(phome), "--from", str(t_stick))
    run("sync", "export", "--home", str(village), "--to", str(stick))
    run("platform", "import", "--home", str(phome), "--from", str(stick))
    back = run("sync", "import", "--home", str(village), "--from", str(stick))
    assert back["applied"] == 1
    with Store.open(village) as store:
        assert CaseReader(store).get(numbers[0]).status == "accepted"


def test_a_corrupted_file_is_refused_and_the_rest_imported(tmp_path: Path) -> None:
    phome, keys = make_platform(tmp_path)
    village = make_station(tmp_path, phome, keys, VILLAGE)
    from sync.settings import configure

    configure(village, sync_batch_bytes=4096)
    stick = tmp_path / "usb"
    with Store.open(village) as store:
        file_cases(store, 30)
    exported = run("sync", "export", "--home", str(village), "--to", str(stick))
    assert exported["batches"] >= 3
    files = sorted((stick / VILLAGE / "out").glob("*.vse"))
    damaged = bytearray(files[1].read_bytes())
    damaged[-10] ^= 0xFF
    files[1].write_bytes(bytes(damaged))
    result = run("platform", "import", "--home", str(phome), "--from", str(stick), exit_code=2)  # something refused
    entry = result["stations"][0]
    assert entry["accepted"] == len(files) - 1 and result["refused"] == 1 and not result["ok"]
    assert [r["file"] for r in entry["refused"]] == [files[1].name]
    run("sync", "import", "--home", str(village), "--from", str(stick))
    with Store.open(village) as store:
        status = sync_status(store)
        assert status.batches["acknowledged"] == len(files) - 1 and status.pending_events > 0
    # next trip: the export writes the untouched stored bytes again, and the gap closes
    run("sync", "export", "--home", str(village), "--to", str(stick))
    run("platform", "import", "--home", str(phome), "--from", str(stick))
    run("sync", "import", "--home", str(village), "--from", str(stick))
    with Store.open(village) as store:
        assert sync_status(store).pending_events == 0
    with Platform.open(phome) as platform:
        assert platform.store.counts()["gaps"] == 0


def _valid_or_absent(stick: Path, village: Path) -> None:
    """Whatever is on the stick after a failed export is whole: no temp file, every envelope complete."""
    from sync import outbox
    from sync.envelope import batch_hash, peek

    own = stick / VILLAGE
    assert not [p for p in own.rglob("*") if p.name.endswith(".tmp")]
    with Store.open(village) as store:
        for path in (own / "out").glob("*.vse"):
            data = path.read_bytes()
            assert batch_hash(data) == outbox.get(store, peek(data).seq).hash  # type: ignore[union-attr]


def test_a_link_planted_where_the_temp_file_goes_is_never_written_through(tmp_path: Path) -> None:
    """A stick prepared with ``out/00000002.vse.tmp -> /dev/full`` (once the way this suite simulated a full
    stick): the link is removed, never followed, and the export completes with regular files only. A full
    stick is test_file_size_limit_during_export_through_the_cli (EFBIG: the same message, nothing half-written)."""
    from sync.settings import configure
    from sync.usb import export

    phome, keys = make_platform(tmp_path)
    village = make_station(tmp_path, phome, keys, VILLAGE)
    configure(village, sync_batch_bytes=4096)
    stick = tmp_path / "usb"
    (stick / VILLAGE / "out").mkdir(parents=True)
    target = tmp_path / "elsewhere.txt"
    target.write_text("不属于U盘的文件", encoding="utf-8")
    (stick / VILLAGE / "out" / "00000002.vse.tmp").symlink_to(target)
    with Store.open(village) as store:
        file_cases(store, 30)
        assert export(store, stick)["batches"] >= 3
    assert target.read_text(encoding="utf-8") == "不属于U盘的文件"  # nothing written through the link
    assert all(not p.is_symlink() for p in (stick / VILLAGE).rglob("*"))
    _valid_or_absent(stick, village)


def test_file_size_limit_during_export_through_the_cli(tmp_path: Path) -> None:
    """The real command in a process whose files may not grow past 96 KiB (RLIMIT_FSIZE): one Chinese line
    on stderr, no traceback, nothing half-written; the station's store is untouched."""
    import os
    import resource
    import signal
    import subprocess
    import sys

    from station.audit import check
    from sync import outbox
    from sync.keys import load_or_create, platform_keys
    from sync.settings import configure

    LIMIT = 96 * 1024
    phome, keys = make_platform(tmp_path)
    village = make_station(tmp_path, phome, keys, VILLAGE)
    configure(village, sync_batch_bytes=1024 * 1024, sync_batch_events=2000)
    clock = FixedClock()
    with Store.open(village, clock=clock) as store:
        for day in range(3):  # more than one day's case numbers of one device
            clock.set_day(date.today() + timedelta(days=day))  # never behind the platform's time
            file_cases(store, 600)
        outbox.cut(store, load_or_create(village, VILLAGE), platform_keys(village).keys, 1024 * 1024, 2000)
        # The limit applies to every file the command writes, the store's WAL included: the command's
        # login and the batch it cuts first take a few dozen KiB of WAL; the envelope is far larger.
        assert len(outbox.get(store, 1).blob) > LIMIT  # type: ignore[union-attr]
    stick = tmp_path / "usb"

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", "from station.cli import main; main()", "sync", "export",
                           "--home", str(village), "--to", str(stick)], capture_output=True, text=True,
                          preexec_fn=limit, cwd=root, env={**os.environ, "PYTHONPATH": str(root), **cli_login_env()}, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("错误：") and "空间不足" in proc.stderr and "Traceback" not in proc.stderr
    _valid_or_absent(stick, village)
    with Store.open(village) as store:
        assert check(store).ok
        assert outbox.get(store, 1).state == outbox.BUILT  # type: ignore[union-attr]  # not marked as carried


def test_envelopes_acks_and_inbox_truncated_at_many_offsets_are_refused_and_the_rest_imported(tmp_path: Path) -> None:
    import shutil

    from sync.envelope import peek
    from sync.settings import configure
    from sync.gateway.usb_import import platform_import
    from sync.usb import export, import_

    phome, keys = make_platform(tmp_path)
    village = make_station(tmp_path, phome, keys, VILLAGE)
    configure(village, sync_batch_bytes=4096)
    stick = tmp_path / "usb"
    with Store.open(village) as store:
        file_cases(store, 30)
        assert export(store, stick)["batches"] >= 3
    files = sorted((stick / VILLAGE / "out").glob("*.vse"))
    victim = files[1].read_bytes()
    head = len(victim) - peek(victim).ct_len - 64
    offsets = sorted({0, 1, 3, 4, 5, 6, 8, 20, head - 1, head, head + 1, len(victim) // 2, len(victim) - 65,
                      len(victim) - 64, len(victim) - 1})
    with Platform.open(phome) as platform:
        for cut in offsets:
            trial = tmp_path / f"t{cut}"
            shutil.copytree(stick, trial)
            (trial / VILLAGE / "out" / files[1].name).write_bytes(victim[:cut])
            entry = platform_import(platform, trial)["stations"][0]
            assert [r["file"] for r in entry["refused"]] == [files[1].name], (cut, entry)
            assert entry["refused"][0]["code"] == "bad_format"
            assert entry["accepted"] + entry["duplicates"] == len(files) - 1
        assert platform.store.conn.execute("SELECT COUNT(*) FROM batches").fetchone()[0] == len(files) - 1
        platform.publish_calendar({"year": 2031, "holidays": ["2031-01-01"], "workdays": []}, "test")
        result = platform_import(platform, stick)  # the whole stick: the missing batch, acks, an inbox file
        assert result["stations"][0]["refused"] == [] and result["stations"][0]["inbox_written"] == 1
    acks = sorted((stick / VILLAGE / "acks").glob("*.ack"))
    inbox = sorted((stick / VILLAGE / "in").glob("*.vse"))
    ack, env_in = acks[0].read_bytes(), inbox[0].read_bytes()
    for cut in (0, 1, 4, 10, len(ack) // 2, len(ack) - 1):
        trial = tmp_path / f"s{cut}"
        shutil.copytree(stick, trial)
        (trial / VILLAGE / "acks" / acks[0].name).write_bytes(ack[:cut])
        (trial / VILLAGE / "in" / inbox[0].name).write_bytes(env_in[: cut * len(env_in) // max(1, len(ack))])
        with Store.open(village) as store:
            result = import_(store, trial)
        codes = sorted(e["code"] for e in result["errors"])
        assert codes == ["bad_ack", "bad_format"], (cut, result["errors"])
        assert all(("回执" in e["message"] or "文件" in e["message"]) for e in result["errors"])
    with Store.open(village) as store:
        assert sync_status(store).batches["acknowledged"] == len(acks) - 1  # the rest were imported
        result = import_(store, stick)
        assert not result["errors"] and result["applied"] == 1
        assert sync_status(store).pending_events == 0


def test_a_usb_only_village_needs_only_the_platform_key_file(tmp_path: Path) -> None:
    """No platform address at all (issue 15): `sync configure --platform-keys FILE` alone, then export,
    platform import and import work, and `sync status` says the station syncs by USB only."""
    from station.setup import init_station
    from station.testing import TEST_ADMIN, TEST_PASSWORD
    from sync.keys import station_enrolment

    phome, keys = make_platform(tmp_path)
    village = tmp_path / "village"
    init_station(village, VILLAGE, "测试村便民服务站", "village", admin=(TEST_ADMIN, TEST_PASSWORD))
    with Platform.open(phome) as platform:
        platform.enroll(station_enrolment(village, VILLAGE, "village", "测试村便民服务站"))
    before = run("sync", "status", "--home", str(village))
    assert before["mode"] == "none"
    refused = CliRunner(env=cli_login_env()).invoke(main, ["sync", "export", "--home", str(village), "--to",
                                                          str(tmp_path / "usb"), "--json"])
    message = json.loads(refused.stdout)["error"]["message"]
    assert refused.exit_code != 0 and "--platform-keys" in message and "--url 地址" not in message
    configured = run("sync", "configure", "--home", str(village), "--platform-keys", str(keys))
    assert configured["url"] in ("", None) and configured["platform_fingerprint"]
    status = run("sync", "status", "--home", str(village))
    assert status["mode"] == "usb" and not status["configured"]
    with Store.open(village) as store:
        file_cases(store, 3)
    stick = tmp_path / "usb"
    assert run("sync", "export", "--home", str(village), "--to", str(stick))["batches"] == 1
    run("platform", "import", "--home", str(phome), "--from", str(stick))
    assert run("sync", "import", "--home", str(village), "--from", str(stick))["acks_applied"] == 1
    assert run("sync", "status", "--home", str(village))["pending_events"] == 0
    text = CliRunner(env=cli_login_env()).invoke(main, ["sync", "status", "--home", str(village)]).output
    assert "仅U盘同步" in text
