"""What the counter has seen before: earlier applicants and the most-used service items.

The intake wizard uses these so nothing is typed twice: an ID number typed at the counter finds
the person by the keyed lookup hash (the number itself is never stored in clear), a name finds
people with that name, and the item list puts what this station files most often first.

Lookups return masked people (:class:`KnownApplicant`); putting one's full ID and phone into the
form is a reveal of personal data, so it goes through :func:`reveal_known`, which records a
``pii.revealed`` event (on the person's last case) before it opens anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from forms.identity import mask_id
from forms.problems import StationError
from station import events as ev
from station.operators import Operator, require
from station.store import Store

MAX_MATCHES = 10


@dataclass(frozen=True)
class KnownApplicant:
    """An applicant from an earlier case at this station, masked. ``key`` finds them again."""

    key: str                 # the keyed lookup hash of the ID (not reversible without the data key)
    name: str
    masked_id: str
    has_phone: bool
    address: str
    sex: str | None
    case_count: int
    last_case: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "id_number": self.masked_id, "address": self.address, "sex": self.sex,
                "case_count": self.case_count, "last_case": self.last_case}


@dataclass(frozen=True)
class RevealedApplicant:
    """An earlier applicant's identifiers in full, for filling the form; its reveal is on record."""

    name: str
    id_number: str
    phone: str
    address: str


def _open(store: Store, sealed_json: str | None) -> str:
    return store.codec.open(json.loads(sealed_json)) if sealed_json else ""


def _known(store: Store, row: tuple) -> KnownApplicant:
    key, name, id_enc, phone_enc, address, sex, count, last = row
    return KnownApplicant(key, name, mask_id(_open(store, id_enc)), bool(phone_enc), address or "", sex,
                          int(count), last)


_COLUMNS = "id_hash, name, id_enc, phone_enc, address, sex, case_count, last_case"


def find_by_id(store: Store, id_number: str) -> KnownApplicant | None:
    """The applicant with this (already checked, upper-case) ID number, if seen before."""
    key = store.codec.lookup_hash(id_number.strip().upper())
    row = store.conn.execute(f"SELECT {_COLUMNS} FROM applicants WHERE id_hash=?", (key,)).fetchone()
    return _known(store, row) if row else None


def find_by_name(store: Store, name: str, limit: int = MAX_MATCHES) -> list[KnownApplicant]:
    """Applicants whose name is exactly ``name`` (most cases first)."""
    name = (name or "").strip()
    if len(name) < 2:
        return []
    rows = store.conn.execute(f"SELECT {_COLUMNS} FROM applicants WHERE name=?"
                              " ORDER BY case_count DESC, last_case DESC LIMIT ?", (name, limit)).fetchall()
    return [_known(store, r) for r in rows]


def reveal_known(store: Store, known: KnownApplicant, operator: Operator, face: str,
                 fields: tuple[str, ...] = ("id_number", "phone")) -> RevealedApplicant:
    """Open an earlier applicant's ID and phone to fill the form, after recording the reveal."""
    require(store, operator, "file", "调取申请人完整信息")
    row = store.conn.execute("SELECT name, id_enc, phone_enc, address FROM applicants WHERE id_hash=?",
                             (known.key,)).fetchone()
    if row is None:
        raise StationError("unknown_applicant", "本站没有这位申请人的记录")
    shown = [f for f in fields if (f == "id_number" and row[1]) or (f == "phone" and row[2])]
    if shown:
        store.append(ev.PII_REVEALED, {"fields": shown, "face": face, "purpose": "prefill"}, operator.name,
                     known.last_case)
    return RevealedApplicant(row[0], _open(store, row[1]) if "id_number" in shown else "",
                             _open(store, row[2]) if "phone" in shown else "", row[3] or "")


def item_usage(store: Store) -> dict[str, int]:
    """Cases filed per item code at this station: the intake list shows the most-used first."""
    return {code: int(n) for code, n in
            store.conn.execute("SELECT item_code, COUNT(*) FROM cases GROUP BY item_code")}
