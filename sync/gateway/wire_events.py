"""The shape of a station's wire events, checked (and their personal data sealed) before the platform
looks inside any of them.

A signed batch proves who sent it, not that its events are well formed: an enrolled station's key on
a tampered PC can sign anything. Every event must be the sender's own (``station`` = sender, ``id`` =
``<station>:<seq>``), every field of the type and size the store, the fold and the receiving stations
expect, and the body free of anything a receiver would mistake for its own sealed data. A batch with
one malformed event is refused whole (``bad_payload``): it is not a batch this protocol defines.
Whether a well-formed event is *allowed* is the other question (sync/gateway/authority.py).

The body is walked once: checked and, in the same pass, every ``{"$pii": text}`` sealed under the
platform's data key (what ``PiiCodec.seal_body`` does), so the check costs no second walk.
"""

from __future__ import annotations

import re
from typing import Any

from station.pii import PiiCodec
from sync.envelope import MAX_SEQ

HLC = re.compile(r"\d{16}-\d{4,6}")  # station/hlc.py: 16-digit ms, counter (4 digits, wider only if stuck)
EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]{0,31}(\.[a-z0-9_]{1,32}){0,3}")
MAX_CASE_LEN = 32
MAX_TEXT = 200  # operator names, recorded_at
MAX_DEPTH = 32  # real bodies nest 4 deep; the fold and the sealers recurse
PII, ENC = "$pii", "$enc"


class _Malformed(Exception):
    pass


def check_and_seal(events: list[dict[str, Any]], sender: str, codec: PiiCodec) -> tuple[list[dict[str, Any]], str]:
    """The events with personal data sealed, and '' — or [] and a Chinese description of the first event
    that is malformed or not the sender's own."""
    out = []
    for i, e in enumerate(events):
        try:
            _check(e, sender)
            out.append({**e, "body": _sealed(e["body"], 1, codec)})
        except _Malformed as bad:
            return [], f"第 {i + 1} 条事件{bad}"
    return out, ""


def _check(e: dict[str, Any], sender: str) -> None:
    seq = e.get("seq")
    if type(seq) is not int or not 1 <= seq <= MAX_SEQ:
        raise _Malformed("序号缺失或超出范围")
    if e.get("station") != sender or e.get("id") != f"{sender}:{seq}":
        raise _Malformed("不是发送站自己的事件")
    for key in ("hlc", "type", "operator", "recorded_at"):
        value = e.get(key)
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise _Malformed(f"字段 {key} 缺失或过长")
    if not HLC.fullmatch(e["hlc"]):
        raise _Malformed("时间戳格式不对")
    if not EVENT_TYPE.fullmatch(e["type"]):
        raise _Malformed("事件类型格式不对")
    case = e.get("case")
    if case is not None and (not isinstance(case, str) or len(case) > MAX_CASE_LEN):
        raise _Malformed("办件编号格式不对")
    if not isinstance(e.get("body"), dict):
        raise _Malformed("内容不是JSON对象")


def _sealed(value: Any, depth: int, codec: PiiCodec) -> Any:
    """Depth bounded; ``{"$pii": text}`` sealed; no ``$enc`` (only a receiver seals, under its own key)."""
    if isinstance(value, dict):
        if depth > MAX_DEPTH:
            raise _Malformed("内容嵌套过深")
        if PII in value:
            if len(value) != 1 or not isinstance(value[PII], str):
                raise _Malformed("个人信息字段（$pii）格式不对")
            return codec.seal(value[PII])
        if ENC in value:
            raise _Malformed("内容含有加密字段（$enc）")
        return {k: _sealed(v, depth + 1, codec) for k, v in value.items()}
    if isinstance(value, list):
        if depth > MAX_DEPTH:
            raise _Malformed("内容嵌套过深")
        return [_sealed(v, depth + 1, codec) for v in value]
    return value
