"""The store's versioned migrations, applied in order by ``Store.open`` (``PRAGMA user_version``).

Each migration runs in its own write transaction with the version bump, so a power cut leaves the
store at the old version or the new one. A new store runs every migration from 1, and migration 1
already creates the current tables, so every step is idempotent: the helpers below skip what
exists. Adding one is one line at the end of ``MIGRATIONS``::

    Migration(7, "ratings: channel of the rating", add_column("ratings", "channel", str)),
    Migration(8, "cases: promised_amount as text", transform("cases", types={"promised_amount": str})),

and the same change in ``station/schema.py`` (what a new store gets). Where a column changes type,
is renamed or dropped, use :func:`transform` (sqlite-utils copies the table, rowids and indexes
included; the search index's triggers on ``cases`` are made again). Where a projection loses data
that must not stay readable, use :func:`refold` with ``scrub=True``: the store wipes the freed pages
(VACUUM) once the migrations are done.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from station import projections, schema

if TYPE_CHECKING:
    from station.store import Store

Step = Callable[["Store"], None]


@dataclass(frozen=True)
class Migration:
    version: int
    what: str
    apply: Step
    scrub: bool = False  # wipe freed pages afterwards (a store that had data only)


def create_store(store: Store) -> None:
    for name in ("events", "meta", "credentials"):
        schema.TABLES[name].create(store.db)
    schema.create_projections(store.db)


def tables(*names: str) -> Step:
    """Create tables of ``station/schema.py`` (with their indexes) that a store does not have yet."""
    def step(store: Store) -> None:
        for name in names:
            schema.TABLES[name].create(store.db)
    return step


def index(table: str, columns: list[str], name: str) -> Step:
    def step(store: Store) -> None:
        store.db[table].create_index(columns, name, if_not_exists=True)
    return step


def add_column(table: str, column: str, type_: type, not_null_default: Any = None) -> Step:
    def step(store: Store) -> None:
        if column not in store.db[table].columns_dict:
            store.db[table].add_column(column, type_, not_null_default=not_null_default)
    return step


def transform(table: str, **changes: Any) -> Step:
    """``Table.transform`` (types=, rename=, drop=, not_null=, defaults=…). The table is copied, so its
    triggers are gone afterwards: for ``cases`` the search index is set up again."""
    def step(store: Store) -> None:
        store.db[table].transform(**changes)
        if table == "cases":
            schema.enable_search(store.db)
    return step


def refold(store: Store) -> None:
    """Make the projections again in the shape of ``station/schema.py`` and fold the whole log into them."""
    projections.rebuild(store.db, store.fold_context)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "event log, meta, credentials, projections and the search index", create_store),
    Migration(2, "cases: index by filing time", index("cases", ["received_at", "number"], "cases_received_at")),
    Migration(3, "cases: index by status and filing time",
              index("cases", ["status", "received_at", "number"], "cases_status_received")),
    Migration(4, "superseded events (a platform conflict notice)", tables("superseded")),
    # Nothing reconstructable (issue 11): the clear last-four digits and birth dates leave the tables and
    # the search index; the projections are folded again and the freed pages wiped.
    Migration(5, "cases and applicants without clear ID digits or birth dates", refold, scrub=True),
    Migration(6, "sync outbox: batches and inbox (made on first use before)", tables("sync_batches", "sync_inbox")),
    # The legal record (issue 14): bodies, basis, clocks paused and resumed, forwarding, 公示, hand-over,
    # 告知件 and 回访: new columns and tables whose values come from events already in the log.
    Migration(7, "the legal record: bodies, clocks, 转报, 公示, hand-over, 告知件, 回访", refold),
    # Issue 15: the query URL template the platform publishes (no event of its type existed before).
    Migration(8, "platform settings: the query URL template of the receipts' QR", tables("platform_settings")),
    # A citizen holding the receipt of a renumbered case (device split, restore catch-up) finds it by the old
    # number: the projections learn the number each filing replaces.
    Migration(9, "cases: the number a renumbered case had before", refold),
    # An overdue case withdrawn or refused is counted (超期撤回/不予受理), not lost from 当前超期 silently.
    Migration(10, "cases: withdrawal date, and cases ended (withdrawn or refused) overdue", refold),
    # A 补正期限 beyond MAX_CORRECTION_WORKING_DAYS (or none) stops the clock for the bound at most.
    Migration(11, "cases: the 补正 pause counts at most the longest 补正期限", refold),
    # A notice printed for a decision that lost at the platform is void until its recall is recorded
    # (case.notice_recalled): no event of that type existed before, so the new table starts empty.
    Migration(12, "notice recalls: void notices recovered or the citizen informed", tables("notice_recalls")),
    # A synced recall without a decision or a notice kind, or a 补正 request on an unreadable day, is a
    # conflict; a mistyped 补正期限 is the bound on the requested materials: stores that folded such
    # events before are folded again, so `station db check` agrees with a rebuild.
    Migration(13, "synced recalls and 补正 requests of the wrong shape: conflicts and the bound", refold),
)
LATEST = MIGRATIONS[-1].version
