"""Void notices and the 补正期限 against hostile peers and careless hands, over the real gateway on 127.0.0.1.

A recall recorded on another device (another PC of the township, the filing village) — both may send case
events — must not make this device's void notice vanish; a forged recall of the wrong shape is a conflict,
never a row; a synced 补正 request with a mistyped or far-off due_date neither stops the village's sync nor
hides the case from 补正逾期未补, and its printed 补正通知书 shows the 补正期限 the clock honours."""

from __future__ import annotations

import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from forms.problems import StationError
from station import events as ev
from station.audit import check
from station.cases import CaseReader
from station.cli import main
from station.operators import get_operator
from station.printing import print_case_document
from station.projections import calendar_for
from station.review import Decision, decide
from station.stats import compute
from station.store import Store
from station.setup import init_station
from station.testing import TEST_ADMIN, TEST_PASSWORD, cli_login_env
from station.void_notices import record_recall, void_notices
from sync.gateway.testing import file_cases
from sync.service import sync_now
from tests.support import TOWNSHIP, VILLAGE
from tests.support.devices import device, synced
from tests.support.forge import send_forged
from tests.sync.test_void_notice import two_devices_decide

def forge(world, home: Path, code: str, forged: list[tuple[str, dict, str]]) -> list[str]:
    """Send ``forged`` (type, body, case) as one batch sealed and signed with the station's own keys (what a
    tampered PC can send; tests/support/forge.py)."""
    return send_forged(world[3], home, code, forged)[0]


def cli(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--home", str(home)], env=cli_login_env())
    return result.exit_code, result.output


def test_a_recall_recorded_on_another_device_does_not_hide_this_device_s_void_notice(world) -> None:
    t1, t2, number = two_devices_decide(world)
    village = Path(t1).parent / f"village-{VILLAGE}"
    with Store.open(t2) as store:
        [void] = void_notices(store, number)
    body = {"decision": void.carried.event, "kind": void.kind, "title": void.title, "printed_at": void.last_at,
            "note": "已收回", "date": void.printed_on}
    # the winner's device and the filing village each append a recall naming the void paper and sync it
    for home in (t1, village):
        with Store.open(home) as store:
            store.append(ev.NOTICE_RECALLED, body, TEST_ADMIN, number)
        synced(home)
    synced(t2)
    with Store.open(t2) as store:
        assert store.conn.execute("SELECT count(*) FROM notice_recalls WHERE case_number=? AND station!=?",
                                  (number, store.station_id)).fetchone()[0] == 2  # kept as they came
        assert [v.title for v in void_notices(store, number)] == ["办结通知书"]  # still void, still listed
    code, out = cli(t2, "case", "show", number)
    assert code == 0 and "【文书作废】" in out
    # the device that printed it records its own recall: that one counts
    code, out = cli(t2, "case", "recall", number, "--note", "已收回原件")
    assert code == 0 and "已登记收回" in out, out
    with Store.open(t2) as store:
        assert void_notices(store, number) == []
        [kept] = void_notices(store, number, include_recalled=True)
        assert kept.recall is not None and kept.recall.station == store.station_id and kept.recall.note == "已收回原件"


def test_a_forged_recall_of_the_wrong_shape_is_a_conflict_and_hides_nothing(world) -> None:
    t1, t2, number = two_devices_decide(world)
    with Store.open(t2) as store:
        [void] = void_notices(store, number)
    bodies = [{}, {"decision": void.carried.event}, {"kind": void.kind}, {"decision": 5, "kind": ["result"]},
              {"decision": {"e": void.carried.event}, "kind": "result"}, {"decision": void.carried.event, "kind": None},
              {"decision": void.carried.event, "kind": {"k": "result"}}, {"decision": "", "kind": "result"},
              {"decision": void.carried.event, "kind": "result", "note": ["x"]}]
    ids = forge(world, t1, TOWNSHIP, [(ev.NOTICE_RECALLED, b, number) for b in bodies])
    synced(t2)
    with Store.open(t2) as store:
        assert store.conn.execute("SELECT count(*) FROM notice_recalls").fetchone()[0] == 0
        refused = dict(store.conn.execute("SELECT event_id, reason FROM conflicts WHERE type=?", (ev.NOTICE_RECALLED,)))
        assert refused == {i: "malformed_event" for i in ids}
        assert [v.title for v in void_notices(store, number)] == ["办结通知书"]
        record_recall(store, number, get_operator(store, TEST_ADMIN), "已电话告知申请人")
        assert void_notices(store, number) == []


def pdf_text(path: Path) -> str:
    return "".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                                  check=True).stdout.split())


def test_a_synced_correction_with_a_mistyped_due_date_neither_stops_sync_nor_hides_the_case(world) -> None:
    village = device(world, VILLAGE, 1)
    t1 = device(world, TOWNSHIP, 1, "township")
    with Store.open(village) as store:
        numbers = file_cases(store, 16)
        today = store.clock().date()
    synced(village)
    synced(t1)
    with Store.open(t1) as store:
        admin = get_operator(store, TEST_ADMIN)
        nums = [n for n in numbers if CaseReader(store).get(n).status == "received"][:11]
        for n in nums:
            decide(store, n, Decision("accept"), admin)
        keys = {n: CaseReader(store).get(n).materials[0].key for n in nums}
    synced(t1)
    asked = today - timedelta(days=100)  # long past any 补正期限 the clock honours
    dues = [5, ["2026-12-01"], "2026-02-30", "9" * 10_000, None, {"d": 1}, "2099-12-31", 1.5, True]
    bad_days = [["2026-10-01"], "2026-02-30"]  # the day it was asked, unreadable: the request is a conflict
    forged = [(ev.CASE_CORRECTION_REQUESTED, {"reason": "材料不清", "materials": [keys[n]], "due_date": due,
                                              "date": asked.isoformat()}, n) for n, due in zip(nums, dues)]
    forged += [(ev.CASE_CORRECTION_REQUESTED, {"reason": "材料不清", "materials": [keys[n]], "due_date": "2026-12-31",
                                               "date": day}, n) for n, day in zip(nums[len(dues):], bad_days)]
    ids = forge(world, t1, TOWNSHIP, forged)
    with Store.open(village) as store:
        summary = sync_now(store)  # a list where a date goes used to stop this village's sync for good
        assert summary.ok, summary.errors
        reader = CaseReader(store)
        cal = calendar_for(store.conn)
        cap = cal.add_working_days(asked, 30).date.isoformat()
        for n, due in zip(nums, dues):
            case = reader.get(n)
            assert case.status == "correction_requested"
            assert case.decision["due_date"] == due  # the decision keeps what was sent
            shown = "2099-12-31" if due == "2099-12-31" else cap  # a readable day is shown as sent
            assert [m.due_date for m in case.materials if m.key == keys[n]] == [shown]
        for n in nums[len(dues):]:
            assert reader.get(n).status == "accepted"  # the clock runs on: 当前超期 when it falls due
        assert dict(store.conn.execute("SELECT event_id, reason FROM conflicts")) == \
            {i: "malformed_event" for i in ids[len(dues):]}
        report = compute(store, today - timedelta(days=200), today)
        assert report.total.correction_overdue_now == len(dues)
        admin = get_operator(store, TEST_ADMIN)
        y, m, d = (int(p) for p in cap.split("-"))
        for n, due in zip(nums, dues):
            printed = print_case_document(store, n, "correction", admin)
            assert ("2099年12月31日" if due == "2099-12-31" else f"{y}年{m}月{d}日") in pdf_text(printed.path)
    for n in (nums[0], nums[2], nums[3]):  # 5, "2026-02-30", ten thousand digits
        code, out = cli(village, "case", "show", n)
        assert code == 0 and "9" * 100 not in out and "2026-02-30" not in out and cap in out, out[:2000]


def test_a_recall_note_with_control_characters_or_a_bad_kind_is_refused_and_records_nothing(world) -> None:
    t1, t2, number = two_devices_decide(world)
    with Store.open(t2) as store:
        admin = get_operator(store, TEST_ADMIN)
        before = store.conn.execute("SELECT count(*) FROM events").fetchone()[0]
        for note, code in (("已收回\x00原件", "odd_characters"), ("\x1b[2J\x1b[31m已收回", "odd_characters"),
                           ("已收回\u202e件原", "odd_characters"), ("收" * 10_000, "too_long"), (" \t ", "required")):
            with pytest.raises(StationError) as refused:
                record_recall(store, number, admin, note)
            assert refused.value.code == "bad_recall"
            assert [(p.field, p.code) for p in refused.value.problems] == [("note", code)]
            assert all("\\x" not in p.message and p.message for p in refused.value.problems)
        with pytest.raises(StationError) as refused:
            record_recall(store, number, admin, "已收回", kind="all")
        assert [(p.field, p.code) for p in refused.value.problems][0] == ("kind", "invalid")
        assert store.conn.execute("SELECT count(*) FROM events").fetchone()[0] == before
        assert [v.title for v in void_notices(store, number)] == ["办结通知书"]
    code, out = cli(t2, "case", "recall", number, "--note", "已收回\x1b[31m")
    assert code != 0 and "控制字符" in out
    code, out = cli(t2, "case", "recall", number, "--note", "已收回", "--kind", "all")
    assert code != 0
    with Store.open(t2) as store:
        assert store.conn.execute("SELECT count(*) FROM notice_recalls").fetchone()[0] == 0


def test_two_faces_recording_the_same_recall_at_once_record_it_once(world) -> None:
    t1, t2, number = two_devices_decide(world)
    results: list[object] = []
    with Store.open(t2) as first, Store.open(t2) as second:
        admin = get_operator(first, TEST_ADMIN)

        def other_face() -> None:
            try:
                results.append(record_recall(second, number, admin, "电话告知"))
            except StationError as exc:
                results.append(exc)

        with first.transaction():
            record_recall(first, number, admin, "已收回原件")
            racer = threading.Thread(target=other_face)
            racer.start()  # it reads the void notice now, then waits for the write lock
            time.sleep(0.5)
        racer.join(30)
        [outcome] = results
        assert isinstance(outcome, StationError) and outcome.problems[0].code == "none"
        assert first.conn.execute("SELECT count(*) FROM events WHERE type=?", (ev.NOTICE_RECALLED,)).fetchone()[0] == 1


def test_a_store_that_folded_a_mistyped_recall_before_is_folded_again(tmp_path: Path) -> None:
    """Migration 13: a store of schema 12 holds the row the old fold made of a recall naming no kind; after
    the migration it is the conflict a rebuild makes, and `db check` agrees with the tables."""
    home = tmp_path / "v"
    init_station(home, VILLAGE, "测试村", "village", admin=(TEST_ADMIN, TEST_PASSWORD))
    with Store.open(home) as store:
        [number] = file_cases(store, 1)
        forged = {"id": f"{TOWNSHIP}:7", "station": TOWNSHIP, "seq": 7, "hlc": "0001795628551657-0000",
                  "operator": "伪造者", "case": number, "type": ev.NOTICE_RECALLED,
                  "body": {"decision": f"{TOWNSHIP}:3", "kind": ["result"]}, "recorded_at": "2026-11-25T10:00:00"}
        store.ingest_remote([forged])
        with store.transaction():  # what the fold of schema 12 left
            store.conn.execute("DELETE FROM conflicts")
            store.conn.execute("INSERT INTO notice_recalls(event_id, case_number, decision_event, kind, note, operator,"
                               " station, recalled_at) VALUES (?,?,?,?,?,?,?,?)",
                               (forged["id"], number, forged["body"]["decision"], "['result']", None, "伪造者",
                                TOWNSHIP, forged["recorded_at"]))
        store.conn.execute("PRAGMA user_version=12")
    with Store.open(home) as store:
        assert store.schema_version == 13
        assert store.conn.execute("SELECT count(*) FROM notice_recalls").fetchone()[0] == 0
        assert store.conn.execute("SELECT reason FROM conflicts").fetchall() == [("malformed_event",)]
        assert check(store).ok
