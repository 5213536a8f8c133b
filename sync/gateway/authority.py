"""Authority before effect: may this station do this to this case? One function, one table.

The platform is the province's system of record, and every enrolled station holds a signing key on a
PC that anyone in the office can touch. A valid signature therefore proves only *who* sent an event,
never that the sender was entitled to it. :func:`authorize` decides that, for every event of a batch,
before anything of the batch is stored, folded or routed (``Platform._store_events``). The rules are
the table "Who may do what" in docs/protocol.md; this function is that table and nothing else.

The facts it needs about a case (who filed it, at which level it is decided) are recorded by the
platform when the case is first filed (``cases.owner``, ``cases.level``), never taken from the
event being judged.
"""

from __future__ import annotations

from dataclasses import dataclass

from station import events as ev
from station.casenumber import canonical_village
from station.devices import service_point

CONFLICT = "sync.conflict"
# Types only the platform writes (conflict notices, the holiday calendar): refused from any station,
# or a station could revert another's case or rewrite every station's working days.
PLATFORM_ONLY = frozenset({CONFLICT, ev.CALENDAR_UPDATED, ev.QUERY_URL_PUBLISHED})
# Decisions on a case: a township's for cases of its villages; a village's only on its own cases of
# items decided at village level (the level recorded when the case was filed).
DECISIONS = frozenset({ev.CASE_ACCEPTED, ev.CASE_NOT_ACCEPTED, ev.CASE_CORRECTION_REQUESTED, ev.CASE_APPROVED,
                       ev.CASE_REJECTED, ev.CASE_FORWARDED, ev.CASE_POSTING_STARTED})
# What only the filing village does on its case: the township never hands a file over to itself.
VILLAGE_ONLY = frozenset({ev.CASE_HANDED_OVER})
VILLAGE_LEVEL = "village"
# Not a refusal: a village's event on a number under its own code that the platform does not hold yet.
# Only that village can ever file it, and its batches may arrive out of order (up to four are in
# flight), so the event waits for the filing and is judged again then.
AWAITING_FILING = "awaiting_filing"

# Reason codes of refused events (stable; the Chinese text travels in the conflict notice).
REASONS_ZH: dict[str, str] = {
    "platform_only": "只有省平台可以发出这类事件",
    "bad_case_number": "办件编号格式或校验位不对",
    "foreign_case": "不是本站的办件：村站只能对本村收件的办件操作",
    "out_of_jurisdiction": "办件不在本乡镇辖区内",
    "unknown_case": "平台上没有这个办件，不能对它作出决定",
    "not_village_level": "该事项由乡镇审核，村站不能作出审核决定",
    "township_cannot_file": "乡镇中心不能收件登记（办件只能由村站收件）",
    "wrong_role": "发送方的角色不能发出此事件",
}


@dataclass(frozen=True)
class CaseFacts:
    """What the platform recorded about a case when it was first filed."""

    owner: str  # the filing station (the device; its service point is owner[:12])
    level: str  # the item's handling level then ("village" / "township"; "" if never recorded)


def authorize(sender: str, role: str, event_type: str, case_number: str | None, case: CaseFacts | None) -> str:
    """'' when ``sender`` (an enrolled station of ``role``) may send this event; otherwise the reason code.

    ``case`` is what the platform holds for ``case_number`` (None: not held), including filings
    accepted earlier in the same batch. An event without a case number is the station's own record
    (logins, operators): kept, never folded, never routed. :data:`AWAITING_FILING` is not a refusal:
    the event is held back until its case is filed, then judged again."""
    if event_type in PLATFORM_ONLY:
        return "platform_only"
    if case_number is None:
        return ""
    # a held number passed this very check when it was filed: only new numbers are parsed
    division = case_number[:12] if case is not None else _division_of(case_number)
    if division is None:
        return "bad_case_number"
    point = service_point(sender)  # every device of a service point acts for it (station/devices.py)
    if role == "village":
        if division != point or (case is not None and service_point(case.owner) != point):
            return "foreign_case"
        if case is None:
            return "" if event_type == ev.CASE_FILED else AWAITING_FILING
        if event_type in DECISIONS and case.level != VILLAGE_LEVEL:
            return "not_village_level"
        return ""
    if role == "township":
        if event_type == ev.CASE_FILED:
            return "township_cannot_file"
        prefix = sender[:9]
        if not division.startswith(prefix):
            return "out_of_jurisdiction"
        if case is None:
            return "unknown_case"
        if not case.owner.startswith(prefix):
            return "out_of_jurisdiction"
        return "wrong_role" if event_type in VILLAGE_ONLY else ""
    return "wrong_role"


def _division_of(case_number: str) -> str | None:
    """The filing village's division code of a well-formed case number in canonical form, else None."""
    return canonical_village(case_number)  # a real date and the right check character
