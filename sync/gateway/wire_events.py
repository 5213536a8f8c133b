"""The shape of a station's wire events, checked (and their personal data sealed) before the platform
looks inside any of them.

A signed batch proves who sent it, not that its events are well formed: an enrolled station's key on
a tampered PC can sign anything. Every event must be the sender's own (``station`` = sender, ``id`` =
``<station>:<seq>``), every field of the type and size the store, the fold and the receiving stations
expect, and the body free of anything a receiver would mistake for its own sealed data. A batch with
one malformed event is refused whole (``bad_payload``): it is not a batch this protocol defines.
Whether a well-formed event is *allowed* is the other question (sync/gateway/authority.py).

Speed matters here (issue 13: this walk was a third of the gateway's CPU). Two ways, one result:

* **the line as sent** (nearly every event): when the event's JSON line has no backslash at all, every
  ``"`` in it delimits a string, so the text can be read safely: no ``"$enc"`` anywhere, every
  ``"$pii"`` is exactly one ``{"$pii":"…"}`` object, and fewer than MAX_DEPTH brackets in all (so no
  deeper nesting). Then the stored text is that line with each ``{"$pii":"…"}`` replaced by its sealed
  form, in one regular-expression pass: the body is not walked and not written again.
* **the walk** (anything else, and events without their line): the event is walked once (its body and
  any other field, as the first way reads the whole line), in place (the
  events are the gateway's own freshly decoded copy), only containers visited, each ``{"$pii": text}``
  sealed where it stands, and the stored text written by orjson in canonical form.

Either way every ``$pii`` is sealed under the platform's data key (what ``PiiCodec.seal_body`` does)
before anything is stored. On the first way the decoded ``event`` keeps its personal data in clear:
it is for judging and folding only; the store gets ``text``.
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
    """One checked event: its decoded fields (to judge and fold, never to store: the body may hold
    personal data in clear) and its stored text (JSON, personal data sealed)."""

    event: dict[str, Any]
    text: str


def stored_json(value: Any) -> str:
    """Canonical JSON (sorted keys, no spaces, UTF-8 kept) written by orjson: the stored form."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")


def check_and_seal(events: list[dict[str, Any]], sender: str, codec: PiiCodec,
                   lines: list[bytes] | None = None) -> tuple[list[WireEvent], str]:
    """The events, each with its stored text (personal data sealed), and '' — or [] and a Chinese
    description of the first event that is malformed or not the sender's own. ``lines``: each event's
    JSON line as received, when the caller has them (the fast way above)."""
    seal = codec.sealer()
    raw_seal = codec.raw_sealer()
    out = []
    seen: set[int] = set()
    for i, e in enumerate(events):
        try:
            _check(e, sender)
            if e["seq"] in seen:  # one id, two events: which would the platform hold, which refuse?
                raise _Malformed("与本批次中前面的事件编号重复")
            seen.add(e["seq"])
            if lines and len(lines[i]) > MAX_EVENT_BYTES:
                raise _Malformed(f"过大（{len(lines[i])} 字节，上限 {MAX_EVENT_BYTES} 字节）")
            text = _sealed_line(lines[i], raw_seal) if lines else None
            if text is not None:
                out.append(WireEvent(e, text))
                continue
            if PII in e or ENC in e:  # an event is not a sealed value, nor a $pii with company
                raise _Malformed("含有个人信息或加密字段（$pii/$enc）作为事件字段")
            # the whole event, as the line way reads the whole line: a $pii outside the body (a field no
            # station writes) is sealed too, and a $enc there refused (every receiver opens whole events)
            _seal_in_place(e, 0, seal)
            stored = stored_json(e)
            if len(stored) > MAX_EVENT_BYTES + MAX_EVENT_BYTES // 2:  # sealing adds ~1/3 to personal data
                raise _Malformed(f"过大（上限 {MAX_EVENT_BYTES} 字节）")
            out.append(WireEvent(e, stored))
        except _Malformed as bad:
            return [], f"第 {i + 1} 条事件{bad}"
        except (TypeError, orjson.JSONEncodeError):  # not representable as canonical JSON
            return [], f"第 {i + 1} 条事件内容无法保存"
    return out, ""


def _sealed_line(line: bytes, raw_seal: Any) -> str | None:
    """The line with its personal data sealed, or None when the line is not plain enough to read as text
    (a backslash anywhere, a ``$enc``, a ``$pii`` not alone in its object, or many brackets)."""
    if b"\\" in line or b'"$enc"' in line or line.count(b"{") + line.count(b"[") > MAX_DEPTH:
        return None
    found = line.count(b'"$pii"')
    if not found:
        return line.decode("utf-8")
    sealed, n = _PII_OBJECT.subn(lambda m: b'{"$enc":"' + raw_seal(m.group(1)) + b'"}', line)
    return sealed.decode("utf-8") if n == found else None


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


def _seal_one(value: dict[str, Any], seal: Any) -> dict[str, str]:
    if ENC in value:
        raise _Malformed("内容含有加密字段（$enc）")
    if len(value) != 1 or type(value[PII]) is not str:
        raise _Malformed("个人信息字段（$pii）格式不对")
    return seal(value[PII])


def _seal_in_place(container: dict[str, Any] | list[Any], depth: int, seal: Any) -> None:
    """Visit the containers under ``container`` (at ``depth``; the event is 0, its body 1): seal each ``{"$pii": text}``
    where it stands, refuse ``$enc`` (only a receiver seals, under its own key) and nesting deeper than
    MAX_DEPTH. Scalars are not visited one by one: a container's values are only type-tested."""
    items = container.items() if type(container) is dict else enumerate(container)
    for key, value in items:
        kind = type(value)
        if kind is dict:
            if PII in value or ENC in value:
                container[key] = _seal_one(value, seal)  # type: ignore[index]  # a value replaced: no resize
                continue
            if depth >= MAX_DEPTH:
                raise _Malformed("内容嵌套过深")
            _seal_in_place(value, depth + 1, seal)
        elif kind is list:
            if depth >= MAX_DEPTH:
                raise _Malformed("内容嵌套过深")
            _seal_in_place(value, depth + 1, seal)
