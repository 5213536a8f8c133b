"""The tables of station.db, declared once and created with sqlite-utils.

``TABLES`` holds each table's columns (in order), primary key, NOT NULL columns, defaults and
indexes. The store's migrations (``station/migrations.py``) create them; ``station db rebuild``
drops and creates the projections again; ``station db check`` folds the log into a scratch copy of
the live projection tables (:func:`copy_projections`), made from their own stored definitions, so
the comparison lines up column by column even on a store whose tables were altered by a migration.

The search index is an FTS5 table over ``cases.search_text`` set up by ``enable_fts``.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: dict[str, type]
    pk: str | tuple[str, ...]
    not_null: frozenset[str] = frozenset()
    defaults: dict[str, Any] = field(default_factory=dict)
    indexes: tuple[Index, ...] = ()

    def create(self, db: Database) -> None:
        """Create the table and its indexes; a table that exists is left as it is."""
        db.create_table(self.name, self.columns, pk=self.pk, not_null=self.not_null, defaults=self.defaults,
                        ignore=True)
        for ix in self.indexes:
            db[self.name].create_index(ix.columns, ix.name, unique=ix.unique, if_not_exists=True)


def _spec(name: str, columns: str, pk: str | tuple[str, ...], defaults: dict[str, Any] | None = None,
          indexes: tuple[Index, ...] = ()) -> TableSpec:
    """A table from a compact column list: ``"name type[!]"`` pairs, ``!`` meaning NOT NULL."""
    types = {"text": str, "int": int, "blob": bytes}
    cols: dict[str, type] = {}
    not_null = set()
    for item in columns.split(","):
        col, kind = item.split()
        if kind.endswith("!"):
            not_null.add(col)
        cols[col] = types[kind.rstrip("!")]
    return TableSpec(name, cols, pk, frozenset(not_null), defaults or {}, indexes)


# --- the log and what never leaves the station --------------------------------------------------

EVENTS = _spec("events", "rowid int, id text!, station text!, seq int!, hlc text!, operator text!,"
               " case_number text, type text!, body text!, recorded_at text!, origin text!, chain_hash text!",
               "rowid", indexes=(Index("events_id", ("id",), unique=True),
                                 Index("events_station_seq", ("station", "seq"), unique=True),
                                 Index("events_case", ("case_number",))))
META = _spec("meta", "key text, value text!", "key")
# Station-local secrets: never events, never synced (the log leaves the station).
CREDENTIALS = _spec("credentials", "operator text, password_hash text!, failed_count int!, locked_until text",
                    "operator", {"failed_count": 0})

# --- projections (folded from the log by station/projections.py) --------------------------------

CASES = _spec(
    "cases",
    "number text, item_code text!, item_version int!, item_name text!, department text, handling_level text,"
    " village_code text!, filed_by_station text!, status text!, received_at text!, received_date text!,"
    " clock_start text!, operator text!, applicant_name text!, applicant_pinyin text, applicant_initials text,"
    " id_hash text, id_enc text, phone_enc text, address text, sex text, relationship text,"
    " fields text!, query_password_enc text, promised_amount int, promised_unit text,"
    " promised_due text, promised_estimate int, statutory_amount int, statutory_unit text, statutory_due text,"
    " statutory_estimate int, posting_days int!, corrections int!, decision text, decided_at text,"
    " delivered_at text, rating_level int, duplicate_of text, last_local_seq int!, updated_hlc text!,"
    " search_text text!,"
    # the legal record (issue 14): bodies, basis, labels, channel, the clocks and the dates they set
    " item_type text, case_kind text, deciding_body text, accepting_body text, body_seal int, legal_basis text,"
    " labels text, campaign int!, channel text, assist text, consultation text, correction_deadline text,"
    " accepted_at text, handover_due text, handover_estimate int, handed_over_at text, promised_shift int!,"
    " statutory_shift int!, paused_days int!, pause_started text, second_corrections int!, forwarded_to text,"
    " forwarded_at text, forward_amount int, forward_unit text, forward_due text, forward_estimate int,"
    " posting_start text, posting_end text, trips int, forward_bodies text,"
    # the number a case had before `station device split` / a restore's catch-up gave it this one (改号)
    " renumbered_from text,"
    # 撤回 by its date; and whether the case was withdrawn or refused (不予受理) with its clock running
    # after the promised date had passed (so an overdue case never leaves the figures without a trace)
    " withdrawn_at text, ended_overdue int!",
    "number", {"posting_days": 0, "corrections": 0, "last_local_seq": 0, "campaign": 0, "promised_shift": 0,
               "statutory_shift": 0, "paused_days": 0, "second_corrections": 0, "ended_overdue": 0},
    (Index("cases_status", ("status", "promised_due")), Index("cases_received", ("received_date",)),
     Index("cases_received_at", ("received_at", "number")),
     Index("cases_status_received", ("status", "received_at", "number")),
     Index("cases_id_hash", ("id_hash", "item_code")), Index("cases_pinyin", ("applicant_pinyin",)),
     Index("cases_sync", ("last_local_seq",)), Index("cases_renumbered_from", ("renumbered_from",))))
MATERIALS = _spec("materials", "case_number text!, key text!, name text!, form text, copies int, required int!,"
                  " waivable int!, status text!, due_date text, received_at text, position int!, form_label text",
                  ("case_number", "key"), indexes=(Index("materials_waiting", ("status", "due_date")),))
APPLICANTS = _spec("applicants", "id_hash text, name text!, pinyin text, id_enc text, phone_enc text, address text,"
                   " sex text, case_count int!, last_case text", "id_hash")
HOLIDAYS = _spec("holidays", "day text, kind text!, year int!", "day")
HOLIDAY_YEARS = _spec("holiday_years", "year int, source text", "year")
CONFLICTS = _spec("conflicts", "event_id text, case_number text, type text!, reason text!, status_then text,"
                  " hlc text!", "event_id")
OPERATORS = _spec("operators", "name text, role text!, disabled int!, created_at text!", "name", {"disabled": 0})
RATINGS = _spec("ratings", "case_number text, level int!, label text!, detail text, sub_scores text,"
                " rater_name text, agent_name text, rated_at text!, followup_due text, followup_closed_at text,"
                " followup_note text, channel text, entered_by text, entered_at_station text", "case_number")
# 回访 as a record, and 告知件 (applications that could not be taken), issue 14
REVISITS = _spec("revisits", "event_id text, case_number text!, day text!, method text!, result text!, satisfied int,"
                 " operator text!, station text!", "event_id", indexes=(Index("revisits_case", ("case_number",)),))
CONSULTATIONS = _spec("consultations", "number text, station text!, day text!, recorded_at text!, operator text!,"
                      " item_code text!, item_name text!, applicant_name text!, id_hash text, reasons text!,"
                      " body_event text!, converted_case text", "number",
                      indexes=(Index("consultations_day", ("day",)),))
SUPERSEDED = _spec("superseded", "event_id text, case_number text, notice_id text!, reason text", "event_id")
# what the platform publishes for every station (the query URL template of the receipts' QR): key -> value
PLATFORM_SETTINGS = _spec("platform_settings", "key text, value text!, event_id text!, published_at text", "key")
PRINTS = _spec("prints", "case_number text!, kind text!, count int!, last_path text, last_at text",
               ("case_number", "kind"))

# a void notice (printed here for a decision that lost at the platform) recovered or the citizen informed:
# which decision the paper carried and which notice it was (station/void_notices.py)
NOTICE_RECALLS = _spec("notice_recalls", "event_id text, case_number text!, decision_event text!, kind text!,"
                       " note text, operator text!, station text!, recalled_at text!", "event_id",
                       indexes=(Index("notice_recalls_case", ("case_number",)),))

PROJECTIONS = (CASES, MATERIALS, APPLICANTS, HOLIDAYS, HOLIDAY_YEARS, CONFLICTS, OPERATORS, RATINGS, SUPERSEDED,
               PRINTS, REVISITS, CONSULTATIONS, PLATFORM_SETTINGS, NOTICE_RECALLS)

# --- the sync outbox (rows written by sync/outbox.py only) ---------------------------------------

SYNC_BATCHES = _spec("sync_batches", "seq int, first_seq int!, last_seq int!, events int!, hash blob!,"
                     " prev_hash blob!, state text!, blob blob!, created_at text!, sent_at text, acked_at text,"
                     " via text, attempts int!, refusals int!, reason_code text, reason text", "seq",
                     {"attempts": 0, "refusals": 0}, (Index("sync_batches_state", ("state", "seq")),))
SYNC_INBOX = _spec("sync_inbox", "seq int, hash blob!, events int!, applied int!, duplicates int!, conflicts int!,"
                   " received_at text!, via text", "seq")

TABLES = {t.name: t for t in (EVENTS, META, CREDENTIALS, *PROJECTIONS, SYNC_BATCHES, SYNC_INBOX)}

# --- the search index ----------------------------------------------------------------------------

SEARCH_TABLE, SEARCH_COLUMN = "cases_fts", "search_text"
TOKENIZER = "unicode61 remove_diacritics 0"
# sqlite-utils' update trigger re-indexes a case on any UPDATE; every event folded touches its case
# (updated_hlc, status…) while the search text changes only at filing. Measured on the bench machine
# (20,000 cases, 20,000 updates in one transaction): 0.80 s with it, 0.17 s with this one (31 µs vs
# 8.5 µs per update), so this trigger stays plain SQL.
_UPDATE_TRIGGER = """CREATE TRIGGER cases_au AFTER UPDATE OF search_text ON cases BEGIN
     INSERT INTO cases_fts(cases_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
     INSERT INTO cases_fts(rowid, search_text) VALUES (new.rowid, new.search_text); END"""


def enable_search(db: Database) -> None:
    """(Re)make the FTS5 index over ``cases.search_text`` from the rows there, kept current by triggers
    (insert and delete: sqlite-utils'). Any earlier index goes first, the hand-made one of a store from
    before issue 16 too (``enable_fts(replace=True)`` does not recognise that one)."""
    db[SEARCH_TABLE].drop(ignore=True)
    for trigger in ("cases_ai", "cases_ad", "cases_au"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    db["cases"].enable_fts([SEARCH_COLUMN], tokenize=TOKENIZER, create_triggers=True)
    db.execute("DROP TRIGGER cases_au")
    db.execute(_UPDATE_TRIGGER)


def create_projections(db: Database) -> None:
    for spec in PROJECTIONS:
        spec.create(db)
    enable_search(db)


def drop_projections(db: Database) -> None:
    """Drop the projections and the search index (their triggers go with the ``cases`` table)."""
    for name in (SEARCH_TABLE, *(spec.name for spec in PROJECTIONS)):
        db[name].drop(ignore=True)


_CREATE = re.compile(r'^CREATE (TABLE|INDEX|UNIQUE INDEX)\s+("[^"]+"|\[[^\]]+\]|\w+)', re.IGNORECASE)


def copy_projections(conn: sqlite3.Connection, schema: str) -> None:
    """Create the projection tables and their indexes in the attached ``schema`` exactly as the live
    ones are defined in ``main`` (no search index: ``station db check`` folds into them)."""
    names = tuple(spec.name for spec in PROJECTIONS)
    marks = ",".join("?" * len(names))
    rows = conn.execute(f"SELECT sql FROM main.sqlite_master WHERE tbl_name IN ({marks}) AND sql IS NOT NULL"
                        f" AND type IN ('table', 'index') ORDER BY type DESC, rowid", names).fetchall()
    for (sql,) in rows:
        conn.execute(_CREATE.sub(lambda m: f"CREATE {m.group(1)} {schema}.{m.group(2)}", sql, count=1))
