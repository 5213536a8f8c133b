"""Fuzzing the sync parsers that take outside input: the envelope (`open_`, `peek`, acks), the USB manifest
and the import folder readers on both sides. No crash, no hang: only EnvelopeError / StationError."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from forms.problems import StationError
from station.store import Store
from sync import envelope as env
from sync.gateway.platform import Platform
from sync.keys import load_or_create, platform_keys
from sync.gateway.testing import file_cases, make_platform, make_station
from sync.gateway.usb_import import platform_import
from sync.usb import export, import_
from tests.support import VILLAGE

FUZZ_COUNTER = {"envelope_mutated": 0, "envelope_signed_payload": 0, "ack": 0, "manifest": 0,
                "platform_import_folder": 0, "station_import_folder": 0}
SLOW_S = 2.0  # a single parse taking longer than this counts as a hang

pytestmark = pytest.mark.usefixtures("platform_store")  # every test on both platform stores


@pytest.fixture(scope="module")
def world(tmp_path_factory, platform_store):  # rebuilt for each platform store
    root = tmp_path_factory.mktemp("fuzz-sync")
    phome, keys_file = make_platform(root)
    village = make_station(root, phome, keys_file, VILLAGE)
    with Store.open(village) as store:
        file_cases(store, 3)
    stick = root / "usb"
    with Store.open(village) as store:
        export(store, stick)
    with Platform.open(phome) as platform:
        platform_import(platform, stick)
    station_keys = load_or_create(village, VILLAGE)
    plat_pub = platform_keys(village).keys
    with Platform.open(phome) as platform:
        plat_secret = platform.keys
    blob = next((stick / VILLAGE / "out").glob("*.vse")).read_bytes()
    ack = next((stick / VILLAGE / "acks").glob("*.ack")).read_bytes()
    return {"root": root, "phome": phome, "village": village, "stick": stick, "blob": blob, "ack": ack,
            "station_keys": station_keys, "plat_pub": plat_pub, "plat_secret": plat_secret}


def _timed(fn, *args):
    started = time.monotonic()
    try:
        return fn(*args)
    finally:
        assert time.monotonic() - started < SLOW_S, "parser took too long (hang?)"


mutation = st.one_of(
    st.tuples(st.just("truncate"), st.integers(0, 10_000)),
    st.tuples(st.just("flip"), st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), min_size=1,
                                        max_size=8)),
    st.tuples(st.just("insert"), st.tuples(st.integers(0, 10_000), st.binary(min_size=1, max_size=50))),
    st.tuples(st.just("random"), st.binary(max_size=600)),
    st.tuples(st.just("set_u32"), st.tuples(st.integers(0, 200), st.integers(0, 2**32 - 1))),
)


def _mutate(blob: bytes, m) -> bytes:
    kind, arg = m
    data = bytearray(blob)
    if kind == "truncate":
        return bytes(data[: arg % (len(data) + 1)])
    if kind == "flip":
        for pos, x in arg:
            data[pos % len(data)] ^= x
        return bytes(data)
    if kind == "insert":
        pos, extra = arg
        pos %= len(data) + 1
        return bytes(data[:pos] + extra + data[pos:])
    if kind == "set_u32":
        pos, value = arg
        data[pos % (len(data) - 4): pos % (len(data) - 4) + 4] = value.to_bytes(4, "big")
        return bytes(data)
    return b"VSEB" + arg if arg[:1] == b"\x01" else arg


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(m=mutation)
def test_mutated_envelopes_are_refused_cleanly(world, m) -> None:
    FUZZ_COUNTER["envelope_mutated"] += 1
    blob = _mutate(world["blob"], m)
    senders = {VILLAGE: world["station_keys"].public}
    try:
        batch = _timed(env.open_, blob, world["plat_secret"], senders)
    except env.EnvelopeError as err:
        assert err.reason and err.message
    else:
        assert blob == world["blob"]  # only the untouched envelope opens
        assert batch.hash == env.batch_hash(blob)
    try:
        _timed(env.peek, blob)
    except env.EnvelopeError:
        pass


json_line = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                         lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                         max_leaves=12)
payloads = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda b: zstandard.ZstdCompressor().compress(b), st.binary(max_size=300)),
    st.builds(lambda vs: zstandard.ZstdCompressor().compress("\n".join(json.dumps(v) for v in vs).encode()),
              st.lists(json_line, max_size=5)),
    st.builds(lambda n: zstandard.ZstdCompressor().compress(b"[" * n + b"]" * n), st.integers(1, 200_000)),
    st.builds(lambda n: zstandard.ZstdCompressor(write_content_size=False).compress(b"{}" * n), st.integers(0, 50)),
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=payloads, count=st.integers(0, 6))
def test_a_signed_envelope_with_a_hostile_payload_is_refused_cleanly(world, payload, count) -> None:
    """An enrolled sender (or a stolen key) sends well-signed, well-encrypted garbage."""
    FUZZ_COUNTER["envelope_signed_payload"] += 1
    events = [{}] * count
    blob = env.seal(events, world["station_keys"], world["plat_pub"], 1, env.GENESIS_HASH, "1-0", payload=payload)
    try:
        batch = _timed(env.open_, blob, world["plat_secret"], {VILLAGE: world["station_keys"].public})
    except env.EnvelopeError as err:
        assert err.reason == "bad_payload"
    else:
        assert len(batch.events) == count and all(isinstance(e, dict) for e in batch.events)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(m=mutation)
def test_mutated_acks_are_refused_cleanly(world, m) -> None:
    FUZZ_COUNTER["ack"] += 1
    ack = _mutate(world["ack"], m)
    try:
        _timed(env.verify_ack, ack, world["plat_pub"], VILLAGE, 1, env.batch_hash(world["blob"]))
    except env.EnvelopeError as err:
        assert err.reason == "bad_ack"
    else:
        assert ack == world["ack"]


manifest_values = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda v: json.dumps(v).encode(), json_line),
    st.builds(lambda after, extra: json.dumps({"format": "village-station-usb/1", "station_id": VILLAGE,
                                               "inbox_after": after, **extra}).encode(),
              st.one_of(st.integers(-2**70, 2**70), st.floats(), st.text(max_size=10), st.none(),
                        st.lists(st.integers(), max_size=2)),
              st.dictionaries(st.text(max_size=8), json_line, max_size=3)),
)

file_names = st.one_of(st.sampled_from(["00000001", "99999999999999999999999", "abc", "-1", "0", "²"]),
                       st.text(alphabet="0123456789abc", min_size=1, max_size=25))
file_bodies = st.one_of(st.binary(max_size=200), st.just(b"real"), st.just(b"dir"))


def _write(folder: Path, name: str, body: bytes, world) -> None:
    path = folder / name
    folder.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return
    if body == b"dir":
        path.mkdir()
    elif body == b"real":
        path.write_bytes(world["blob"] if path.suffix == ".vse" else world["ack"])
    else:
        path.write_bytes(body)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(manifest=manifest_values, files=st.lists(st.tuples(file_names, file_bodies), max_size=4))
@example(manifest=json.dumps({"format": "village-station-usb/1", "station_id": VILLAGE, "inbox_after": 2**70}).encode(),
         files=[])
@example(manifest=json.dumps({"format": "village-station-usb/1", "station_id": VILLAGE,
                              "inbox_after": float("inf")}).encode(), files=[])
@example(manifest=json.dumps({"format": "village-station-usb/1", "station_id": VILLAGE, "inbox_after": 0}).encode(),
         files=[("00000001", b"dir"), ("00000002", b"real")])
def test_platform_import_of_a_hostile_folder(world, tmp_path_factory, manifest, files) -> None:
    FUZZ_COUNTER["manifest"] += 1
    FUZZ_COUNTER["platform_import_folder"] += 1
    folder = tmp_path_factory.mktemp("stick")
    own = folder / VILLAGE
    own.mkdir()
    (own / "manifest.json").write_bytes(manifest)
    for name, body in files:
        _write(own / "out", name + ".vse", body, world)
    with Platform.open(world["phome"]) as platform:
        before = platform.store.counts()["events"]
        report = _timed(platform_import, platform, folder)
        assert platform.store.counts()["events"] == before  # nothing new: only known batches or garbage
    entry = report["stations"][0]
    for refused in entry["refused"]:
        assert refused["code"] and refused["message"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(acks=st.lists(st.tuples(file_names, file_bodies), max_size=4),
       inbox=st.lists(st.tuples(file_names, file_bodies), max_size=4))
def test_station_import_of_a_hostile_folder(world, tmp_path_factory, acks, inbox) -> None:
    FUZZ_COUNTER["station_import_folder"] += 1
    folder = tmp_path_factory.mktemp("stick")
    own = folder / VILLAGE
    own.mkdir()
    for name, body in acks:
        _write(own / "acks", name + ".ack", body, world)
    for name, body in inbox:
        _write(own / "in", name + ".vse", body, world)
    with Store.open(world["village"]) as store:
        try:
            result = _timed(import_, store, folder)
        except StationError as err:
            assert err.message
        else:
            assert all(e["message"] for e in result["errors"])


def test_deeply_nested_json_in_a_signed_batch_is_bad_payload(world) -> None:
    payload = zstandard.ZstdCompressor().compress(b"[" * 100_000 + b"]" * 100_000)
    blob = env.seal([{}], world["station_keys"], world["plat_pub"], 1, env.GENESIS_HASH, "1-0", payload=payload)
    with pytest.raises(env.EnvelopeError) as err:
        env.open_(blob, world["plat_secret"], {VILLAGE: world["station_keys"].public})
    assert err.value.reason == "bad_payload"


def test_report_fuzz_counts(platform_store: str | None) -> None:
    """Printed with -s, once per platform store (then counted afresh for the next one), so each line is
    one store's run; docs/reliability.md records the counts per parser."""
    print(json.dumps({"store": "postgres" if platform_store else "sqlite", **FUZZ_COUNTER}))
    FUZZ_COUNTER.update(dict.fromkeys(FUZZ_COUNTER, 0))
