"""A copied home never corrupts the platform; a revoked device is refused (issue 12). Real gateway."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from station.audit import check
from station.cases import CaseReader
from station.cli import main
from station.store import Store
from station.testing import cli_login_env
from sync import catchup
from sync.gateway.testing import file_cases, make_station
from sync.keys import read_enrolment
from sync.service import sync_now
from tests.support import TOWNSHIP, VILLAGE

pytestmark = pytest.mark.usefixtures("platform_store", "new_process")  # both platform stores, each test a fresh process




def _sync(home: Path):
    catchup.forget_checks()  # each sync as its own `station sync now` process
    with Store.open(home) as store:
        return sync_now(store)


def test_a_copied_home_syncing_second_is_refused_with_its_reason_and_recovers_by_splitting(world) -> None:
    root, phome, keys, url, platform = world
    first = make_station(root, phome, keys, VILLAGE, url=url)
    township = make_station(root, phome, keys, TOWNSHIP, "township", url)
    with Store.open(first) as store:
        file_cases(store, 2)
    assert _sync(first).ok
    second = root / "second-pc"
    shutil.copytree(first, second)  # the folder copied to another PC; both go on filing
    with Store.open(first) as store:
        on_first = file_cases(store, 3)
    with Store.open(second) as store:
        on_second = file_cases(store, 2)
    assert set(on_first[:2]) == set(on_second)  # the same numbers for different citizens
    assert _sync(first).ok
    held_before = {c["number"]: c["owner"] for c in platform.store.cases()}
    summary = _sync(second)
    assert not summary.ok and summary.errors[0]["code"] == "forked"
    assert "station device split --device N" in summary.errors[0]["message"]
    assert summary.batches_sent == 0  # nothing of the fork reached the platform
    assert {c["number"]: c["owner"] for c in platform.store.cases()} == held_before
    runner = CliRunner()
    result = runner.invoke(main, ["device", "show", "--home", str(second)], env=cli_login_env())
    assert "分叉" in result.output
    result = runner.invoke(main, ["device", "split", "--home", str(second), "--device", "2", "--json"],
                           env=cli_login_env())
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    renumbered = dict(report["renumbered"])
    assert set(renumbered) == set(on_second) and report["new_id"] == f"{VILLAGE}-d2"
    assert all(n.split("-")[2].startswith("1") for n in renumbered.values())  # device 2's block
    for path in report["receipts"]:
        text = "".join(p.extract_text() for p in PdfReader(path).pages).replace("\n", "").replace(" ", "")
        assert "改号通知" in text and "已作废" in text
    # the citizens hold receipts with the old numbers: each still finds its case, on every face
    old, new = on_second[0], renumbered[on_second[0]]
    with Store.open(second) as store:
        reader = CaseReader(store)
        assert reader.resolve(old) == new and reader.matching_numbers(old) == [new]
        assert [c.number for c in reader.list(search=old)] == [new]
        assert reader.get(old).legal.renumbered_from == old
    shown = runner.invoke(main, ["case", "show", old, "--home", str(second), "--json"], env=cli_login_env())
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["case_number"] == new and json.loads(shown.output)["legal"]["renumbered_from"] == old
    shown = runner.invoke(main, ["case", "show", old, "--home", str(second)], env=cli_login_env())
    assert f"办件编号：{new}" in shown.output and f"原编号：{old}（已改号）" in shown.output
    enrolment = read_enrolment(Path(report["enrolment_file"]))
    assert enrolment.id == f"{VILLAGE}-d2"
    platform.enroll(enrolment)
    summary = _sync(second)
    assert summary.ok, summary.errors
    held = {c["number"]: c["owner"] for c in platform.store.cases()}
    assert {held[n] for n in renumbered.values()} == {f"{VILLAGE}-d2"}
    assert {held[n] for n in on_first} == {VILLAGE}
    assert len(held) == 2 + 3 + 2  # every case once, nothing lost
    with Store.open(second) as store:
        assert store.station_id == f"{VILLAGE}-d2"
        numbers = {r[0] for r in store.conn.execute("SELECT number FROM cases")}
        assert numbers == set(held)  # the first PC's cases came through the new device's inbox
        case = CaseReader(store).get(renumbered[on_second[0]])
        assert case.filed_by_station == f"{VILLAGE}-d2"
        # now the first PC's case with the old number is here too: its number names it, a search shows both
        reader = CaseReader(store)
        assert reader.resolve(old) == old and reader.get(old).filed_by_station == VILLAGE
        assert reader.matching_numbers(old) == [old, new]
        assert {c.number for c in reader.list(search=old)} == {old, new}
        assert check(store).ok
    assert _sync(township).ok
    with Store.open(township) as store:
        assert {r[0] for r in store.conn.execute("SELECT number FROM cases")} == set(held)
    assert _sync(first).ok
    with Store.open(first) as store:  # the first PC sees its new sibling's cases too
        assert set(renumbered.values()) <= {r[0] for r in store.conn.execute("SELECT number FROM cases")}


def test_a_revoked_device_is_refused_and_its_acknowledged_events_stay(world) -> None:
    root, phome, keys, url, platform = world
    lost = make_station(root, phome, keys, VILLAGE, url=url, device=2)
    with Store.open(lost) as store:
        kept = file_cases(store, 2)
    assert _sync(lost).ok
    runner = CliRunner()
    result = runner.invoke(main, ["platform", "revoke", "--home", str(phome), f"{VILLAGE}-d2", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["events_kept"] > 0
    with Store.open(lost) as store:
        file_cases(store, 1)
    summary = _sync(lost)
    assert not summary.ok and summary.errors[0]["code"] == "revoked"
    assert "吊销" in summary.errors[0]["message"]
    held = {c["number"] for c in platform.store.cases()}
    assert set(kept) <= held and len(held) == 2
    with pytest.raises(Exception) as err:
        platform.enroll(read_enrolment_of(lost))
    assert "吊销" in str(err.value)


def read_enrolment_of(home: Path):
    from sync.keys import station_enrolment

    with Store.open(home) as store:
        return station_enrolment(home, store.station_id, "village", store.config.name)


def test_a_copy_refused_mid_run_as_a_fork_is_told_to_split_not_rebased(world) -> None:
    """Under `station sync run` the chain is checked once; a later fork refusal checks again at once and
    reports the fork (a copy is never silently re-sequenced onto the first PC's chain)."""
    root, phome, keys, url, platform = world
    first = make_station(root, phome, keys, VILLAGE, url=url)
    with Store.open(first) as store:
        file_cases(store, 1)
    assert _sync(first).ok
    second = root / "second-pc"
    shutil.copytree(first, second)
    catchup.forget_checks()
    with Store.open(second) as store:
        assert sync_now(store).ok  # the copy's process checks its chain now: in step
    with Store.open(first) as store:
        file_cases(store, 2)
    assert _sync(first).ok
    with Store.open(second) as store:
        mine = file_cases(store, 2)
        summary = sync_now(store)  # same process: no check before the push; the platform refuses a fork
    assert not summary.ok and any(e["code"] == "forked" for e in summary.errors), summary.errors
    assert not set(mine) & {c["number"] for c in platform.store.cases() if c["owner"] != VILLAGE}
    with Store.open(second) as store:
        assert store.meta_get("catchup.fork")
        assert {r[0] for r in store.conn.execute("SELECT number FROM cases")} >= set(mine)  # nothing lost
