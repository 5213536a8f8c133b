"""Every numeric header field over its full range: through ``peek``, ``Platform.ingest``, HTTP and
``station platform import``. A value outside the documented range is ``bad_format``; nothing answers
500, prints a traceback or changes the platform's state, and genuine batches beside it still land."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from station.cli import main
from station.store import Store
from sync import envelope as env
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform, Refused
from sync.gateway.testing import file_cases, make_platform, make_station
from sync.keys import load_or_create, platform_keys
from sync.usb import export
from tests.support import VILLAGE
from tests.support.envelopes import Fields, craft, in_range

U8, U32, U64 = 2**8 - 1, 2**32 - 1, 2**64 - 1


def _edges(low: int, high: int, width: int) -> st.SearchStrategy[int]:
    """The boundaries of a field (and of its slot), then anything its slot can hold."""
    values = sorted({0, 1, max(0, low - 1), low, high, min(width, high + 1), width})
    return st.one_of(st.sampled_from(values), st.integers(0, width))


fields = st.builds(
    Fields,
    version=st.one_of(st.just(env.VERSION), st.integers(0, U8)),
    suite=st.one_of(st.just(env.SUITE_X25519_AES256GCM_ED25519), st.integers(0, U8)),
    seq=_edges(1, env.MAX_SEQ, U64),
    count=st.one_of(st.none(), _edges(0, env.MAX_EVENTS, U32)),
    stamp_ms=_edges(0, env.MAX_STAMP_MS, U64),
    stamp_counter=_edges(0, env.MAX_STAMP_COUNTER, U32),
    ct_len=st.one_of(st.none(), _edges(env.ENC_LEN + env.TAG_LEN, env.MAX_CT_LEN, U32)),
)


def _world(root: Path) -> dict:
    phome, keys_file = make_platform(root)
    village = make_station(root, phome, keys_file, VILLAGE)
    with Store.open(village) as store:
        file_cases(store, 2)
        events = [store.wire_event(e) for e in store.local_events_after(0)]
    return {"root": root, "phome": phome, "village": village, "events": events,
            "keys": load_or_create(village, VILLAGE), "platform_keys": platform_keys(village).keys}


@pytest.fixture(scope="module")
def world(tmp_path_factory, platform_store):  # rebuilt for each platform store
    """A platform and an enrolled village with two cases (the ingest tests may accept sane crafted batches)."""
    return _world(tmp_path_factory.mktemp("ranges"))


def _state(platform: Platform) -> tuple:
    """Everything but the refusal log (which a refusal is meant to grow)."""
    counts = {k: v for k, v in platform.store.counts().items() if not k.startswith("refusal")}
    inbox = platform.store.conn.execute("SELECT station, idx, event_id FROM inbox ORDER BY station, idx").fetchall()  # type: ignore[attr-defined]
    return counts, platform.store.cases(), inbox  # type: ignore[attr-defined]


def _known(f: Fields) -> bool:
    return f.version == env.VERSION and f.suite == env.SUITE_X25519_AES256GCM_ED25519


def _head(f: Fields) -> int:
    return 4 + 2 + 1 + len(VILLAGE) + 1 + len("platform") + 8 + 32 + struct.calcsize(">IQII")


def test_each_field_boundary_in_peek() -> None:
    keys, plat = env.SecretKeys.generate(VILLAGE), env.SecretKeys.generate("platform")
    good = Fields()
    env.peek(craft(keys, plat.public, [], good))  # the honest header passes
    for name, documented, low, high in (("seq", "batch_seq", 1, env.MAX_SEQ), ("count", "event_count", 0, env.MAX_EVENTS),
                                        ("stamp_ms", "stamp_ms", 0, env.MAX_STAMP_MS),
                                        ("stamp_counter", "stamp_counter", 0, env.MAX_STAMP_COUNTER)):
        for value, ok in ((low, True), (high, True), (high + 1, False)) + (((low - 1, False),) if low else ()):
            blob = craft(keys, plat.public, [], Fields(**{**good.__dict__, name: value}))
            if ok:
                env.peek(blob)
            else:
                with pytest.raises(env.EnvelopeError) as err:
                    env.peek(blob)
                assert err.value.reason == "bad_format" and documented in err.value.message
    # ct_len: a header claiming more ciphertext than the format allows is refused before its length is read
    head = craft(keys, plat.public, [], Fields(ct_len=env.MAX_CT_LEN + 1))
    with pytest.raises(env.EnvelopeError, match="ct_len"):
        env.peek(head)


def test_seal_never_writes_a_header_out_of_range() -> None:
    keys, plat = env.SecretKeys.generate(VILLAGE), env.SecretKeys.generate("platform")
    for seq, stamp in ((env.MAX_SEQ + 1, "1-0"), (1, f"{env.MAX_STAMP_MS + 1}-0"), (1, "1-1000000")):
        with pytest.raises(env.EnvelopeError) as err:
            env.seal([], keys, plat.public, seq, env.GENESIS_HASH, stamp)
        assert err.value.reason == "bad_format"


def test_sequence_2_63_signed_by_an_enrolled_station_is_bad_format_everywhere(world, tmp_path: Path) -> None:
    """Issue 11, hole 1: this reached SQLite before the signature (OverflowError, a 500, a traceback)."""
    blob = craft(world["keys"], world["platform_keys"], world["events"], Fields(seq=2**63))
    with Platform.open(world["phome"]) as platform:
        before = _state(platform)
        with pytest.raises(Refused) as err:
            platform.ingest(blob, peer="127.0.0.1")
        assert err.value.code == "bad_format" and err.value.status == 400
        assert _state(platform) == before
        with ServerThread(platform) as server:
            resp = requests.post(server.url + "/v1/batches", data=blob, timeout=10)
            assert resp.status_code == 400 and resp.json()["error"]["code"] == "bad_format"
            assert "Traceback" not in resp.text
            assert requests.get(server.url + "/v1/health", timeout=5).status_code == 200
        assert _state(platform) == before


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(f=fields)
@example(f=Fields(seq=2**63))
@example(f=Fields(seq=env.MAX_SEQ))  # the last number there is: its successor must not be looked up
@example(f=Fields(seq=U64))
@example(f=Fields(seq=0))
@example(f=Fields(count=U32))
@example(f=Fields(stamp_ms=U64))
@example(f=Fields(stamp_counter=U32))
def test_any_header_through_ingest_is_refused_cleanly_or_in_range(world, f: Fields) -> None:
    """Signed with the enrolled station's own key, so only the header's values decide."""
    blob = craft(world["keys"], world["platform_keys"], world["events"], f)
    with Platform.open(world["phome"]) as platform:
        before = _state(platform)
        refusals = platform.store.counts()["refusals"]
        try:
            outcome = platform.ingest(blob, peer="127.0.0.9")
        except Refused as err:
            assert err.status in (400, 403, 409, 413, 422)
            assert _state(platform) == before
            platform.refusals.flush()
            assert platform.store.counts()["refusals"] == refusals + 1  # recorded, and the next one proceeds
            if not in_range(f, len(world["events"])) and _known(f):
                assert err.code == "bad_format", (f, err.code)
        else:  # only a sane header lands
            assert in_range(f, len(world["events"])) and _known(f) and f.ct_len in (None, len(blob) - 64 - _head(f))
            assert outcome.ack


@pytest.fixture(scope="module")
def server(world):
    with Platform.open(world["phome"]) as platform, ServerThread(platform) as running:
        yield running.url


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(f=fields)
@example(f=Fields(seq=2**63))
def test_any_header_over_http_is_a_clean_answer(world, server, f: Fields) -> None:
    blob = craft(world["keys"], world["platform_keys"], world["events"], f)
    resp = requests.post(server + "/v1/batches", data=blob, timeout=10)
    assert resp.status_code < 500 and "Traceback" not in resp.text
    if resp.status_code != 200:
        assert isinstance(resp.json()["error"]["code"], str)
    else:
        assert in_range(f, len(world["events"]))


@pytest.fixture(scope="module")
def usb_world(tmp_path_factory, platform_store):
    return _world(tmp_path_factory.mktemp("ranges-usb"))


@pytest.fixture(scope="module")
def stick(usb_world):
    """A stick with the station's genuine batches, imported once (later imports see duplicates)."""
    world = usb_world
    folder = world["root"] / "stick"
    with Store.open(world["village"]) as store:
        export(store, folder)
    with Platform.open(world["phome"]) as platform:
        from sync.gateway.usb_import import platform_import

        assert platform_import(platform, folder)["ok"]
    return folder


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(f=fields)
@example(f=Fields(seq=2**63))
@example(f=Fields(count=U32, seq=U64))
def test_any_header_through_station_platform_import(usb_world, stick, f: Fields) -> None:
    """A hostile file beside the genuine ones: refused with a code, exit status 2, no traceback, the
    genuine batches still acknowledged, nothing else changed. The hostile header is signed with a key
    that is not enrolled, so nothing in it can land whatever its values."""
    world = usb_world
    stranger = env.SecretKeys.generate(VILLAGE)
    out = stick / VILLAGE / "out"
    hostile = out / "99999999.vse"
    hostile.write_bytes(craft(stranger, world["platform_keys"], world["events"], f))
    try:
        with Platform.open(world["phome"]) as platform:
            before = _state(platform)
        result = CliRunner().invoke(main, ["platform", "import", "--home", str(world["phome"]), "--from", str(stick),
                                           "--json"])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
        report = json.loads(result.output)
        entry = report["stations"][0]
        assert [r["file"] for r in entry["refused"]] == ["99999999.vse"] and not report["ok"]
        assert entry["refused"][0]["code"] in ("bad_format", "unknown_version", "unknown_suite", "bad_signature")
        assert entry["duplicates"] == len(list(out.glob("0*.vse")))  # every genuine batch: acknowledged again
        with Platform.open(world["phome"]) as platform:
            assert _state(platform) == before
    finally:
        hostile.unlink()
