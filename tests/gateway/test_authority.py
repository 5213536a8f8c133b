"""Authority before effect (sync/gateway/authority.py): forged events of every kind from every wrong sender,
sent the way a tampered station PC would send them (appended to its own log, synced over the real gateway),
leave the platform's cases, routes and inboxes exactly as they were; the sender is told; the rightful
township's later decision still works and no notice reverts it; genuine events beside forged ones land."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
import requests

from station import events as ev
from station.casenumber import CaseNumber
from station.cases import CaseReader
from station.operators import add_operator, os_account
from station.review import Decision, decide
from station.store import Store
from sync import outbox
from sync.gateway import authority
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.gateway.testing import file_cases, make_platform, make_station
from sync.keys import load_or_create, platform_keys
from sync.service import sync_now
from tests.support import OTHER_TOWNSHIP, OTHER_VILLAGE, TOWNSHIP, VILLAGE, VILLAGE_2
from tests.support.forge import send_forged

PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
CASE_TYPES = [ev.MATERIAL_RECEIVED, ev.CASE_SUPPLEMENTED, ev.CASE_WITHDRAWN, ev.RESULT_DELIVERED, ev.RATING_GIVEN,
              ev.NOTICE_PRINTED, ev.FOLLOWUP_CLOSED, ev.PII_REVEALED, ev.ACCESS_REFUSED, ev.DUPLICATE_MARKED,
              ev.RATING_REVISITED, ev.CASE_HANDED_OVER, ev.NOTICE_RECALLED, *sorted(authority.DECISIONS)]


@pytest.fixture
def world(tmp_path: Path):
    phome, keys = make_platform(tmp_path)
    with Platform.open(phome) as platform, ServerThread(platform) as server:
        homes = {code: make_station(tmp_path, phome, keys, code, role, url=server.url)
                 for code, role in ((VILLAGE, "village"), (VILLAGE_2, "village"), (OTHER_VILLAGE, "village"),
                                    (TOWNSHIP, "township"), (OTHER_TOWNSHIP, "township"))}
        with Store.open(homes[VILLAGE]) as store:
            numbers = file_cases(store, 18)  # the 18th item of the catalog (RS-CXJMYL) is the first decided by the village
            levels = dict(store.conn.execute("SELECT number, handling_level FROM cases"))
            assert sync_now(store).ok
        for code in (TOWNSHIP, VILLAGE_2, OTHER_VILLAGE, OTHER_TOWNSHIP):
            with Store.open(homes[code]) as store:
                assert sync_now(store).ok
        yield {"platform": platform, "homes": homes, "numbers": numbers, "url": server.url,
               "township_case": next(n for n in numbers if levels[n] == "township"),
               "village_case": next(n for n in numbers if levels[n] == "village")}


def _routes(platform: Platform) -> list[tuple]:
    return platform.store.conn.execute(  # type: ignore[attr-defined]
        "SELECT i.station, i.idx, i.event_id, e.type, e.body FROM inbox i JOIN events e ON e.id = i.event_id"
        " ORDER BY i.station, i.idx").fetchall()


def _state(platform: Platform) -> tuple:
    store = platform.store
    return (store.cases(), store.conflicts(), _routes(platform),  # type: ignore[attr-defined]
            store.conn.execute("SELECT id FROM events WHERE type != 'sync.conflict' ORDER BY id").fetchall())  # type: ignore[attr-defined]


def _filed_body(world, number: str) -> dict:
    with Store.open(world["homes"][VILLAGE]) as store:
        filed = next(e for e in store.case_events(number) if e.type == ev.CASE_FILED)
        return store.wire_event(filed)["body"]


def _forge(world, code: str, forged: list[tuple[str, dict, str | None]]) -> tuple[list[str], requests.Response]:
    """Send ``forged`` (type, body, case) as one batch sealed and signed with the station's own keys: what a
    tampered PC, or whoever copied its key, can send (tests/support/forge.py)."""
    return send_forged(world["url"], world["homes"][code], code, forged)


def _check_refused(world, before: tuple, forger: str, ids: list[str], reasons: dict[str, str]) -> None:
    """Nothing of the platform changed but the forger's own inbox, which gained one notice per forged event."""
    platform = world["platform"]
    cases, conflicts, routes, events = _state(platform)
    assert (cases, conflicts, events) == (before[0], before[1], before[3])
    new_routes = [r for r in routes if r not in before[2]]
    assert all(r[0] == forger and r[3] == "sync.conflict" for r in new_routes), new_routes
    notices = {json.loads(r[4])["body"]["event"]: json.loads(r[4])["body"] for r in new_routes}
    assert set(notices) == set(ids)
    assert all(n["refused"] and n["code"] == reasons[i] for i, n in notices.items())
    kept = {r["event_id"]: r["reason"] for r in platform.store.event_refusals(1000)}  # type: ignore[attr-defined]
    assert {i: kept[i] for i in ids} == reasons


def test_forged_events_of_every_kind_from_every_wrong_sender_change_nothing(world) -> None:
    platform, homes = world["platform"], world["homes"]
    case, own_village_case = world["township_case"], world["village_case"]
    filed_body = _filed_body(world, case)
    today = date.fromisoformat(filed_body["received_date"])
    unheld = str(CaseNumber(VILLAGE, today, 9999))

    plans: list[tuple[str, list[tuple[str, dict, str | None]], str]] = [
        # a village acting on another village's case, same township and another township; re-filing it
        (VILLAGE_2, [(t, {"reason": "伪造"}, case) for t in CASE_TYPES] + [(ev.CASE_FILED, filed_body, case)],
         "foreign_case"),
        (OTHER_VILLAGE, [(t, {"reason": "伪造"}, case) for t in CASE_TYPES], "foreign_case"),
        # a township deciding (or doing anything) on a case outside its jurisdiction
        (OTHER_TOWNSHIP, [(t, {"reason": "伪造"}, case) for t in CASE_TYPES], "out_of_jurisdiction"),
        # a township filing, or deciding a case the platform does not hold
        (TOWNSHIP, [(ev.CASE_FILED, filed_body, unheld)], "township_cannot_file"),
        (TOWNSHIP, [(ev.CASE_ACCEPTED, {}, unheld)], "unknown_case"),
        # a village deciding its own case of an item the township decides (公示 is a decision too)
        (VILLAGE, [(ev.CASE_APPROVED, {"reason": None}, case)], "not_village_level"),
        (VILLAGE, [(ev.CASE_POSTING_STARTED, {"days": 7}, case)], "not_village_level"),
        # the hand-over is the filing village's act: the township cannot record it, even in its jurisdiction
        (TOWNSHIP, [(ev.CASE_HANDED_OVER, {"to": "示范镇"}, case)], "wrong_role"),
        # platform-only types, from a village and a township: a forged notice would revert a rightful decision
        (VILLAGE_2, [(authority.CONFLICT, {"event": f"{TOWNSHIP}:1", "code": "illegal_transition"}, case),
                     (ev.CALENDAR_UPDATED, {"years": [2031], "days": {"2031-03-02": "holiday"}}, None),
                     # a forged query URL would send every citizen's scan to the forger's site
                     (ev.QUERY_URL_PUBLISHED, {"template": "https://evil.example/{case_number}"}, None)],
         "platform_only"),
        (OTHER_TOWNSHIP, [(authority.CONFLICT, {"event": f"{TOWNSHIP}:1", "code": "illegal_transition"}, case),
                          (ev.QUERY_URL_PUBLISHED, {"template": "https://evil.example/{case_number}"}, None)],
         "platform_only"),
        # a malformed case number is nobody's
        (VILLAGE, [(ev.MATERIAL_RECEIVED, {}, VILLAGE + "-XXXXXX-0001-1")], "bad_case_number"),
    ]
    for forger, forged, reason in plans:
        before = _state(platform)
        ids, resp = _forge(world, forger, forged)
        assert resp.headers["X-Events-Refused"] == str(len(ids)) and resp.headers["X-Events-New"] == "0"
        _check_refused(world, before, forger, ids, {i: reason for i in ids})
        with Store.open(homes[forger]) as store:  # the sender is told, in notices signed by the platform
            assert sync_now(store).ok
            told = {json.loads(b)["event"] for (b,) in store.conn.execute(
                "SELECT body FROM events WHERE type='sync.conflict' AND station='platform'")}
            assert set(ids) <= told

    # the rightful township's decision still works, and no notice reverts it
    with Store.open(homes[TOWNSHIP]) as store:
        reviewer = add_operator(store, "镇审核", "reviewer", "secret123", os_account())
        decide(store, case, Decision("accept"), reviewer)
        assert sync_now(store).ok and sync_now(store).ok
        assert CaseReader(store).get(case).status == "accepted"
        codes = [json.loads(b)["code"] for (b,) in store.conn.execute(
            "SELECT body FROM events WHERE type='sync.conflict'")]
        assert "illegal_transition" not in codes
    assert {c["number"]: c["status"] for c in platform.store.cases()}[case] == "accepted"  # type: ignore[attr-defined]
    with Store.open(homes[VILLAGE]) as store:
        assert sync_now(store).ok
        assert CaseReader(store).get(case).status == "accepted"
        assert CaseReader(store).get(own_village_case).status == "received"
    for code in (VILLAGE_2, OTHER_VILLAGE, OTHER_TOWNSHIP):  # nobody else ever got the case or a forgery
        with Store.open(homes[code]) as store:
            assert sync_now(store).ok
            assert not store.conn.execute("SELECT 1 FROM cases WHERE number=?", (case,)).fetchone()
            assert not store.conn.execute("SELECT 1 FROM events WHERE origin='remote' AND station != 'platform'"
                                          " AND seq >= 1000000").fetchone()


def test_squatting_another_villages_next_case_number_is_refused_and_the_real_filing_lands(world) -> None:
    platform, homes = world["platform"], world["homes"]
    case = world["township_case"]
    body = _filed_body(world, case)
    with Store.open(homes[VILLAGE]) as store:
        prefix = f"{VILLAGE}-{date.fromisoformat(body['received_date']):%y%m%d}-"
        last = store.conn.execute("SELECT MAX(number) FROM cases WHERE number LIKE ?", (prefix + "%",)).fetchone()[0]
    upcoming = str(CaseNumber(VILLAGE, date.fromisoformat(body["received_date"]), int(last.split("-")[2]) + 1))
    before = _state(platform)
    ids, _ = _forge(world, VILLAGE_2, [(ev.CASE_FILED, body, upcoming)])
    _check_refused(world, before, VILLAGE_2, ids, {ids[0]: "foreign_case"})
    with Store.open(homes[VILLAGE]) as store:
        real = file_cases(store, 1)[0]
        assert real == upcoming  # the very number squatted
        assert sync_now(store).ok
    held = {c["number"]: c for c in platform.store.cases()}  # type: ignore[attr-defined]
    assert held[upcoming]["owner"] == VILLAGE and held[upcoming]["status"] == "received"
    assert not any(c["reason"] == "duplicate_case_number" for c in platform.store.conflicts())  # type: ignore[attr-defined]


def test_genuine_events_after_a_forged_one_in_the_same_batch_still_land(world) -> None:
    """Here the forgery is in the station's own log (a tampered PC), so its own next sync carries it."""
    platform, homes = world["platform"], world["homes"]
    with Store.open(homes[VILLAGE_2]) as store:
        forged = store.append(ev.CASE_WITHDRAWN, {"reason": "伪造"}, "伪造者", world["township_case"]).id
        mine = file_cases(store, 2)
        summary = sync_now(store)
        assert summary.ok and summary.batches_acknowledged == 1 and summary.events_refused == 1
        assert store.meta_get("sync.acked_seq") == str(store.last_local_seq())  # the whole chain acknowledged
    held = {c["number"]: c for c in platform.store.cases()}  # type: ignore[attr-defined]
    assert all(held[n]["owner"] == VILLAGE_2 for n in mine)
    assert held[world["township_case"]]["status"] == "received"
    assert [r["event_id"] for r in platform.store.event_refusals()] == [forged]  # type: ignore[attr-defined]
    with Store.open(homes[TOWNSHIP]) as store:
        assert sync_now(store).ok
        assert set(mine) <= {n for (n,) in store.conn.execute("SELECT number FROM cases")}
        assert CaseReader(store).get(world["township_case"]).status == "received"


def test_a_villages_later_batch_arriving_first_waits_for_its_filing(tmp_path: Path) -> None:
    """Up to four batches are in flight, so batch 2 may reach the platform before batch 1: its events on a
    case filed in batch 1 are held back, then applied in order when the filing arrives; nothing refused."""
    phome, keys_file = make_platform(tmp_path)
    village = make_station(tmp_path, phome, keys_file, VILLAGE)
    township = make_station(tmp_path, phome, keys_file, TOWNSHIP, "township")
    with Store.open(village) as store:
        keys, plat = load_or_create(village, VILLAGE), platform_keys(village).keys
        numbers = file_cases(store, 18)  # the 18th item of the catalog (RS-CXJMYL) is the first decided by the village
        level = dict(store.conn.execute("SELECT number, handling_level FROM cases"))
        outbox.cut(store, keys, plat)
        mine = next(n for n in numbers if level[n] == "village")
        decide(store, mine, Decision("accept"), os_account())
        decide(store, mine, Decision("approve", certificate="证-1"), os_account())
        outbox.cut(store, keys, plat)
        first, second = outbox.get(store, 1).blob, outbox.get(store, 2).blob  # type: ignore[union-attr]
    with Platform.open(phome) as platform:
        outcome = platform.ingest(second, peer="127.0.0.1")
        assert outcome.events_refused == 0 and outcome.events_new == 0
        assert platform.store.counts()["deferred_events"] == 2
        platform.ingest(first, peer="127.0.0.1")
        counts = platform.store.counts()
        assert counts["deferred_events"] == 0 and counts["event_refusals"] == 0 and counts["conflicts"] == 0
        assert {c["number"]: c["status"] for c in platform.store.cases()}[mine] == "approved"  # type: ignore[attr-defined]
        order = [row.type for _, row in platform.store.inbox_pending(TOWNSHIP, 0, 1000) if row.case_number == mine]
        assert order == [ev.CASE_FILED, ev.CASE_ACCEPTED, ev.CASE_APPROVED]
    with Platform.open(phome) as platform, ServerThread(platform) as server:
        from sync.settings import configure

        configure(township, server.url)
        with Store.open(township) as store:
            assert sync_now(store).ok and CaseReader(store).get(mine).status == "approved"
            assert not store.conn.execute("SELECT 1 FROM conflicts").fetchone()


def test_a_notice_recall_comes_from_whoever_may_print_the_case_s_notices() -> None:
    """case.notice_recalled (a void notice recovered, station/void_notices.py) is a case event like
    notice.printed: the filing village and a township device of its jurisdiction may send it, nobody else."""
    number = f"{VILLAGE}-260928-0001-X"  # the platform holds it: only its first 12 digits are read
    held = authority.CaseFacts(owner=VILLAGE, level="township")
    for type_ in (ev.NOTICE_PRINTED, ev.NOTICE_RECALLED):
        assert authority.authorize(VILLAGE, "village", type_, number, held) == ""
        assert authority.authorize(f"{VILLAGE}-d2", "village", type_, number, held) == ""
        assert authority.authorize(TOWNSHIP, "township", type_, number, held) == ""
        assert authority.authorize(f"{TOWNSHIP}-d2", "township", type_, number, held) == ""
        assert authority.authorize(VILLAGE_2, "village", type_, number, held) == "foreign_case"
        assert authority.authorize(OTHER_TOWNSHIP, "township", type_, number, held) == "out_of_jurisdiction"
    assert ev.NOTICE_RECALLED not in authority.PLATFORM_ONLY | authority.DECISIONS | authority.VILLAGE_ONLY


def test_the_rules_table_in_the_protocol_names_every_reason() -> None:
    """docs/protocol.md "Who may do what" is the one table of the one function: every reason code is in it."""
    text = PROTOCOL.read_text(encoding="utf-8")
    section = text[text.index("### Who may do what"):]
    section = section[:section.index("\n## ")]
    codes = set(re.findall(r"`([a-z_]+)`", section))
    assert set(authority.REASONS_ZH) | {authority.AWAITING_FILING} <= codes
    for type_ in authority.PLATFORM_ONLY | authority.DECISIONS | {ev.CASE_FILED}:
        assert f"`{type_}`" in section, type_
