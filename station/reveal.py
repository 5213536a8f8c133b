"""Showing personal data in full: every reveal is its own audited event.

Screens and paper show ID numbers, phones and bank accounts masked. When an operator needs a value in
full (to read it to the county on the phone, to correct a form), the face calls :func:`reveal_case`,
which checks the operator's role, records ``pii.revealed`` naming the case, the fields and the face,
and only then opens the sealed values. The CLI's ``case show --reveal`` and the TUI's reveal key use
the same function, so neither face can show more than the log admits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from forms.problems import StationError
from station import events as ev
from station.cases import CaseReader, CaseRecord
from station.operators import Operator, require
from station.store import Store

# The fields a reveal can name: the applicant's sealed identifiers and any personal-data form field.
APPLICANT_FIELDS = ("id_number", "phone")


@dataclass(frozen=True)
class Revealed:
    case: CaseRecord
    fields: tuple[str, ...]          # what was revealed, in the order recorded
    data: dict[str, Any]             # the case as ``CaseRecord.to_dict(reveal=True)``


def personal_fields(store: Store, case: CaseRecord) -> tuple[str, ...]:
    """The sealed fields this case holds: the applicant's ID and phone, and sealed form fields."""
    names = [f for f, present in (("id_number", case.has_id), ("phone", case.has_phone)) if present]
    names += [f"fields.{k}" for k in case.sealed_field_keys()]
    return tuple(names)


def reveal_case(store: Store, number: str, operator: Operator, face: str) -> Revealed:
    """The case with its personal data in full, after an audited ``pii.revealed`` event."""
    if face not in ("cli", "tui"):
        raise StationError("bad_face", f"未知的操作界面 {face}")
    require(store, operator, "handle", "查看完整个人信息")
    case = CaseReader(store).get(number)
    fields = personal_fields(store, case)
    if fields:
        store.append(ev.PII_REVEALED, {"fields": list(fields), "face": face}, operator.name, case.number)
        case = CaseReader(store).get(number)  # its timeline now shows this reveal too
    return Revealed(case, fields, case.to_dict(store.codec, reveal=True))
