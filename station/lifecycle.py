"""The case state machine: the one place that says which business step may follow which.

Business status is kept apart from sync status (pending / sent / acknowledged), which the sync
outbox tracks. Illegal transitions are refused with a clear Chinese error.
"""

from __future__ import annotations

from station import events as ev
from forms.problems import Problem, StationError

RECEIVED = "received"
ACCEPTED = "accepted"
NOT_ACCEPTED = "not_accepted"
CORRECTION_REQUESTED = "correction_requested"
SUPPLEMENTED = "supplemented"
APPROVED = "approved"
REJECTED = "rejected"
FORWARDED = "forwarded"
DELIVERED = "delivered"
WITHDRAWN = "withdrawn"

STATUS_LABELS: dict[str, str] = {
    RECEIVED: "村级已收件",
    ACCEPTED: "已受理",
    NOT_ACCEPTED: "不予受理",
    CORRECTION_REQUESTED: "待补正",
    SUPPLEMENTED: "已补正",
    APPROVED: "已办结（准予）",
    REJECTED: "不予批准",
    FORWARDED: "已转报",
    DELIVERED: "结果已送达",
    WITHDRAWN: "已撤回",
}

# What operators type for a status besides the code: the label, and the words they use for it.
STATUS_ALIASES: dict[str, str] = {
    "已收件": RECEIVED, "收件": RECEIVED, "村级收件": RECEIVED, "受理": ACCEPTED, "补正": CORRECTION_REQUESTED,
    "待补正": CORRECTION_REQUESTED, "补正中": CORRECTION_REQUESTED, "已补正": SUPPLEMENTED, "办结": APPROVED,
    "已办结": APPROVED, "准予": APPROVED, "不予批准": REJECTED, "转报": FORWARDED, "送达": DELIVERED,
    "已送达": DELIVERED, "撤回": WITHDRAWN, "不予受理": NOT_ACCEPTED,
}


def parse_status(text: str) -> str:
    """A status code from its code, its Chinese label or a common Chinese name for it."""
    value = (text or "").strip()
    if value in STATUS_LABELS:
        return value
    for code, label in STATUS_LABELS.items():
        if value == label:
            return code
    if value in STATUS_ALIASES:
        return STATUS_ALIASES[value]
    choices = "、".join(f"{label}（{code}）" for code, label in STATUS_LABELS.items())
    raise StationError("bad_status", f"未知状态「{value}」，可选：{choices}",
                       [Problem("status", "unknown", "未知状态")])


ACTION_LABELS: dict[str, str] = {
    ev.CASE_FILED: "收件",
    ev.CASE_ACCEPTED: "受理",
    ev.CASE_NOT_ACCEPTED: "不予受理",
    ev.CASE_CORRECTION_REQUESTED: "要求补正",
    ev.CASE_SUPPLEMENTED: "补正材料",
    ev.CASE_APPROVED: "办结（准予）",
    ev.CASE_REJECTED: "不予批准",
    ev.CASE_FORWARDED: "转报",
    ev.RESULT_DELIVERED: "结果送达",
    ev.CASE_WITHDRAWN: "撤回申请",
    ev.MATERIAL_RECEIVED: "补交容缺材料",
    ev.RATING_GIVEN: "评价",
    ev.NOTICE_PRINTED: "打印",
    ev.DUPLICATE_MARKED: "重复件标记",
    ev.FOLLOWUP_CLOSED: "差评整改",
    "sync.conflict": "同步冲突（已被先到的决定取代）",
    ev.PII_REVEALED: "查看完整个人信息",
}

# A decided case stays open for delivery; these have nothing left to do for the township.
DECIDED = frozenset({APPROVED, REJECTED, NOT_ACCEPTED})
CLOSED = frozenset({DELIVERED, WITHDRAWN, FORWARDED})
# Open = not yet decided. While a correction is requested the clock is stopped (行政许可法: the time
# for 补正 is not counted; the promised date restarts when the materials come), so only the states in
# CLOCK_RUNNING can be near-due or overdue.
OPEN = frozenset({RECEIVED, ACCEPTED, CORRECTION_REQUESTED, SUPPLEMENTED})
CLOCK_RUNNING = frozenset({RECEIVED, ACCEPTED, SUPPLEMENTED})

_REVIEWABLE = {RECEIVED, ACCEPTED, SUPPLEMENTED}
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    ev.CASE_ACCEPTED: (frozenset({RECEIVED, SUPPLEMENTED}), ACCEPTED),
    ev.CASE_NOT_ACCEPTED: (frozenset({RECEIVED, SUPPLEMENTED, CORRECTION_REQUESTED}), NOT_ACCEPTED),
    ev.CASE_CORRECTION_REQUESTED: (frozenset(_REVIEWABLE), CORRECTION_REQUESTED),
    ev.CASE_SUPPLEMENTED: (frozenset({CORRECTION_REQUESTED}), SUPPLEMENTED),
    ev.CASE_APPROVED: (frozenset({ACCEPTED, SUPPLEMENTED, FORWARDED}), APPROVED),
    ev.CASE_REJECTED: (frozenset({ACCEPTED, SUPPLEMENTED, FORWARDED}), REJECTED),
    ev.CASE_FORWARDED: (frozenset({ACCEPTED, SUPPLEMENTED}), FORWARDED),
    ev.RESULT_DELIVERED: (frozenset(DECIDED), DELIVERED),
    ev.CASE_WITHDRAWN: (frozenset(OPEN), WITHDRAWN),
}


def is_transition(event_type: str) -> bool:
    return event_type in TRANSITIONS


def next_status(current: str, event_type: str) -> str:
    """The status after ``event_type``; raises StationError when the step is not allowed now."""
    allowed_from, target = TRANSITIONS[event_type]
    if current not in allowed_from:
        label = STATUS_LABELS.get(current, current)
        action = ACTION_LABELS.get(event_type, event_type)
        allowed = "、".join(STATUS_LABELS[s] for s in sorted(allowed_from, key=list(STATUS_LABELS).index))
        raise StationError(
            "illegal_transition",
            f"办件当前状态为「{label}」，不能执行「{action}」（只有在 {allowed} 状态下才可以）",
            [Problem("status", "illegal_transition", f"当前状态「{label}」不允许「{action}」")],
            status=current, action=event_type)
    return target


def allowed_actions(current: str) -> list[str]:
    return [t for t, (sources, _) in TRANSITIONS.items() if current in sources]
