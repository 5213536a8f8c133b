"""Wire events an enrolled but hostile station can sign, sent through the real gateway on both stores:
personal data outside the body, forged sealed values where the body walk never looked, item snapshots
carrying personal data or NUL characters, odd characters in the fields that become columns, and events
held back for their filing that another device of the service point sent. None of them may leave
personal data in clear on the platform, crash an ingest, or jam another station's inbox."""

from __future__ import annotations

import copy
import json
from datetime import date
from typing import Any

import pytest
import zstandard

from station import events as ev
from station.casenumber import CaseNumber
from station.events import canonical_json
from station.store import Store
from sync import envelope as env
from sync.gateway.platform import IngestOutcome, Platform, Refused
from sync.gateway.testing import file_cases, make_platform, make_station
from sync.keys import PLATFORM_ID, load_or_create, platform_keys
from tests.support import TOWNSHIP, VILLAGE

SECRET = "110105194912310021"
VILLAGE_D2 = f"{VILLAGE}-d2"


@pytest.fixture(scope="module")
def world(tmp_path_factory, platform_store) -> dict[str, Any]:  # rebuilt for each platform store
    root = tmp_path_factory.mktemp("hostile")
    phome, keys = make_platform(root)
    village = make_station(root, phome, keys, VILLAGE)
    d2 = make_station(root, phome, keys, VILLAGE, device=2)
    township = make_station(root, phome, keys, TOWNSHIP, "township")
    with Store.open(village) as store:
        number = file_cases(store, 1)[0]
        filed = next(store.wire_event(e) for e in store.local_events_after(0)
                     if e.case_number == number and e.type == ev.CASE_FILED)
    w = {"phome": phome, "plat": platform_keys(village).keys, "filed": filed, "number": number,
         "keys": {VILLAGE: load_or_create(village, VILLAGE), VILLAGE_D2: load_or_create(d2, VILLAGE_D2),
                  TOWNSHIP: load_or_create(township, TOWNSHIP)},
         "batch": {VILLAGE: 1000, VILLAGE_D2: 1000}, "seq": {VILLAGE: 1000, VILLAGE_D2: 1000}, "numbers": 9000}
    outcome = _send(w, [filed])  # the case is held, so events on it are routed to the township
    assert isinstance(outcome, IngestOutcome) and outcome.events_new == 1
    return w


def _event(w: dict[str, Any], station: str = VILLAGE, **fields: Any) -> dict[str, Any]:
    w["seq"][station] += 1
    seq = w["seq"][station]
    return {"id": f"{station}:{seq}", "station": station, "seq": seq, "hlc": "0001795628551657-0000",
            "operator": "伪造者", "case": None, "type": "note.added", "body": {}, "recorded_at": "2026-11-25T10:00:00",
            **fields}


def _new_number(w: dict[str, Any]) -> str:
    w["numbers"] += 1
    return str(CaseNumber(VILLAGE, date.fromisoformat(w["filed"]["body"]["received_date"]), w["numbers"]))


def _filing(w: dict[str, Any], station: str = VILLAGE, number: str | None = None) -> dict[str, Any]:
    body = copy.deepcopy(w["filed"]["body"])
    return _event(w, station, case=number or _new_number(w), type=ev.CASE_FILED, body=body)


def _send(w: dict[str, Any], events: list[dict[str, Any]], lines: list[bytes] | None = None,
          station: str = VILLAGE) -> IngestOutcome | Refused:
    """One batch of ``events`` signed with the station's own key (``lines``: the JSON lines exactly as sent),
    numbered with a gap after the last so that each is accepted on its own."""
    w["batch"][station] += 2
    payload = None if lines is None else zstandard.ZstdCompressor(write_content_size=True).compress(b"\n".join(lines))
    blob = env.seal(events, w["keys"][station], w["plat"], w["batch"][station], bytes(32), "0001795628551657-0000",
                    payload=payload)
    with Platform.open(w["phome"]) as platform:
        try:
            return platform.ingest(blob, peer="127.0.0.1")
        except Refused as err:
            return err


def _held_anywhere(w: dict[str, Any], secret: str) -> list[str]:
    """The platform's tables holding ``secret`` in clear in any column (text or bytes)."""
    from sync.gateway.move import TABLES

    needle = secret.encode("utf-8")
    with Platform.open(w["phome"]) as platform:
        return sorted({table for table, (cols, _) in TABLES.items()
                       for row in platform.store.query(f"SELECT {cols} FROM {table}")
                       for value in row if needle in (bytes(value) if isinstance(value, (bytes, memoryview))
                                                      else str(value).encode("utf-8"))})


def _township_inbox(w: dict[str, Any]) -> list[dict[str, Any]]:
    """Every event the township can pull (envelopes opened with its own key)."""
    with Platform.open(w["phome"]) as platform:
        blobs, _ = platform.inbox(TOWNSHIP, 0, 1 << 30)
        plat = platform.keys.public
    return [e for blob in blobs for e in env.open_(blob, w["keys"][TOWNSHIP], {PLATFORM_ID: plat}).events]


@pytest.mark.parametrize("way", ["line as sent", "walk"])
def test_personal_data_outside_the_body_is_sealed_either_way(world, way: str) -> None:
    """An extra top-level field carrying ``{"$pii": …}``: the line way sealed it, the walk (taken for any line
    with a backslash) stored it in clear."""
    event = _event(world, case=world["number"], type=ev.MATERIAL_RECEIVED, body={"x": 1},
                   extra={"who": {"$pii": SECRET}}, operator="a\\b" if way == "walk" else "ab")
    outcome = _send(world, [event])
    assert isinstance(outcome, IngestOutcome) and outcome.events_new == 1, outcome
    assert _held_anywhere(world, SECRET) == []
    assert _held_anywhere(world, event["id"]) == ["events", "inbox"]  # the probe finds what is there
    assert [e for e in _township_inbox(world) if e["id"] == event["id"]] == [event]
    routed = [e for e in _township_inbox(world) if e["id"] == event["id"]]
    assert routed == [event]  # the township opens it as sent


FORGED_OUTSIDE = {
    "$enc in an extra field": b'"extra":{"$enc":"AAAA"}',
    "$enc in an extra list": b'"extra":[{"$enc":"AAAA"}]',
    "$enc spelt with an escape": b'"extra":{"\\u0024enc":"AAAA"}',
    "$pii as a key of the event": b'"$pii":"' + SECRET.encode() + b'"',
    "$enc as a key of the event": b'"$enc":"AAAA"',
}


@pytest.mark.parametrize("name", sorted(FORGED_OUTSIDE))
def test_sealed_data_forged_outside_the_body_is_refused_and_the_township_still_pulls(world, name: str) -> None:
    """A ``{"$enc": …}`` outside the body used to be stored, routed, and then fail to open in every pull of the
    township's inbox (pii_unreadable), for good; a ``$pii`` key of the event itself was stored in clear."""
    event = _event(world, case=world["number"], type=ev.MATERIAL_RECEIVED, body={"x": 1})
    line = env.encode_events([event])
    raw = zstandard.ZstdDecompressor().decompress(line)
    raw = raw.replace(b'"body":{"x":1}', b'"body":{"x":1},' + FORGED_OUTSIDE[name])
    outcome = _send(world, [json.loads(raw)], [raw])
    assert isinstance(outcome, Refused) and outcome.code == "bad_payload", outcome
    with Platform.open(world["phome"]) as platform:
        assert platform.store.query("SELECT count(*) FROM events WHERE id=?", (event["id"],)) == [(0,)]
    _township_inbox(world)  # opens


def test_personal_data_in_the_item_snapshot_never_lands_in_the_case_row(world) -> None:
    """The case row's item code, name and level come from the filing's body; on the line way that body is
    the decoded one, personal data in clear (and a NUL character there broke PostgreSQL's text columns)."""
    filing = _filing(world)
    filing["body"]["item"].update(name={"$pii": SECRET}, code="CL\u0000X", handling_level=["township"])
    outcome = _send(world, [filing])
    assert isinstance(outcome, IngestOutcome) and outcome.events_new == 1, outcome
    with Platform.open(world["phome"]) as platform:
        row = next(c for c in platform.store.cases() if c["number"] == filing["case"])  # type: ignore[attr-defined]
    assert SECRET not in json.dumps(row, ensure_ascii=False) and "\x00" not in json.dumps(row)
    assert (row["item_name"], row["item_code"], row["level"]) == ("", "CLX", "")
    assert _held_anywhere(world, SECRET) == []


ODD_FIELDS = {
    "a NUL in the case number": {"case": "4213811052\u0000"},
    "a line feed in the case number": {"case": "421381105201-\n"},
    "a stamp in Arabic-Indic digits": {"hlc": "\u0661" * 16 + "-" + "\u0660" * 4},
    "a stamp in full-width digits": {"hlc": "\uff10" * 16 + "-\uff10\uff10\uff10\uff10"},
}


@pytest.mark.parametrize("name", sorted(ODD_FIELDS))
def test_odd_characters_in_column_fields_refuse_the_batch(world, name: str) -> None:
    """A NUL in the case number crashed the ingest on PostgreSQL (HTTP 500; text columns cannot hold it); a
    stamp in other scripts' digits passed ``\\d`` and sorts after every real stamp on the receivers."""
    event = _event(world, **ODD_FIELDS[name])
    outcome = _send(world, [event])
    assert isinstance(outcome, Refused) and outcome.code == "bad_payload", outcome


def test_held_back_events_of_another_device_are_judged_routed_and_kept_as_its_own(world) -> None:
    """Device 2's events on a number its device 1 files later wait for the filing; when device 1's batch
    releases them they are still device 2's: routed to device 1 (not back to device 2), and a refused one
    kept under device 2 with the notice in device 2's inbox."""
    number = _new_number(world)
    supplemented = _event(world, VILLAGE_D2, case=number, type=ev.CASE_SUPPLEMENTED, body={"note": "补"})
    approved = _event(world, VILLAGE_D2, case=number, type=ev.CASE_APPROVED, body={"opinion": "同意"})
    outcome = _send(world, [supplemented, approved], station=VILLAGE_D2)
    assert isinstance(outcome, IngestOutcome) and outcome.events_new == 0, outcome
    outcome = _send(world, [_filing(world, VILLAGE, number)])  # a township-level item: d2 may not approve it
    assert isinstance(outcome, IngestOutcome), outcome
    with Platform.open(world["phome"]) as platform:
        store = platform.store
        routed = {s for (s,) in store.query("SELECT station FROM inbox WHERE event_id=?", (supplemented["id"],))}
        assert routed == {VILLAGE, TOWNSHIP}
        assert store.query("SELECT station, reason FROM event_refusals WHERE event_id=?", (approved["id"],)) == [
            (VILLAGE_D2, "not_village_level")]
        notices = [json.loads(b)["body"] for (b,) in store.query(
            "SELECT e.body FROM inbox i JOIN events e ON e.id = i.event_id WHERE i.station=? AND e.type=?",
            (VILLAGE_D2, "sync.conflict"))]
        assert [n["event"] for n in notices if n["event"] == approved["id"]] == [approved["id"]]
        own = {s: {r.id for r in store.own_events_after(s, 0, 10_000)} for s in (VILLAGE, VILLAGE_D2)}
        assert approved["id"] in own[VILLAGE_D2] and approved["id"] not in own[VILLAGE]


def test_one_event_id_twice_in_a_batch_refuses_the_batch(world) -> None:
    """Two different events under one id in one batch: the platform kept one version as refused (and told
    the station so) while storing and routing the other, or held one back and stored the other, and the
    station's catch-up got both versions of its event. No station sends that: the batch is malformed."""
    refused = _event(world, case=world["number"], type="sync.conflict", body={})
    accepted = dict(refused, type=ev.MATERIAL_RECEIVED, body={"x": 1})
    outcome = _send(world, [refused, accepted])
    assert isinstance(outcome, Refused) and outcome.code == "bad_payload" and "第 2 条事件" in str(outcome), outcome
    with Platform.open(world["phome"]) as platform:
        for table, column in (("events", "id"), ("event_refusals", "event_id"), ("deferred_events", "event_id")):
            assert platform.store.query(f"SELECT count(*) FROM {table} WHERE {column}=?", (refused["id"],)) == [(0,)]


@pytest.mark.parametrize("way", ["line as sent", "walk"])
def test_an_event_past_the_size_bound_refuses_the_batch_and_one_at_it_is_stored(world, way: str) -> None:
    """A station's largest event is a filing of ~2.3 KB; one upload must not store megabytes of padding
    that every receiver of the case would pull."""
    from sync.gateway.wire_events import MAX_EVENT_BYTES

    def sized(n: int) -> dict[str, Any]:
        event = _event(world, case=world["number"], type=ev.MATERIAL_RECEIVED, body={"pad": ""},
                       operator="a\\b" if way == "walk" else "ab")
        event["body"]["pad"] = "x" * (n - len(canonical_json(event).encode()))
        assert len(canonical_json(event).encode()) == n  # the line as env.seal writes it
        return event

    big = sized(MAX_EVENT_BYTES + 1)
    outcome = _send(world, [big])
    assert isinstance(outcome, Refused) and outcome.code == "bad_payload" and "过大" in str(outcome), outcome
    with Platform.open(world["phome"]) as platform:
        assert platform.store.query("SELECT 1 FROM events WHERE id=?", (big["id"],)) == []
    ok = sized(MAX_EVENT_BYTES - 100)
    outcome = _send(world, [ok])
    assert isinstance(outcome, IngestOutcome) and outcome.events_new == 1, outcome
