"""Event bodies at rest (sync/gateway/batch_bodies.py), on both stores: each accepted batch's payload is
stored once, sealed under the platform's key and bound to its batch; events point into it; receivers get
exactly what the sender sent; rows stored before (their own text, personal data sealed value by value)
are still served; a body that was altered, or moved to another batch's row, is refused, never served."""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

import pytest
import zstandard

from station.pii import PiiCodec
from station.store import Store
from sync import envelope as env
from sync.errors import SyncError
from sync.gateway.batch_bodies import BatchBodies, BodyUnreadable
from sync.gateway.platform import DB_FILE, IngestOutcome, Platform
from sync.gateway.store import EventRow, SqliteGatewayStore
from sync.gateway.testing import file_cases, make_platform, make_station
from sync.keys import PLATFORM_ID, load_or_create, platform_keys
from tests.support import TOWNSHIP, VILLAGE

FRAME = zstandard.ZstdCompressor(write_content_size=True).compress(b'{"a":1}\n{"b":2}')


def test_a_body_opens_only_as_the_batch_it_was_sealed_for() -> None:
    bodies = BatchBodies(bytes(range(32)))
    sealed = bodies.seal(FRAME, VILLAGE, 7)
    assert bodies.lines(sealed, VILLAGE, 7) == [b'{"a":1}', b'{"b":2}']
    assert FRAME not in sealed and bodies.seal(FRAME, VILLAGE, 7) != sealed  # a fresh nonce each time
    for station, seq in ((VILLAGE, 8), (TOWNSHIP, 7)):  # moved to another batch's row
        with pytest.raises(BodyUnreadable):
            bodies.lines(sealed, station, seq)
    with pytest.raises(BodyUnreadable):  # another platform's key
        BatchBodies(bytes(32)).lines(sealed, VILLAGE, 7)
    for damaged in (sealed[:-1] + bytes([sealed[-1] ^ 1]), b"\x02" + sealed[1:], sealed[:20], b""):
        with pytest.raises(BodyUnreadable) as err:
            bodies.lines(damaged, VILLAGE, 7)
        assert err.value.code == "body_unreadable" and "无法读取" in err.value.message


@pytest.fixture(scope="module")
def world(tmp_path_factory, platform_store) -> dict[str, Any]:  # rebuilt for each platform store
    root = tmp_path_factory.mktemp("bodies")
    phome, keys = make_platform(root)
    village = make_station(root, phome, keys, VILLAGE)
    township = make_station(root, phome, keys, TOWNSHIP, "township")
    with Store.open(village) as store:
        file_cases(store, 12)
        sent = [store.wire_event(e) for e in store.local_events_after(0)]
    return {"phome": phome, "plat": platform_keys(village).keys, "sent": sent,
            "keys": {VILLAGE: load_or_create(village, VILLAGE), TOWNSHIP: load_or_create(township, TOWNSHIP)}}


def _ingest_in_batches(w: dict[str, Any], size: int) -> None:
    prev = env.GENESIS_HASH
    with Platform.open(w["phome"]) as platform:
        for n, i in enumerate(range(0, len(w["sent"]), size), 1):
            chunk = w["sent"][i:i + size]
            blob = env.seal(chunk, w["keys"][VILLAGE], w["plat"], n, prev, max(e["hlc"] for e in chunk))
            outcome = platform.ingest(blob, peer="127.0.0.1")
            assert isinstance(outcome, IngestOutcome) and outcome.events_new == len(chunk)
            prev = env.batch_hash(blob)


def _pull(w: dict[str, Any]) -> list[dict[str, Any]]:
    with Platform.open(w["phome"]) as platform:
        blobs, _ = platform.inbox(TOWNSHIP, 0, 1 << 30)
        plat = platform.keys.public
    return [e for blob in blobs for e in env.open_(blob, w["keys"][TOWNSHIP], {PLATFORM_ID: plat}).events]


def test_each_batch_is_stored_once_sealed_and_receivers_get_what_was_sent(world) -> None:
    _ingest_in_batches(world, 5)
    with Platform.open(world["phome"]) as platform:
        q = platform.store.query
        bodies = q("SELECT station, seq, body FROM batch_bodies ORDER BY seq")
        assert [(s, n) for s, n, _ in bodies] == [(VILLAGE, n) for n in range(1, -(-len(world["sent"]) // 5) + 1)]
        for _, _, body in bodies:  # not the station's frame: sealed (a zstd reader finds no frame in it)
            with pytest.raises(zstandard.ZstdError):
                zstandard.ZstdDecompressor().decompress(bytes(body))
        rows = q("SELECT seq, body, batch, line FROM events WHERE station=? ORDER BY seq", (VILLAGE,))
        assert [(body, batch, line) for _, body, batch, line in rows] == [
            ("", i // 5 + 1, i % 5) for i in range(len(world["sent"]))]
        secrets = [v["$pii"] for e in world["sent"] for v in _pii_values(e)]
        assert len(secrets) >= 12
        dump = "\n".join(map(repr, q("SELECT * FROM events"))) + "".join(repr(b) for _, _, b in bodies)
        assert not [s for s in secrets if s in dump]
        # and the catch-up of the village's own events reads them back as sent
        own, more = platform.own_events(VILLAGE, 0, max_bytes=1 << 30)
        assert not more
        opened = [e for blob in own for e in env.open_(blob, world["keys"][VILLAGE], {PLATFORM_ID: platform.keys.public}).events]
    case_events = [e for e in world["sent"] if e.get("case")]
    assert _pull(world) == case_events  # personal data in clear, for the township only (inside its envelope)
    assert opened == world["sent"]


def _pii_values(value: Any) -> list[dict[str, str]]:
    if isinstance(value, dict):
        return [value] if set(value) == {"$pii"} else [p for v in value.values() for p in _pii_values(v)]
    if isinstance(value, list):
        return [p for v in value for p in _pii_values(v)]
    return []


def test_rows_with_their_own_text_are_served_with_the_others(world) -> None:
    """Events stored before batch bodies (and those released after waiting for their filing) keep their own
    text, personal data sealed value by value: the same pull serves both kinds, in inbox order."""
    old = {**world["sent"][0], "id": f"{VILLAGE}:90001", "seq": 90001,
           "body": {"note": {"$pii": "13800000000"}}, "type": "note.added"}
    with Platform.open(world["phome"]) as platform:
        text = json.dumps(platform.codec.seal_body(old), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        assert "13800000000" not in text
        with platform.store.transaction():
            assert platform.store.add_event(EventRow(old["id"], VILLAGE, 90001, old["hlc"], old["case"], old["type"],
                                                     text), "2026-09-01T10:00:00")
            platform.store.add_inbox(TOWNSHIP, old["id"])
    pulled = _pull(world)
    assert pulled[-1] == old and pulled[:-1] == [e for e in world["sent"] if e.get("case")]


def test_a_body_moved_to_another_batch_is_refused_not_served(world) -> None:
    """Someone with write access to the database (not the key) swaps two batches' bodies: a read that needs
    them (here the village's catch-up, built afresh on each request) fails with body_unreadable; it never
    hands one batch's events out as another's."""
    with Platform.open(world["phome"]) as platform:
        store = platform.store
        [(one,)], [(two,)] = (store.query("SELECT body FROM batch_bodies WHERE station=? AND seq=?", (VILLAGE, n))
                          for n in (1, 2))
        with store.transaction():
            store.query(SWAP, (two, VILLAGE, 1))
            store.query(SWAP, (one, VILLAGE, 2))
        try:
            with pytest.raises(SyncError) as err:
                platform.own_events(VILLAGE, 0, max_bytes=1 << 30)
            assert err.value.code == "body_unreadable" and f"{VILLAGE}#1" in err.value.message
        finally:
            with store.transaction():
                store.query(SWAP, (one, VILLAGE, 1))
                store.query(SWAP, (two, VILLAGE, 2))
        own, _ = platform.own_events(VILLAGE, 0, max_bytes=1 << 30)
    assert len(own) > 0


SWAP = "UPDATE batch_bodies SET body=? WHERE station=? AND seq=? RETURNING 1"


def test_an_old_sqlite_file_gains_the_columns_and_its_rows_are_read_from_their_text(tmp_path) -> None:
    """A platform.db from before batch bodies: its events table has no batch/line columns. Opening it adds
    them; its rows read as their own text."""
    path = tmp_path / DB_FILE
    codec = PiiCodec(bytes(range(32)))
    event = {"id": f"{VILLAGE}:1", "station": VILLAGE, "seq": 1, "hlc": "0001795628551657-0000", "operator": "甲",
             "case": None, "type": "note.added", "body": {"p": {"$pii": "13800000000"}}, "recorded_at": "2026-09-01"}
    text = json.dumps(codec.seal_body(event), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    conn = sqlite3.connect(path)
    conn.execute("""CREATE TABLE events (id TEXT PRIMARY KEY, station TEXT NOT NULL, seq INTEGER NOT NULL,
                    hlc TEXT NOT NULL, case_number TEXT, type TEXT NOT NULL, body TEXT NOT NULL,
                    received_at TEXT NOT NULL)""")
    conn.execute("INSERT INTO events VALUES (?,?,?,?,?,?,?,?)", (event["id"], VILLAGE, 1, event["hlc"], None,
                                                                 "note.added", text, "2026-09-01"))
    conn.commit()
    conn.close()
    store = SqliteGatewayStore(path)
    try:
        row = store.get_event(event["id"])
        assert row is not None and (row.batch, row.line, row.body) == (None, None, text)
        assert codec.open_body(json.loads(row.body)) == event
        with store.transaction():  # and new rows carry their place in a batch body
            store.add_event(EventRow(f"{VILLAGE}:2", VILLAGE, 2, event["hlc"], None, "note.added", "", 1, 0), "2026-09-02")
        assert (store.get_event(f"{VILLAGE}:2").batch, store.get_event(f"{VILLAGE}:2").line) == (1, 0)  # type: ignore[union-attr]
    finally:
        store.close()


def test_one_read_of_the_inbox_is_cut_into_a_chain_of_envelopes(tmp_path, platform_store) -> None:
    """A township's pending events from several stored bodies, cut into many small envelopes in one pull:
    numbered 1, 2, … each pointing at the one before, every event once and in inbox order."""
    phome, keys = make_platform(tmp_path)
    village = make_station(tmp_path, phome, keys, VILLAGE)
    make_station(tmp_path, phome, keys, TOWNSHIP, "township")
    toml = phome / "platform.toml"
    toml.write_text(re.sub(r"(?m)^inbox_batch_bytes = .*$", "inbox_batch_bytes = 2048", toml.read_text(encoding="utf-8")),
                    encoding="utf-8")  # a few filings per envelope
    with Store.open(village) as store:
        file_cases(store, 30)
        sent = [store.wire_event(e) for e in store.local_events_after(0)]
    w = {"phome": phome, "plat": platform_keys(village).keys, "sent": sent,
         "keys": {VILLAGE: load_or_create(village, VILLAGE),
                  TOWNSHIP: load_or_create(tmp_path / f"township-{TOWNSHIP}", TOWNSHIP)}}
    _ingest_in_batches(w, 7)
    with Platform.open(phome) as platform:
        assert platform.config.inbox_batch_bytes == 2048
        blobs, more = platform.inbox(TOWNSHIP, 0, 1 << 30)
        plat = platform.keys.public
    assert not more and len(blobs) > 5
    batches = [env.open_(blob, w["keys"][TOWNSHIP], {PLATFORM_ID: plat}) for blob in blobs]
    assert [b.seq for b in batches] == list(range(1, len(blobs) + 1))
    assert [b.header.prev_hash for b in batches] == [env.GENESIS_HASH] + [env.batch_hash(x) for x in blobs[:-1]]
    assert [e for b in batches for e in b.events] == [e for e in sent if e.get("case")]


def test_reading_many_padded_bodies_holds_one_at_a_time(tmp_path, platform_store) -> None:
    """A hostile village routes one event per batch and pads each batch with megabytes of events routed
    nowhere (case-less): a township's read of those events opens every body, one at a time, not all at once."""
    import tracemalloc

    from station import events as ev

    phome, keys = make_platform(tmp_path)
    village = make_station(tmp_path, phome, keys, VILLAGE)
    make_station(tmp_path, phome, keys, TOWNSHIP, "township")
    with Store.open(village) as store:
        number = file_cases(store, 1)[0]
        sent = [store.wire_event(e) for e in store.local_events_after(0)]
    vkeys, plat = load_or_create(village, VILLAGE), platform_keys(village).keys
    seq, prev, batches, pad = sent[-1]["seq"], env.GENESIS_HASH, 8, 50

    def event(case: str | None, type_: str, body: dict[str, Any]) -> dict[str, Any]:
        nonlocal seq
        seq += 1
        return {"id": f"{VILLAGE}:{seq}", "station": VILLAGE, "seq": seq, "hlc": "0001795628551657-0000",
                "operator": "甲", "case": case, "type": type_, "body": body, "recorded_at": "2026-11-25T10:00:00"}

    with Platform.open(phome) as platform:
        for n in range(1, batches + 2):
            chunk = sent if n == 1 else [event(number, ev.MATERIAL_RECEIVED, {"n": n})] + [
                event(None, "note.added", {"pad": f"{n}-{i}-" + "x" * 60_000}) for i in range(pad)]
            blob = env.seal(chunk, vkeys, plat, n, prev, "0001795628551657-0000")
            outcome = platform.ingest(blob, peer="127.0.0.1")
            assert isinstance(outcome, IngestOutcome) and outcome.events_new == len(chunk), outcome
            prev = env.batch_hash(blob)
        one_body = pad * 60_000
        tracemalloc.start()
        try:
            blobs, _ = platform.inbox(TOWNSHIP, 0, 1 << 30)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    routed = [e for blob in blobs for e in env.open_(blob, load_or_create(tmp_path / f"township-{TOWNSHIP}", TOWNSHIP),
                                                       {PLATFORM_ID: plat}).events]
    assert [e["body"] for e in routed if e["type"] == ev.MATERIAL_RECEIVED] == [{"n": n} for n in range(2, batches + 2)]
    assert peak < 4 * one_body, (peak, one_body)  # all bodies at once: ≥ 2 × batches × one_body
