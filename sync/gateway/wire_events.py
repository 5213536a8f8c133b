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
  ``"`` in it delimits a string, so the text can be read safely: every ``$`` in it is the key's of
  exactly one ``{"$pii":"…"}`` object (so no ``"$enc"`` anywhere, and no ``$pii`` in any other shape;
  a ``$`` anywhere else sends the line the walk's way), and at most MAX_DEPTH brackets in all (so no
  deeper nesting).
* **the walk** (anything else): the decoded event is walked once, only containers visited, each
  ``$pii``/``$enc`` object checked where it stands.

Events that are not stored with their batch (held back for their filing, refused by authority) are
sealed value by value when they are written (:func:`sealed_text`).

**Reading the line.** The platform needs only an event's head (its top-level fields and three texts
of a filing's item snapshot), not its body, yet must refuse a line any receiver's parser (orjson)
would refuse. A plain line is validated whole by simdjson (syntax, UTF-8, numbers a double can hold,
control characters) without building it, and its head is read by msgspec into a typed struct, a
repeated key by its last value as orjson reads it (simdjson alone would read the first). What either
refuses (a 64-bit overflow, which orjson takes; a body or item snapshot that is not an object) goes
the full way: orjson decodes the line and the verdict is exactly what it would have been. The full
event is decoded again, from the line, only for an event kept on its own (:meth:`WireEvent.decoded`).
"""

from __future__ import annotations

import re
import threading
from typing import Any, NamedTuple

import msgspec
import orjson
import simdjson

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
_NOT_SPECIAL = bytes(b for b in range(256) if b not in b"{[$\\")


HEAD_FIELDS = ("id", "station", "seq", "hlc", "operator", "recorded_at", "type", "case")
ITEM_FIELDS = ("code", "name", "handling_level")  # what the platform's case row keeps of a filing's item


class WireEvent(NamedTuple):
    """One checked event: its head (:func:`event_head`: what the platform judges, folds and routes by),
    its line's place in the batch (the stored body holds the line as sent) and the line itself. (A
    named tuple: one is made per event, and a frozen dataclass's init costs three times as much.)"""

    event: dict[str, Any]
    line: int
    raw: bytes

    def decoded(self) -> dict[str, Any]:
        """The whole event (personal data in clear), decoded from its line: for an event kept on its own."""
        return orjson.loads(self.raw)


def event_head(e: dict[str, Any]) -> dict[str, Any]:
    """The head of a decoded event: its top-level fields but the body (absent ones None), and ``item``:
    the texts among ITEM_FIELDS of the body's item snapshot (a filing's; {} for any other event)."""
    head = {key: e.get(key) for key in HEAD_FIELDS}
    body = e.get("body")
    item = body.get("item") if type(body) is dict else None
    head["item"] = {k: v for k in ITEM_FIELDS if type(v := item.get(k)) is str} if type(item) is dict else {}
    return head


_local = threading.local()  # a simdjson parser serves one thread, one document at a time


class _ItemHead(msgspec.Struct):
    code: Any = None
    name: Any = None
    handling_level: Any = None


class _BodyHead(msgspec.Struct):
    item: "_ItemHead | None" = None


class _Head(msgspec.Struct):
    id: Any = None
    station: Any = None
    seq: Any = None
    hlc: Any = None
    operator: Any = None
    recorded_at: Any = None
    type: Any = None
    case: Any = None
    body: "_BodyHead | None" = None


_HEAD = msgspec.json.Decoder(_Head)


def _fast_head(line: bytes) -> dict[str, Any] | None:
    """The head of a plain line, or None when the line must be read the full way. simdjson validates
    the whole line as orjson would (it refuses more: 64-bit overflow, which the full way then judges);
    msgspec reads only the head, a duplicate key's last value as orjson does. A body or item snapshot
    that is not an object goes the full way."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = simdjson.Parser()
    try:
        parser.parse(line)  # validation only: the document is dropped at once
        h = _HEAD.decode(line)
    except (ValueError, RuntimeError, msgspec.DecodeError):  # UnicodeDecodeError is a ValueError
        return None
    if h.body is None:
        return None
    item, texts = h.body.item, {}
    if item is not None:  # the ITEM_FIELDS that are texts, written out: this runs for every event
        if type(item.code) is str:
            texts["code"] = item.code
        if type(item.name) is str:
            texts["name"] = item.name
        if type(item.handling_level) is str:
            texts["handling_level"] = item.handling_level
    return {"id": h.id, "station": h.station, "seq": h.seq, "hlc": h.hlc, "operator": h.operator,
            "recorded_at": h.recorded_at, "type": h.type, "case": h.case, "item": texts}


def stored_json(value: Any) -> str:
    """Canonical JSON (sorted keys, no spaces, UTF-8 kept) written by orjson: the stored form."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")


def sealed_text(event: dict[str, Any], codec: PiiCodec) -> str:
    """The event as stored on its own (outside its batch's body): canonical JSON, every ``$pii`` sealed.
    Only for a checked event (each ``$pii`` a text alone in its object)."""
    return stored_json(codec.seal_body(event))


def check_events(sender: str, lines: list[bytes]) -> tuple[list[WireEvent], str]:
    """Each event's head, checked, and '' — or [] and a Chinese description of the first event that is
    malformed or not the sender's own. ``lines``: each event's JSON line as received."""
    out = []
    seen: set[int] = set()
    for i, line in enumerate(lines):
        try:
            if len(line) > MAX_EVENT_BYTES:
                raise _Malformed(f"过大（{len(line)} 字节，上限 {MAX_EVENT_BYTES} 字节）")
            plain = _plain_line(line)
            head = (_fast_head(line) if plain else None) or _full_head(line, plain)
            _check(head, sender)
            if head["seq"] in seen:  # one id, two events: which would the platform hold, which refuse?
                raise _Malformed("与本批次中前面的事件编号重复")
            seen.add(head["seq"])
            out.append(WireEvent(head, i, line))
        except _Malformed as bad:
            return [], f"第 {i + 1} 条事件{bad}"
    return out, ""


def _full_head(line: bytes, plain: bool) -> dict[str, Any]:
    """The head of a line decoded whole by orjson, the line checked the walk's way when it is not
    ``plain`` (:func:`_plain_line`)."""
    try:
        e = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise _Malformed("不是有效JSON") from None
    if type(e) is not dict:
        raise _Malformed("不是JSON对象")
    if type(e.get("body")) is not dict:
        raise _Malformed("内容不是JSON对象")
    if not plain:
        if PII in e or ENC in e:  # an event is not a sealed value, nor a $pii with company
            raise _Malformed("含有个人信息或加密字段（$pii/$enc）作为事件字段")
        # the whole event, as the line way reads the whole line: a $pii outside the body (a field no
        # station writes) must have the same shape, and a $enc there is refused (every receiver opens
        # whole events)
        _check_sealables(e, 0)
    return event_head(e)


def _plain_line(line: bytes) -> bool:
    """True when the line as text shows each ``$`` as the key of a ``$pii`` alone in its object with a
    text (so no ``$enc``); False when it is not plain enough to tell (a backslash anywhere, many brackets,
    a ``$`` anywhere else) or it shows otherwise."""
    specials = line.translate(None, _NOT_SPECIAL)  # one pass: only the brackets, $ and backslashes stay
    if b"\\" in specials:
        return False
    dollars = specials.count(b"$")
    if len(specials) - dollars > MAX_DEPTH:
        return False
    # every $ must be the key's of a {"$pii":"…"} object (one each): no "$enc", no "$pii" elsewhere
    return not dollars or len(_PII_OBJECT.findall(line)) == dollars


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
