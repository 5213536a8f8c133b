"""The shape of a station's wire events, checked before the platform looks inside any of them.

A signed batch proves who sent it, not that its events are well formed: an enrolled station's key on
a tampered PC can sign anything. Every event must be the sender's own (``station`` = sender, ``id`` =
``<station>:<seq>``), every field of the type and size the store, the fold and the receiving stations
expect, and the body free of anything a receiver would mistake for its own sealed data. A batch with
one malformed event is refused whole (``bad_payload``): it is not a batch this protocol defines.
Whether a well-formed event is *allowed* is the other question (sync/gateway/authority.py).

The personal data (``{"$pii": text}``) is not sealed here: the batch's payload is stored sealed whole
(sync/gateway/batch_bodies.py). It must still be where and how a receiver expects it, and nothing may
look like a value sealed under the platform's key (``$enc``). Two ways, one verdict:

* **the line as sent** (nearly every event): when the event's JSON line has no backslash at all, every
  ``"`` in it delimits a string, so the text can be read safely: no ``"$enc"`` anywhere, every
  ``"$pii"`` is exactly one ``{"$pii":"…"}`` object, and fewer than MAX_DEPTH brackets in all (so no
  deeper nesting).
* **the walk** (anything else): the decoded event is walked once, only containers visited, each
  ``$pii``/``$enc`` object checked where it stands.

Events that are not stored with their batch (held back for their filing, refused by authority) are
sealed value by value when they are written (:func:`sealed_text`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from station.pii import PiiCodec
from sync.envelope import MAX_SEQ

HLC = re.compile(r"[0-9]{16}-[0-9]{4,6}")  # station/hlc.py: 16-digit ms, counter (4 digits, wider only if stuck)
EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]{0,31}(\.[a-z0-9_]{1,32}){0,3}")
MAX_CASE_LEN = 32
MAX_TEXT = 200  # operator names, recorded_at
MAX_DEPTH = 32  # real bodies nest 4 deep; the fold and the sealers recurse
# One event as stored: the largest a station writes is a filing with its item snapshot (~2.3 KB); a
# bound keeps one upload from storing ~32 MB (the decompression bound) of padding that every receiver
# of the case would then pull, alone in an envelope past the pull size.
MAX_EVENT_BYTES = 64 * 1024
PII, ENC = "$pii", "$enc"
_TEXT_FIELDS = ("hlc", "type", "operator", "recorded_at")


class _Malformed(Exception):
    pass


_PII_OBJECT = re.compile(rb'\{"\$pii":"([^"]*)"\}')  # only ever run over lines without a backslash


@dataclass(frozen=True)
class WireEvent:
    """One checked event: its decoded fields (personal data in clear: to judge and fold, never to store
    as such) and its line's place in the batch (the stored body holds the line as sent)."""

    event: dict[str, Any]
    line: int


def stored_json(value: Any) -> str:
    """Canonical JSON (sorted keys, no spaces, UTF-8 kept) written by orjson: the stored form."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")


def sealed_text(event: dict[str, Any], codec: PiiCodec) -> str:
    """The event as stored on its own (outside its batch's body): canonical JSON, every ``$pii`` sealed.
    Only for a checked event (each ``$pii`` a text alone in its object)."""
    return stored_json(codec.seal_body(event))


def check_events(events: list[dict[str, Any]], sender: str, lines: list[bytes]) -> tuple[list[WireEvent], str]:
    """The events, checked, and '' — or [] and a Chinese description of the first event that is
    malformed or not the sender's own. ``lines``: each event's JSON line as received."""
    out = []
    seen: set[int] = set()
    for i, e in enumerate(events):
        try:
            _check(e, sender)
            if e["seq"] in seen:  # one id, two events: which would the platform hold, which refuse?
                raise _Malformed("与本批次中前面的事件编号重复")
            seen.add(e["seq"])
            line = lines[i]
            if len(line) > MAX_EVENT_BYTES:
                raise _Malformed(f"过大（{len(line)} 字节，上限 {MAX_EVENT_BYTES} 字节）")
            if not _plain_line(line):
                if PII in e or ENC in e:  # an event is not a sealed value, nor a $pii with company
                    raise _Malformed("含有个人信息或加密字段（$pii/$enc）作为事件字段")
                # the whole event, as the line way reads the whole line: a $pii outside the body (a field
                # no station writes) must have the same shape, and a $enc there is refused (every
                # receiver opens whole events)
                _check_sealables(e, 0)
            out.append(WireEvent(e, i))
        except _Malformed as bad:
            return [], f"第 {i + 1} 条事件{bad}"
    return out, ""


def _plain_line(line: bytes) -> bool:
    """True when the line as text shows no ``$enc`` and each ``$pii`` alone in its object with a text; False
    when it is not plain enough to tell (a backslash anywhere, or many brackets) or it shows otherwise."""
    if b"\\" in line or b'"$enc"' in line or line.count(b"{") + line.count(b"[") > MAX_DEPTH:
        return False
    found = line.count(b'"$pii"')
    return not found or len(_PII_OBJECT.findall(line)) == found


def _check(e: dict[str, Any], sender: str) -> None:
    seq = e.get("seq")
    if type(seq) is not int or not 1 <= seq <= MAX_SEQ:
        raise _Malformed("序号缺失或超出范围")
    if e.get("station") != sender or e.get("id") != f"{sender}:{seq}":
        raise _Malformed("不是发送站自己的事件")
    for key in _TEXT_FIELDS:
        value = e.get(key)
        if type(value) is not str or len(value) > MAX_TEXT:
            raise _Malformed(f"字段 {key} 缺失或过长")
    if not HLC.fullmatch(e["hlc"]):
        raise _Malformed("时间戳格式不对")
    if not EVENT_TYPE.fullmatch(e["type"]):
        raise _Malformed("事件类型格式不对")
    case = e.get("case")
    if case is not None and (type(case) is not str or len(case) > MAX_CASE_LEN or not case.isprintable()):
        raise _Malformed("办件编号格式不对")
    if type(e.get("body")) is not dict:
        raise _Malformed("内容不是JSON对象")


def _check_one(value: dict[str, Any]) -> None:
    if ENC in value:
        raise _Malformed("内容含有加密字段（$enc）")
    if len(value) != 1 or type(value[PII]) is not str:
        raise _Malformed("个人信息字段（$pii）格式不对")


def _check_sealables(container: dict[str, Any] | list[Any], depth: int) -> None:
    """Visit the containers under ``container`` (at ``depth``; the event is 0, its body 1): each ``{"$pii":
    text}`` must be alone with a text, ``$enc`` is refused (only a receiver seals, under its own key), and
    nesting deeper than MAX_DEPTH too. Scalars are not visited one by one: only type-tested."""
    items = container.items() if type(container) is dict else enumerate(container)
    for _, value in items:
        kind = type(value)
        if kind is dict:
            if PII in value or ENC in value:
                _check_one(value)
                continue
            if depth >= MAX_DEPTH:
                raise _Malformed("内容嵌套过深")
            _check_sealables(value, depth + 1)
        elif kind is list:
            if depth >= MAX_DEPTH:
                raise _Malformed("内容嵌套过深")
            _check_sealables(value, depth + 1)
