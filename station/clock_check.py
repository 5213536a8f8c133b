"""Is this PC's clock sane? Village PCs run with clocks years off, or jump back after a flat CMOS battery.

Ordering never depends on the answer (the hybrid logical clock keeps events in order whatever the
wall clock does); the *dates* do: the received date that starts a case's time limit, and the dates
printed on paper. So before a date is taken from the wall clock it is checked against two references
the station keeps: the newest stamp of its own log, and the platform's time seen at the last sync
(``sync.platform_time_ms``, from the gateway's answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from station import hlc
from station.store import Store

PLATFORM_TIME_KEY = "sync.platform_time_ms"  # meta: written by sync.service after each sync
SLACK = timedelta(hours=12)
AHEAD_LIMIT = timedelta(days=400)


@dataclass(frozen=True)
class ClockAssessment:
    today: date            # the date to record as "today" (the wall clock's unless it is known wrong)
    ok: bool
    code: str              # ok | behind_log | behind_platform | far_ahead
    warning: str | None    # Chinese, for the operator

    def to_dict(self) -> dict[str, object]:
        return {"today": self.today.isoformat(), "ok": self.ok, "code": self.code, "warning": self.warning}


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000)


def assess(wall: datetime, last_stamp_ms: int, platform_ms: int | None) -> ClockAssessment:
    """Pure rule, separated from the store for testing."""
    if platform_ms and wall < _from_ms(platform_ms) - SLACK:
        basis = _from_ms(max(platform_ms, last_stamp_ms))
        return ClockAssessment(basis.date(), False, "behind_platform",
                               f"电脑时间（{wall:%Y-%m-%d}）比上次同步时平台时间（{_from_ms(platform_ms):%Y-%m-%d}）还早，"
                               f"请校正电脑日期时间。收件日期暂按 {basis:%Y-%m-%d} 记录")
    if last_stamp_ms and wall < _from_ms(last_stamp_ms) - SLACK:
        last = _from_ms(last_stamp_ms)
        if platform_ms and last > _from_ms(platform_ms) + SLACK and wall >= _from_ms(platform_ms) - SLACK:
            # The earlier stamps came from a clock that ran ahead; the platform vouches for now.
            return ClockAssessment(wall.date(), False, "log_ahead",
                                   f"本站此前记录的时间（{last:%Y-%m-%d}）晚于平台时间，可能是本站或往来站点的电脑时间曾被调快；"
                                   "现已按电脑当前时间记录，请确认电脑日期时间正确")
        return ClockAssessment(last.date(), False, "behind_log",
                               f"电脑时间（{wall:%Y-%m-%d}）比本站上一次操作（{last:%Y-%m-%d}）还早，"
                               f"可能是时钟电池没电。请校正电脑日期时间。收件日期暂按 {last:%Y-%m-%d} 记录")
    if platform_ms and wall > _from_ms(platform_ms) + AHEAD_LIMIT:
        # The platform vouches for the time; the log may have been stamped by this same fast clock.
        return ClockAssessment(wall.date(), False, "far_ahead",
                               f"电脑时间（{wall:%Y-%m-%d}）比上次同步时平台时间（{_from_ms(platform_ms):%Y-%m-%d}）"
                               "晚一年以上，请确认电脑日期是否正确")
    reference = max(last_stamp_ms or 0, platform_ms or 0)
    if reference and wall > _from_ms(reference) + AHEAD_LIMIT:
        return ClockAssessment(wall.date(), False, "far_ahead",
                               f"电脑时间（{wall:%Y-%m-%d}）比本站上一次操作晚一年以上，请确认电脑日期是否正确")
    return ClockAssessment(wall.date(), True, "ok", None)


def assess_store(store: Store) -> ClockAssessment:
    last = hlc.Stamp.parse(store.meta_get("hlc", str(hlc.ZERO)) or str(hlc.ZERO)).physical_ms
    platform = store.meta_get(PLATFORM_TIME_KEY)
    return assess(store.clock(), last, int(platform) if platform else None)


def today(store: Store) -> date:
    """The date to record for an event, or to judge figures by, at this station now: the wall clock's,
    unless it is known to be wrong (behind this log's newest stamp or the platform's time), then the
    sane reference's. Every dated step (decisions, 补正, delivery, hand-over, ratings, 回访, 整改) and the
    statistics' stat day take it from here, so setting the PC clock back cannot backdate a late decision
    or move the stat day before a case fell overdue."""
    return assess_store(store).today
