"""A dead PC loses nothing it synced (issue 12), over the real gateway on 127.0.0.1.

Backup while filing; more cases synced after the backup; restore on a new home: its first sync (or the
restore itself) gets back every acknowledged event, the next case gets a fresh number and the chain
goes on. An old folder copied back works the same with a plain `station sync now`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from station.audit import check
from station.backup import backup_station, restore_station
from station.cases import CaseReader
from station.cli import main
from station.operators import get_operator
from station.store import Store
from station.testing import TEST_ADMIN, cli_login_env
from sync import catchup
from sync.gateway.testing import file_cases, make_station
from sync.service import sync_now
from tests.support import TOWNSHIP, VILLAGE

PASS = "备份口令-2026-村"

pytestmark = pytest.mark.usefixtures("platform_store", "new_process")  # both platform stores, each test a fresh process




def _synced(home: Path):
    with Store.open(home) as store:
        summary = sync_now(store)
        assert summary.ok, summary.errors
        return summary


def _platform_numbers(world) -> set[str]:
    return {c["number"] for c in world[4].store.cases()}


def test_restored_home_gets_back_every_acknowledged_event_and_files_under_a_fresh_number(world) -> None:
    root, phome, keys, url, platform = world
    village = make_station(root, phome, keys, VILLAGE, url=url)
    township = make_station(root, phome, keys, TOWNSHIP, "township", url)
    with Store.open(village) as store:
        before = file_cases(store, 3)
    _synced(village)
    with Store.open(village) as store:
        file_cases(store, 2)  # filed, not synced: in the backup only
        info = backup_station(store, root, PASS, get_operator(store, TEST_ADMIN))
        after = file_cases(store, 4)  # after the backup, then synced: on the platform only
    _synced(village)
    _synced(township)
    with Store.open(township) as store:  # a township decision on a case filed after the backup
        store.append("case.accepted", {}, "赵审核", after[0])
    _synced(township)
    _synced(village)
    with Store.open(village) as store:
        last_seq, numbers = store.last_local_seq(), {r[0] for r in store.conn.execute("SELECT number FROM cases")}
        status = CaseReader(store).get(after[0]).status
    assert status == "accepted"
    # the PC dies; the backup is restored on a new PC: the restore itself catches up
    runner = CliRunner()
    new = root / "new-pc"
    result = runner.invoke(main, ["restore", "--from", info.path, "--home", str(new), "--passphrase-stdin", "--json"],
                           input=PASS + "\n")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)["catchup"]
    assert report["status"] == "caught_up" and report["lost_events"] == 0
    assert report["adopted_events"] == last_seq - info.last_local_seq
    with Store.open(new) as store:
        assert store.last_local_seq() == last_seq
        assert {r[0] for r in store.conn.execute("SELECT number FROM cases")} == numbers
        assert CaseReader(store).get(after[0]).status == "accepted"  # the township's decision came back too
        assert check(store).ok
        fresh = file_cases(store, 1)[0]
    assert fresh not in numbers and fresh not in _platform_numbers(world)
    assert int(fresh.split("-")[2]) == max(int(n.split("-")[2]) for n in numbers if n.split("-")[1] == fresh.split("-")[1]) + 1
    catchup.forget_checks()
    summary = _synced(new)  # its chain goes on from the platform's head: nothing refused
    assert summary.batches_acknowledged == 1 and not summary.batches_held
    assert fresh in _platform_numbers(world)
    assert len(_platform_numbers(world)) == len(numbers) + 1


def test_an_old_folder_copied_back_catches_up_with_a_plain_sync_now(world) -> None:
    root, phome, keys, url, platform = world
    village = make_station(root, phome, keys, VILLAGE, url=url)
    with Store.open(village) as store:
        file_cases(store, 2)
    _synced(village)
    old = root / "usb-copy"
    shutil.copytree(village, old)  # what many villages do instead of `station backup`
    with Store.open(village) as store:
        later = file_cases(store, 3)
    _synced(village)
    shutil.rmtree(village)
    shutil.copytree(old, village)  # the PC is reinstalled and the old folder copied back
    catchup.forget_checks()
    runner = CliRunner()
    result = runner.invoke(main, ["sync", "now", "--home", str(village)], env=cli_login_env())
    assert result.exit_code == 0, result.output
    assert "已从平台取回本机已上报" in result.output
    with Store.open(village) as store:
        assert set(later) <= {r[0] for r in store.conn.execute("SELECT number FROM cases")}
        nxt = file_cases(store, 1)[0]
        assert nxt not in later
    catchup.forget_checks()
    summary = _synced(village)
    assert summary.batches_acknowledged == 1 and not summary.errors


def test_a_restored_home_that_filed_before_reaching_the_platform_is_rebased_and_renumbered(world) -> None:
    root, phome, keys, url, platform = world
    village = make_station(root, phome, keys, VILLAGE, url=url)
    with Store.open(village) as store:
        file_cases(store, 2)
        info = backup_station(store, root, PASS, get_operator(store, TEST_ADMIN))
        lost_pc = file_cases(store, 2)  # synced by the PC that then died
    _synced(village)
    new = root / "new-pc"
    restore_station(Path(info.path), new, PASS)  # offline: no catch-up yet
    with Store.open(new) as store:
        offline = file_cases(store, 2)  # the same numbers the dead PC gave other citizens
    assert set(offline) == set(lost_pc)
    catchup.forget_checks()
    summary = _synced(new)
    assert summary.catchup["status"] == "rebased"
    renumbered = dict(summary.catchup["renumbered"])
    assert set(renumbered) == set(offline)
    held = _platform_numbers(world)
    assert set(renumbered.values()) <= held and set(lost_pc) <= held and len(held) == 6
    with Store.open(new) as store:
        for old, new_number in renumbered.items():
            case = CaseReader(store).get(new_number)
            assert case.number == new_number
        assert check(store).ok
    assert "请打印新的收件回执" in summary.text()


def test_a_held_batch_stays_held_through_the_check_with_its_events(world) -> None:
    from sync import outbox
    from sync.keys import load_or_create, platform_keys

    root, phome, keys, url, platform = world
    village = make_station(root, phome, keys, VILLAGE, url=url)
    with Store.open(village) as store:
        file_cases(store, 2)
        (held,) = outbox.cut(store, load_or_create(village, store.station_id), platform_keys(village).keys)
        outbox.record_refusal(store, held, "too_large", "批次过大", hold=True)
        file_cases(store, 2)
    summary = _synced(village)
    assert summary.batches_acknowledged == 1
    catchup.forget_checks()
    summary = _synced(village)  # a new process: the check runs, the platform is ahead of the held batch
    with Store.open(village) as store:
        batch = outbox.get(store, held)
        assert batch is not None and batch.state == outbox.HELD and batch.events > 0
        assert sync_now(store, retry_held=True).ok  # released: its events reach the platform after all
    assert len(_platform_numbers(world)) == 4
