"""The event: the one unit of change. Appended, never updated or deleted."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

# Event types. Case events carry a case number; station events (operators, calendar) do not.
CASE_FILED = "case.filed"
MATERIAL_RECEIVED = "material.received"
CASE_ACCEPTED = "case.accepted"
CASE_NOT_ACCEPTED = "case.not_accepted"
CASE_CORRECTION_REQUESTED = "case.correction_requested"
CASE_SUPPLEMENTED = "case.supplemented"
CASE_APPROVED = "case.approved"
CASE_REJECTED = "case.rejected"
CASE_FORWARDED = "case.forwarded"
CASE_POSTING_STARTED = "case.posting_started"   # 公示 begins; its end is fixed by the item's days
CASE_HANDED_OVER = "case.handed_over"           # the village handed the file to the township
RESULT_DELIVERED = "result.delivered"
CASE_WITHDRAWN = "case.withdrawn"
RATING_GIVEN = "rating.given"
NOTICE_PRINTED = "notice.printed"
# A notice printed here for a decision that lost to one that reached the platform first (a void notice,
# station/void_notices.py): the paper was recovered or the citizen told it is void.
NOTICE_RECALLED = "case.notice_recalled"
DUPLICATE_MARKED = "case.duplicate_marked"
FOLLOWUP_CLOSED = "rating.followup_closed"
RATING_REVISITED = "rating.revisited"           # 回访: date, method, result
CONSULTATION_RECORDED = "consultation.recorded"  # 告知件: an application that could not be taken
OPERATOR_ADDED = "operator.added"
OPERATOR_CHANGED = "operator.changed"
OPERATOR_LOGIN = "operator.login"
OPERATOR_LOGIN_FAILED = "operator.login_failed"
OPERATOR_LOCKED = "operator.locked"  # the TUI locked an idle session (the operator must log in again)
CALENDAR_UPDATED = "calendar.updated"
QUERY_URL_PUBLISHED = "query_url.published"   # from the platform: the template of the receipts' QR link
STATION_INITIALISED = "station.initialised"
ACCESS_REFUSED = "access.refused"
SYNC_CONFLICT = "sync.conflict"  # from the platform: one of our events lost to a decision that came first
PII_REVEALED = "pii.revealed"  # an operator saw personal data in full (which fields, on which face)
BACKED_UP = "station.backed_up"  # an operator wrote a sealed backup (where, how much; station/backup.py)

# Records of who did what, with no data of their own: they ride with the next batch, but they are not
# work waiting to be synced (a login must not make the home screen say "1 条未上报").
AUDIT_ONLY = frozenset({OPERATOR_LOGIN, OPERATOR_LOGIN_FAILED, OPERATOR_LOCKED, ACCESS_REFUSED, PII_REVEALED,
                        BACKED_UP})


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Event:
    """One row of the log. ``body`` is in stored form (personal data sealed)."""

    id: str
    station: str
    seq: int
    hlc: str
    operator: str
    case_number: str | None
    type: str
    body: dict[str, Any]
    recorded_at: str
    origin: str = "local"

    def chain_hash(self, previous: str, key: bytes) -> str:
        """Audit chain link: HMAC-SHA256(key, previous link + canonical event).

        Keyed with a secret kept outside the database (derived from the station data key), so whoever
        edits station.db cannot recompute the chain after the edit: any change breaks it.
        """
        payload = canonical_json([self.id, self.station, self.seq, self.hlc, self.operator,
                                  self.case_number, self.type, self.body, self.recorded_at, self.origin])
        return hmac.new(key, (previous + "\n" + payload).encode("utf-8"), hashlib.sha256).hexdigest()

    def wire(self, opened_body: dict[str, Any]) -> dict[str, Any]:
        """The event as it travels inside a sync envelope (personal data in clear, the envelope encrypts)."""
        return {"id": self.id, "station": self.station, "seq": self.seq, "hlc": self.hlc,
                "operator": self.operator, "case": self.case_number, "type": self.type,
                "body": opened_body, "recorded_at": self.recorded_at}


def event_id(station: str, seq: int) -> str:
    return f"{station}:{seq}"
