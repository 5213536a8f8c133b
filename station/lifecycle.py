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
POSTING = "posting"
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
    POSTING: "公示中",
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
    "已送达": DELIVERED, "撤回": WITHDRAWN, "不予受理": NOT_ACCEPTED, "公示": POSTING, "公示期": POSTING,
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
    ev.CASE_POSTING_STARTED: "开始公示",
    ev.CASE_HANDED_OVER: "移交乡镇",
    ev.RATING_REVISITED: "回访",
    ev.RESULT_DELIVERED: "结果送达",
    ev.CASE_WITHDRAWN: "撤回申请",
    ev.MATERIAL_RECEIVED: "补交容缺材料",
    ev.RATING_GIVEN: "评价",
    ev.NOTICE_PRINTED: "打印",
    ev.NOTICE_RECALLED: "作废文书已收回",
    ev.DUPLICATE_MARKED: "重复件标记",
    ev.FOLLOWUP_CLOSED: "差评整改",
    "sync.conflict": "同步冲突（已被先到的决定取代）",
    ev.PII_REVEALED: "查看完整个人信息",
}

# A decided case stays open for delivery; these have nothing left to do for the township.
DECIDED = frozenset({APPROVED, REJECTED, NOT_ACCEPTED})
CLOSED = frozenset({DELIVERED, WITHDRAWN})
# Open = not yet decided. A forwarded case (转报) stays open: the county decides and the result comes
# back through sync, and the promise to the citizen still stands, so it can be overdue.
# While a correction is requested the clock is stopped (行政许可法 §32: the time for 补正 is not
# counted); the supplement resumes it with the working days already used, never from zero. 公示 has a
# fixed length: its working days are added to the due date when it starts, so the clock never stops
# open-ended. Only the states in CLOCK_RUNNING can be near-due or overdue.
OPEN = frozenset({RECEIVED, ACCEPTED, CORRECTION_REQUESTED, SUPPLEMENTED, POSTING, FORWARDED})
CLOCK_RUNNING = frozenset({RECEIVED, ACCEPTED, SUPPLEMENTED, POSTING, FORWARDED})

# The 补正期限 (station/review.py sets it; the fold in station/projections.py honours it).
CORRECTION_WORKING_DAYS = 10  # default time given to bring corrected materials
# The latest 补正期限 allowed, in working days after the request (about six weeks): three times the
# default, room for a certificate from another county or a holiday week. It must be bounded because
# the clock stops while the correction is awaited and the case is in no overdue figure until the
# 补正期限 passes: a 补正期限 of 2099-12-31 would hide the case from every figure for good.
MAX_CORRECTION_WORKING_DAYS = 30

_REVIEWABLE = {RECEIVED, ACCEPTED, SUPPLEMENTED}
_DECIDABLE = frozenset({ACCEPTED, SUPPLEMENTED, FORWARDED, POSTING})
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    ev.CASE_ACCEPTED: (frozenset({RECEIVED, SUPPLEMENTED}), ACCEPTED),
    ev.CASE_NOT_ACCEPTED: (frozenset({RECEIVED, SUPPLEMENTED, CORRECTION_REQUESTED}), NOT_ACCEPTED),
    ev.CASE_CORRECTION_REQUESTED: (frozenset(_REVIEWABLE), CORRECTION_REQUESTED),
    ev.CASE_SUPPLEMENTED: (frozenset({CORRECTION_REQUESTED}), SUPPLEMENTED),
    ev.CASE_POSTING_STARTED: (frozenset({ACCEPTED, SUPPLEMENTED}), POSTING),
    ev.CASE_APPROVED: (_DECIDABLE, APPROVED),
    ev.CASE_REJECTED: (_DECIDABLE, REJECTED),
    ev.CASE_FORWARDED: (frozenset({ACCEPTED, SUPPLEMENTED, POSTING}), FORWARDED),
    ev.RESULT_DELIVERED: (frozenset(DECIDED), DELIVERED),
    ev.CASE_WITHDRAWN: (frozenset(OPEN), WITHDRAWN),
}

#: 行政许可法 §32: the applicant is told what to correct within five days of receipt (§82: working
#: days), or the application counts as accepted from receipt.
CORRECTION_WINDOW_WORKING_DAYS = 5


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


def check_correction(corrections: int, window_passed: bool, is_admin: bool, reason: str) -> None:
    """补正 once: one request listing every material, within five working days of receipt. A second
    request, or one after the window, only by an administrator with a recorded reason."""
    if corrections == 0 and not window_passed:
        return
    why = ("已要求过一次补正（一次性告知：不再要求补充其他材料）" if corrections
           else "收件已超过5个工作日，依法视为受理（行政许可法第三十二条），不能再要求补正")
    if not is_admin:
        raise StationError("correction_not_allowed", f"{why}。确需再次补正的，须由管理员写明理由后办理",
                           [Problem("action", "correction_not_allowed", why)])
    if not reason.strip():
        raise StationError("exception_reason_required", f"{why}。管理员再次要求补正须写明例外理由",
                           [Problem("exception_reason", "required", "请写明例外理由")])


def check_decision(event_type: str, posting_days: int, posting_end: str | None, today: str) -> None:
    """An item with 公示 is decided only after its posting ended (the days are counted by the clock)."""
    if event_type != ev.CASE_APPROVED or posting_days <= 0:
        return
    if posting_end is None:
        raise StationError("posting_required", f"该事项须公示{posting_days}天后才能作出决定，请先开始公示",
                           [Problem("action", "posting_required", "尚未公示")])
    if today <= posting_end:
        raise StationError("posting_not_finished", f"公示期到{posting_end}才结束，公示期满后才能作出决定",
                           [Problem("action", "posting_not_finished", f"公示至{posting_end}")])


def allowed_actions(current: str) -> list[str]:
    return [t for t, (sources, _) in TRANSITIONS.items() if current in sources]
