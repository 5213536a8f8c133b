"""The gateway's two ways of checking a wire event (sync/gateway/wire_events.py) give the same verdict:
the line as sent read as text, or the decoded event walked. Lines the text way cannot read safely
(escapes, a ``$pii`` not alone in its object, a disguised key) go the walk's way; forged sealed values
are refused however they are written; an event kept on its own (held back, refused by authority) is
sealed value by value and never holds personal data in clear."""

from __future__ import annotations

import base64
import json
import random

import orjson
import pytest

from station.pii import PiiCodec
from station.store import Store
from sync.envelope import decode_lines, encode_events
from sync.gateway.testing import file_cases
from sync.gateway.wire_events import _check_sealables, _fast_head, _plain_line, check_events, event_head, sealed_text
from tests.support import VILLAGE

CODEC = PiiCodec(bytes(range(32)))


@pytest.fixture(scope="module")
def wire(tmp_path_factory) -> list[dict]:
    from sync.gateway.testing import make_platform, make_station

    root = tmp_path_factory.mktemp("lines")
    phome, keys = make_platform(root)
    home = make_station(root, phome, keys, VILLAGE)
    with Store.open(home) as store:
        file_cases(store, 40, rng=random.Random(7))
        return [store.wire_event(e) for e in store.local_events_after(0)]


def _plaintexts(value) -> list[str]:
    if isinstance(value, dict):
        if set(value) == {"$pii"}:
            return [value["$pii"]]
        return [p for v in value.values() for p in _plaintexts(v)]
    if isinstance(value, list):
        return [p for v in value for p in _plaintexts(v)]
    return []


def test_real_events_pass_either_way_and_alone_they_are_sealed(wire) -> None:
    decoded, lines = decode_lines(encode_events(wire))
    out, bad = check_events(VILLAGE, lines)
    assert not bad, bad
    assert [w.line for w in out] == list(range(len(wire))) and [w.decoded() for w in out] == decoded
    assert [w.event for w in out] == [event_head(e) for e in decoded]
    assert all(_plain_line(line) for line in lines)  # the text way reads every real line
    assert all(_fast_head(line) is not None for line in lines)  # and the head is read without the body
    filings = [w.event for w in out if w.event["type"] == "case.filed"]
    assert filings and all(set(h["item"]) == {"code", "name", "handling_level"} for h in filings)
    for e in decoded:
        _check_sealables(e, 0)  # and the walk passes them too
    secrets = [p for e in decoded for p in _plaintexts(e["body"])]
    assert len(secrets) > 40  # ID numbers, phones, query passwords
    for e in decoded:
        text = sealed_text(e, CODEC)
        assert CODEC.open_body(json.loads(text)) == e
        for secret in _plaintexts(e["body"]):
            assert secret not in text


HARD = {
    "an escaped quote in a sealed value": {"applicant": {"name": {"$pii": 'a"b\\c'}}},
    "a control character in a sealed value": {"applicant": {"phone": {"$pii": "138\n0000"}}},
    "$pii as a plain string value": {"note": "$pii", "applicant": {"phone": {"$pii": "13800000000"}}},
    "a dollar sign in a text": {"note": "US$5", "applicant": {"phone": {"$pii": "13800000000"}}},
    "a dollar sign in a sealed value": {"applicant": {"name": {"$pii": "a$b"}}},
    "$pii spelt with an escape": "DISGUISED",
    "deep but legal nesting": {"x": {"y": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[{"$pii": "深"}]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}},
}


@pytest.mark.parametrize("name", sorted(HARD))
def test_lines_the_text_way_cannot_read_are_checked_by_the_walk(wire, name: str) -> None:
    event = {**wire[0], "case": None, "type": "note.added"}
    event["body"] = {"applicant": {"id_number": {"$pii": "110105194912310021"}}} if HARD[name] == "DISGUISED" else HARD[name]
    line = orjson.dumps(event, option=orjson.OPT_SORT_KEYS)
    if HARD[name] == "DISGUISED":  # the same JSON value, its key written as \u0024pii
        line = line.replace(b'"$pii"', b'"\\u0024pii"')
    decoded = [orjson.loads(line)]
    assert not _plain_line(line)
    out, bad = check_events(VILLAGE, [line])
    assert not bad, bad
    assert out[0].decoded() == decoded[0] and out[0].event == event_head(decoded[0])
    text = sealed_text(out[0].decoded(), CODEC)
    assert CODEC.open_body(json.loads(text)) == decoded[0]
    for secret in _plaintexts(decoded[0]["body"]):
        assert secret not in text


REFUSED = {
    "$enc from outside": b'"body":{"a":{"$enc":"AAAA"}}',
    "$enc spelt with an escape": b'"body":{"a":{"\\u0024enc":"AAAA"}}',
    "$pii with company": b'"body":{"a":{"$pii":"1","b":2}}',
    "$pii not a string": b'"body":{"a":{"$pii":5}}',
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_forged_sealed_data_is_refused_however_it_is_written(wire, name: str) -> None:
    event = {**wire[0], "case": None, "type": "note.added", "body": {}}
    line = orjson.dumps(event, option=orjson.OPT_SORT_KEYS).replace(b'"body":{}', REFUSED[name])
    out, bad = check_events(VILLAGE, [line])
    assert out == [] and "第 1 条事件" in bad


def test_sealing_many_values_never_repeats_a_nonce_and_every_value_opens() -> None:
    """The gateway's sealer reads nonces from the OS 256 at a time: across blocks, each one is fresh."""
    seal = CODEC.sealer(nonces_per_read=4)  # small blocks: many refills in 1,000 values
    values = [f"4213811962052485{i:02d}" for i in range(100)] * 10
    sealed = [seal(v) for v in values]
    nonces = {base64.b64decode(s["$enc"])[:12] for s in sealed}
    assert len(nonces) == len(values)
    assert [CODEC.open(s) for s in sealed] == values
