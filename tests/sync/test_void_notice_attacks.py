"""Void notices and the 补正期限 against hostile peers, over the real gateway on 127.0.0.1.

A recall recorded on another device (another PC of the township, the filing village) — both may send case
events — must not make this device's void notice vanish; a forged recall of the wrong shape is a conflict,
never a row; a synced 补正 request with a mistyped or far-off due_date neither stops the village's sync nor
hides the case from 补正逾期未补, and its printed 补正通知书 shows the 补正期限 the clock honours."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from pathlib import Path

import requests
from click.testing import CliRunner

from station import events as ev
from station.cases import CaseReader
from station.cli import main
from station.operators import get_operator
from station.printing import print_case_document
from station.projections import calendar_for
from station.review import Decision, decide
from station.stats import compute
from station.store import Store
from station.testing import TEST_ADMIN, cli_login_env
from station.void_notices import record_recall, void_notices
from sync import envelope as env
from sync.gateway.testing import file_cases
from sync.keys import load_or_create, platform_keys
from sync.service import sync_now
from tests.support import TOWNSHIP, VILLAGE
from tests.sync.test_void_notice import device, synced, two_devices_decide

FORGED = {"batches": 0}


def forge(world, home: Path, code: str, forged: list[tuple[str, dict, str]]) -> list[str]:
    """Send ``forged`` (type, body, case) as one batch sealed and signed with the station's own keys (what a
    tampered PC can send), numbered far beyond its own events and batches so its genuine chain goes on."""
    FORGED["batches"] += 1
    n = FORGED["batches"]
    events = [{"id": f"{code}:{1_000_000 + 100 * n + i}", "station": code, "seq": 1_000_000 + 100 * n + i,
               "hlc": "0001795628551657-0000", "operator": "伪造者", "case": case, "type": type_, "body": body,
               "recorded_at": "2026-11-25T10:00:00"} for i, (type_, body, case) in enumerate(forged)]
    blob = env.seal(events, load_or_create(home, code), platform_keys(home).keys, 10_000 + 2 * n, bytes([n]) * 32,
                    "0001795628551657-0000")
    resp = requests.post(world[3] + "/v1/batches", data=blob, timeout=10)
    assert resp.status_code == 200, resp.text
    return [e["id"] for e in events]


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
