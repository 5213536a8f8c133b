"""The shape of a station's wire events, checked before the platform looks inside any of them.

A signed batch proves who sent it, not that its events are well formed: an enrolled station's key on
a tampered PC can sign anything. Every event must be the sender's own (``station`` = sender, ``id`` =
``<station>:<seq>``), every field of the type and size the store, the fold and the receiving stations
expect, and the body free of anything a receiver would mistake for its own sealed data. A batch with
one malformed event is refused whole (``bad_payload``): it is not a batch this protocol defines.
Whether a well-formed event is *allowed* is the other question (sync/gateway/authority.py).
"""

from __future__ import annotations

import re
from typing import Any

from sync.envelope import MAX_SEQ

HLC = re.compile(r"\d{16}-\d{4,6}")  # station/hlc.py: 16-digit ms, counter (4 digits, wider only if stuck)
EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]{0,31}(\.[a-z0-9_]{1,32}){0,3}")
MAX_CASE_LEN = 32
MAX_TEXT = 200  # operator names, recorded_at
MAX_DEPTH = 32  # real bodies nest 4 deep; the fold and the sealers recurse
PII, ENC = "$pii", "$enc"


def check_events(events: list[dict[str, Any]], sender: str) -> str:
    """'' when every event is well formed and the sender's own; else a Chinese description of the first
    that is not."""
    for i, e in enumerate(events):
        problem = _problem(e, sender)
        if problem:
            return f"第 {i + 1} 条事件{problem}"
    return ""


def _problem(e: dict[str, Any], sender: str) -> str:
    seq = e.get("seq")
    if type(seq) is not int or not 1 <= seq <= MAX_SEQ:
        return "序号缺失或超出范围"
    if e.get("station") != sender or e.get("id") != f"{sender}:{seq}":
        return "不是发送站自己的事件"
    for key in ("hlc", "type", "operator", "recorded_at"):
        value = e.get(key)
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            return f"字段 {key} 缺失或过长"
    if not HLC.fullmatch(e["hlc"]):
        return "时间戳格式不对"
    if not EVENT_TYPE.fullmatch(e["type"]):
        return "事件类型格式不对"
    case = e.get("case")
    if case is not None and (not isinstance(case, str) or len(case) > MAX_CASE_LEN):
        return "办件编号格式不对"
    body = e.get("body")
    if not isinstance(body, dict):
        return "内容不是JSON对象"
    return _body_problem(body)


def _body_problem(body: dict[str, Any]) -> str:
    """Depth bounded; ``{"$pii": …}`` holds a string; no ``$enc`` (only a receiver seals, under its own key)."""
    stack: list[tuple[Any, int]] = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return "内容嵌套过深"
        if isinstance(value, dict):
            if ENC in value:
                return "内容含有加密字段（$enc）"
            if PII in value and (set(value) != {PII} or not isinstance(value[PII], str)):
                return "个人信息字段（$pii）格式不对"
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return ""
