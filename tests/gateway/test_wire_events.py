"""The shape of wire events (sync/gateway/wire_events.py): a signed batch from an enrolled station whose event
would overflow a column, confuse a receiver's sealed data or nest without end is refused whole as
``bad_payload``, recorded, and changes nothing; the station's well-formed batches still land."""

from __future__ import annotations

import pytest

from station.store import Store
from sync import envelope as env
from sync.gateway.platform import Platform, Refused
from sync.gateway.testing import file_cases, make_platform, make_station
from sync.keys import load_or_create, platform_keys
from tests.support import VILLAGE


def _nested(depth: int) -> dict:
    body: dict = {}
    for _ in range(depth):
        body = {"x": body}
    return body


@pytest.fixture(scope="module")
def world(tmp_path_factory, platform_store):  # rebuilt for each platform store
    root = tmp_path_factory.mktemp("wire")
    phome, keys = make_platform(root)
    village = make_station(root, phome, keys, VILLAGE)
    with Store.open(village) as store:
        number = file_cases(store, 1)[0]
        good = next(store.wire_event(e) for e in store.local_events_after(0) if e.case_number == number)
    return {"phome": phome, "keys": load_or_create(village, VILLAGE), "plat": platform_keys(village).keys,
            "good": good}


BAD = {
    "seq 2^64": {"seq": 2**64, "id": f"{VILLAGE}:{2**64}"},
    "seq 0": {"seq": 0, "id": f"{VILLAGE}:0"},
    "seq a boolean": {"seq": True, "id": f"{VILLAGE}:True"},
    "another station's event": {"station": "421381105202", "id": "421381105202:7"},
    "hlc not a stamp": {"hlc": "tomorrow"},
    "type not a name": {"type": "Case Filed!"},
    "case number too long": {"case": "4" * 40},
    "operator too long": {"operator": "王" * 500},
    "body a list": {"body": [1, 2]},
    "a sealed value from outside": {"body": {"applicant": {"id_number": {"$enc": "AAAA"}}}},
    "pii not a string": {"body": {"applicant": {"id_number": {"$pii": 42}}}},
    "pii with company": {"body": {"x": {"$pii": "1", "y": 2}}},
    "nested 40 deep": {"body": _nested(40)},
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_malformed_event_refuses_its_batch(world, name: str) -> None:
    event = {**world["good"], "seq": 7, "id": f"{VILLAGE}:7", **BAD[name]}
    blob = env.seal([event], world["keys"], world["plat"], 3, bytes(32), "0001795628551657-0000")
    with Platform.open(world["phome"]) as platform:
        before = {k: v for k, v in platform.store.counts().items() if not k.startswith("refusal")}
        with pytest.raises(Refused) as err:
            platform.ingest(blob, peer="127.0.0.1")
        assert err.value.code == "bad_payload" and err.value.status == 422
        assert {k: v for k, v in platform.store.counts().items() if not k.startswith("refusal")} == before


def test_the_same_event_well_formed_lands(world) -> None:
    event = {**world["good"], "seq": 8, "id": f"{VILLAGE}:8", "body": {**world["good"]["body"], "note": _nested(20)}}
    blob = env.seal([event], world["keys"], world["plat"], 5, bytes(32), "0001795628551657-0000")
    with Platform.open(world["phome"]) as platform:
        outcome = platform.ingest(blob, peer="127.0.0.1")
        assert outcome.events_new == 1 and outcome.events_refused == 0


def test_an_allowed_event_its_receiver_cannot_fold_does_not_jam_the_receiver(tmp_path) -> None:
    """The platform checks shapes and authority, not every field of every type: a village may send, on its own
    case, a ``notice.printed`` without its ``kind``. The township it is routed to records it as a
    ``malformed_event`` conflict and goes on; this used to raise KeyError out of every sync, for good."""
    import requests

    from station.audit import check
    from sync.gateway.app import ServerThread
    from sync.service import sync_now
    from tests.support import TOWNSHIP

    phome, keys = make_platform(tmp_path)
    with Platform.open(phome) as platform, ServerThread(platform) as server:
        village = make_station(tmp_path, phome, keys, VILLAGE, url=server.url)
        township = make_station(tmp_path, phome, keys, TOWNSHIP, "township", url=server.url)
        with Store.open(village) as store:
            number = file_cases(store, 1)[0]
            assert sync_now(store).ok
        bad = {"id": f"{VILLAGE}:900000", "station": VILLAGE, "seq": 900000, "hlc": "0001795628551657-0000",
               "operator": "x", "case": number, "type": "notice.printed", "body": {},
               "recorded_at": "2026-11-25T10:00:00"}
        blob = env.seal([bad], load_or_create(village, VILLAGE), platform_keys(village).keys, 5000, bytes(32),
                        "0001795628551657-0000")
        assert requests.post(server.url + "/v1/batches", data=blob, timeout=10).status_code == 200
        with Store.open(village) as store:
            later = file_cases(store, 1)[0]
            assert sync_now(store).ok
        with Store.open(township) as store:
            summary = sync_now(store)
            assert summary.ok, summary.errors
            assert {n for (n,) in store.conn.execute("SELECT number FROM cases")} == {number, later}
            assert store.conn.execute("SELECT reason FROM conflicts WHERE event_id=?", (bad["id"],)).fetchone() == (
                "malformed_event",)
            assert check(store).ok  # a fresh fold of the log gives the same tables
