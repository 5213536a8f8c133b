"""The gateway reads an event's head without decoding its body (sync/gateway/wire_events.py: simdjson
validates the line, msgspec reads the head). Whatever it reads that way must be exactly what orjson —
every receiver's parser — reads: a line orjson refuses is never accepted, a duplicate key counts by its
last value, and anything the fast way cannot vouch for goes the full way with the full way's verdict."""

from __future__ import annotations

import random

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.store import Store
from sync.envelope import encode_events, payload_lines
from sync.gateway.testing import file_cases
from sync.gateway.wire_events import _fast_head, check_events, event_head
from tests.support import VILLAGE


@pytest.fixture(scope="module")
def filing_line(tmp_path_factory) -> bytes:
    """A real filing's wire line, as a station sends it."""
    from sync.gateway.testing import make_platform, make_station

    root = tmp_path_factory.mktemp("heads")
    phome, keys = make_platform(root)
    home = make_station(root, phome, keys, VILLAGE)
    with Store.open(home) as store:
        file_cases(store, 3, rng=random.Random(3))
        events = [store.wire_event(e) for e in store.local_events_after(0)]
    lines = payload_lines(encode_events(events))
    return next(line for line in lines if b'"case.filed"' in line)


def _orjson_head(line: bytes) -> dict | None:
    """What a receiver reads: the head of the line as orjson decodes it, or None when orjson refuses it
    or it is not an event with an object for a body."""
    try:
        e = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return event_head(e) if type(e) is dict and type(e.get("body")) is dict else None


def _agrees(line: bytes) -> None:
    fast = _fast_head(line)
    if fast is not None:  # the fast way vouches for this line: orjson must read it, and read the same head
        assert _orjson_head(line) == fast, line
    out, bad = check_events(VILLAGE, [line])
    expected = _orjson_head(line)
    if expected is None:
        assert bad and out == [], line  # refused, whichever way read it
    elif not bad:
        assert out[0].event == expected and out[0].decoded() == orjson.loads(line)


def _replace_first(line: bytes, old: bytes, new: bytes) -> bytes:
    assert old in line
    return line.replace(old, new, 1)


HOSTILE = {
    # simdjson would read the first of two keys, orjson (and msgspec) the last
    "a second case number": lambda l: l[:-1] + b',"case":"' + VILLAGE.encode() + b'-261207-9999-0"}',
    "a second body": lambda l: l[:-1] + b',"body":{"item":{"code":"X","name":"Y","handling_level":"village"}}}',
    "a second item code": lambda l: _replace_first(l, b'"item":{', b'"item":{"code":"FIRST",'),
    "a second type": lambda l: l[:-1] + b',"type":"case.approved"}',
    # what orjson refuses and a skipping parser would let through
    "a number past a double": lambda l: _replace_first(l, b'"body":{', b'"body":{"x":1e999,'),
    "a long number past a double": lambda l: _replace_first(l, b'"body":{', b'"body":{"x":' + b'9' * 400 + b'.5,'),
    "invalid UTF-8 in the body": lambda l: _replace_first(l, b'"body":{', b'"body":{"x":"\xff\xfe",'),
    "a UTF-8 surrogate in the body": lambda l: _replace_first(l, b'"body":{', b'"body":{"x":"\xed\xa0\x80",'),
    "a control character in the body": lambda l: _replace_first(l, b'"body":{', b'"body":{"x":"a\x01b",'),
    "a byte-order mark": lambda l: b"\xef\xbb\xbf" + l,
    "trailing content": lambda l: l + b" {}",
    "NaN": lambda l: _replace_first(l, b'"body":{', b'"body":{"x":NaN,'),
    # what orjson reads and the fast way cannot vouch for: the full way decides
    "a 64-bit overflow in the body": lambda l: _replace_first(l, b'"body":{', b'"body":{"x":123456789012345678901234567890,'),
    "a body that is not an object": lambda l: l[:-1] + b',"body":[1,2]}',
    "a null body": lambda l: l[:-1] + b',"body":null}',
    "an item that is a list": lambda l: l[:-1] + b',"body":{"item":[1]}}',
    "an item code that is not text": lambda l: _replace_first(l, b'"item":{', b'"item":{"code":{"a":[1]},'),
    "a case number that is an object": lambda l: l[:-1] + b',"case":{"x":1}}',
    "a sequence number that is a float": lambda l: l[:-1] + b',"seq":1.0}',
    "a tiny number": lambda l: _replace_first(l, b'"body":{', b'"body":{"x":1e-400,'),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_line_is_read_as_orjson_reads_it(filing_line: bytes, name: str) -> None:
    _agrees(HOSTILE[name](filing_line))


def test_duplicate_keys_count_by_their_last_value(filing_line: bytes) -> None:
    line = HOSTILE["a second body"](filing_line)
    out, bad = check_events(VILLAGE, [line])
    assert not bad and out[0].event["item"] == {"code": "X", "name": "Y", "handling_level": "village"}
    line = HOSTILE["a second case number"](filing_line)
    out, bad = check_events(VILLAGE, [line])
    assert not bad and out[0].event["case"] == f"{VILLAGE}-261207-9999-0"


def test_what_orjson_refuses_is_refused(filing_line: bytes) -> None:
    for name in ("a number past a double", "invalid UTF-8 in the body", "a control character in the body",
                 "a UTF-8 surrogate in the body", "trailing content", "NaN"):
        out, bad = check_events(VILLAGE, [HOSTILE[name](filing_line)])
        assert out == [] and "第 1 条事件不是有效JSON" in bad, name


BYTES = st.sampled_from([b'"', b"\\", b"{", b"}", b"[", b"]", b",", b":", b"e", b"E", b"1", b"-", b".", b"0",
                         b" ", b"\xff", b"\xed", b"\x00", b"\x01", b"\x7f", b"n", b"u", b"$"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.booleans(), BYTES), min_size=1, max_size=4))
def test_mutated_lines_are_read_as_orjson_reads_them(filing_line: bytes, edits) -> None:
    """Bytes replaced or inserted anywhere in a real filing: the fast way never accepts what orjson
    refuses, and what it accepts it reads as orjson does."""
    line = filing_line
    for where, insert, byte in edits:
        i = int(where * len(line))
        line = line[:i] + byte + line[i + (0 if insert else 1):]
    _agrees(line)
