"""What an ingest transaction has written but not yet sent to its database, shared by both stores.

A batch of 100 events used to cost some 500 statements on SQLite (one insert per event, a status read
and an inbox-head read per routed event). Both stores now buffer the hot writes of a transaction —
events, new cases, case status updates, inbox rows — and send them as one statement per table
(``executemany`` on SQLite, ``unnest`` arrays on PostgreSQL) just before the next statement that could
read them, or at commit. The reads the fold needs are answered from what the transaction already
knows: ``prefetch_events`` (which of the batch's event ids are held) and ``case_facts`` (owner, level
and status of the batch's case numbers), each one query per batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from sync.gateway.store import EventRow

CaseState = tuple[str, str, str]  # (status, owner, level)


@dataclass
class TxBuffer:
    events: list[tuple] = field(default_factory=list)
    inbox: list[tuple[str, str]] = field(default_factory=list)
    new_ids: set[str] = field(default_factory=set)  # events added in this transaction
    known: dict[str, bool] = field(default_factory=dict)  # event id -> held before this transaction
    cases: dict[str, CaseState | None] = field(default_factory=dict)  # number -> state (None: not held)
    new_cases: list[tuple] = field(default_factory=list)
    case_updates: dict[str, list] = field(default_factory=dict)  # number -> [status, max hlc, events]

    def pending(self) -> bool:
        return bool(self.events or self.new_cases or self.case_updates or self.inbox)

    def add_event(self, row: "EventRow", received_at: str, held: Callable[[str], bool]) -> bool:
        """Buffer the event; False when its id is held already (``held`` asks the database when the
        prefetch did not say)."""
        if row.id in self.new_ids:
            return False
        known = self.known.get(row.id)
        if known is None:
            known = self.known[row.id] = held(row.id)
        if known:
            return False
        self.new_ids.add(row.id)
        self.events.append((row.id, row.station, row.seq, row.hlc, row.case_number, row.type, row.body, received_at,
                            row.batch, row.line))
        return True

    def note_cases(self, numbers: list[str], rows: list[tuple[str, str, str, str]]) -> None:
        """What the database holds of these case numbers: rows of (number, owner, level, status)."""
        for n in numbers:
            self.cases.setdefault(n, None)
        for number, owner, level, status in rows:
            self.cases[number] = (status, owner, level)

    def case_status(self, number: str) -> tuple[bool, str | None]:
        """(known here, status): when not known here the caller asks the database."""
        if number not in self.cases:
            return False, None
        held = self.cases[number]
        return True, held[0] if held else None

    def put_case(self, number: str, village: str, item_code: str, item_name: str, status: str, hlc: str,
                 owner: str, level: str) -> None:
        self.new_cases.append((number, village, item_code, item_name, status, hlc, owner, level))
        self.cases[number] = (status, owner, level)

    def set_case_status(self, number: str, status: str, hlc: str) -> None:
        """A case's updates in one transaction are summed into one row of one update."""
        held = self.case_updates.setdefault(number, ["", "", 0])
        held[0], held[1], held[2] = status, max(held[1], hlc), held[2] + 1
        state = self.cases.get(number)
        if state:
            self.cases[number] = (status, state[1], state[2])

    def take_events(self) -> list[tuple]:
        rows, self.events = self.events, []
        return rows

    def take_new_cases(self) -> list[tuple]:
        rows, self.new_cases = self.new_cases, []
        return rows

    def take_case_updates(self) -> list[tuple[str, str, str, int]]:
        """(number, status, max hlc, count) in number order (one lock order for every writer)."""
        updates, self.case_updates = self.case_updates, {}
        return [(n, *updates[n]) for n in sorted(updates)]  # type: ignore[misc]

    def take_inbox(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The buffered (station, event) pairs once each, in the order they were routed, and those of
        them whose event was held before this transaction (it may be in that inbox already)."""
        pairs, self.inbox = self.inbox, []
        seen: set[tuple[str, str]] = set()
        unique: list[tuple[str, str]] = []
        for pair in pairs:
            if pair not in seen:
                seen.add(pair)
                unique.append(pair)
        return unique, [p for p in unique if p[1] not in self.new_ids]


class BufferedWrites:
    """The hot writes of both stores, written once: inside this thread's transaction they go to its
    buffer; outside one, each opens a transaction of its own. A store provides ``_buffer`` (this thread's
    open transaction's buffer, or None), ``transaction`` and the two one-row reads the buffer may need."""

    def _buffer(self) -> TxBuffer | None:
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _event_held(self, event_id: str) -> bool:
        raise NotImplementedError

    def _stored_status(self, number: str) -> str | None:
        raise NotImplementedError

    def add_event(self, row: "EventRow", received_at: str) -> bool:
        """Buffer the event; False when its id is held already (exactly once)."""
        buf = self._buffer()
        if buf is None:
            with self.transaction():
                return self.add_event(row, received_at)
        return buf.add_event(row, received_at, self._event_held)

    def case_status(self, number: str) -> str | None:
        buf = self._buffer()
        if buf is not None:
            known, status = buf.case_status(number)
            if known:
                return status
        return self._stored_status(number)

    def put_case(self, number: str, village: str, item_code: str, item_name: str, status: str, hlc: str,
                 owner: str, level: str) -> None:
        """Buffered (the transaction remembers the row for ``case_status``)."""
        buf = self._buffer()
        if buf is None:
            with self.transaction():
                return self.put_case(number, village, item_code, item_name, status, hlc, owner, level)
        buf.put_case(number, village, item_code, item_name, status, hlc, owner, level)

    def set_case_status(self, number: str, status: str, hlc: str) -> None:
        """Buffered: a case's updates in one transaction are summed into one row of one update."""
        buf = self._buffer()
        if buf is None:
            with self.transaction():
                return self.set_case_status(number, status, hlc)
        buf.set_case_status(number, status, hlc)

    def add_inbox(self, station: str, event_id: str) -> None:
        """Buffered; indexes are handed out per inbox in order, with no gaps, when the rows are sent."""
        buf = self._buffer()
        if buf is None:
            with self.transaction():
                return self.add_inbox(station, event_id)
        buf.inbox.append((station, event_id))


def per_station(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Event ids per inbox, in the order they were routed, stations in sorted order."""
    out: dict[str, list[str]] = {}
    for station, event_id in pairs:
        out.setdefault(station, []).append(event_id)
    return {s: out[s] for s in sorted(out)}
