"""What the counter has seen before: earlier applicants and the most-used service items.

The intake wizard uses these so nothing is typed twice: an ID number typed at the counter finds
the person by the keyed lookup hash (the number itself is never stored in clear), a name finds
people with that name, and the item list puts what this station files most often first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from forms.identity import mask_id
from station.store import Store

MAX_MATCHES = 10


@dataclass(frozen=True)
class KnownApplicant:
    """An applicant from an earlier case at this station, revealed for filling the form again."""

    name: str
    id_number: str
    phone: str
    address: str
    sex: str | None
    birth_date: str | None
    case_count: int
    last_case: str | None

    @property
    def masked_id(self) -> str:
        return mask_id(self.id_number) if self.id_number else ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "id_number": self.masked_id, "address": self.address, "sex": self.sex,
                "birth_date": self.birth_date, "case_count": self.case_count, "last_case": self.last_case}


def _open(store: Store, sealed_json: str | None) -> str:
    return store.codec.open(json.loads(sealed_json)) if sealed_json else ""


def _known(store: Store, row: tuple) -> KnownApplicant:
    name, id_enc, phone_enc, address, sex, birth, count, last = row
    return KnownApplicant(name, _open(store, id_enc), _open(store, phone_enc), address or "", sex, birth,
                          int(count), last)


_COLUMNS = "name, id_enc, phone_enc, address, sex, birth_date, case_count, last_case"


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


def item_usage(store: Store) -> dict[str, int]:
    """Cases filed per item code at this station: the intake list shows the most-used first."""
    return {code: int(n) for code, n in
            store.conn.execute("SELECT item_code, COUNT(*) FROM cases GROUP BY item_code")}
