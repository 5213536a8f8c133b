"""Wrong PC clocks: ordering stays right, the received date comes from a sane reference, a warning shows."""

from __future__ import annotations

from datetime import datetime, timedelta

from station.cases import CaseReader, file_case
from station.clock_check import assess, assess_store
from station.sample_data import make_submission
from tests.support import item_by_initials


def ms(d: datetime) -> int:
    return int(d.timestamp() * 1000)


NOW = datetime(2026, 11, 25, 10, 0)


def test_sane_clock() -> None:
    a = assess(NOW, ms(NOW - timedelta(hours=1)), ms(NOW - timedelta(days=2)))
    assert a.ok and a.today == NOW.date() and a.warning is None


def test_clock_years_behind_the_platform() -> None:
    a = assess(datetime(2019, 1, 1), ms(NOW - timedelta(days=1)), ms(NOW))
    assert not a.ok and a.code == "behind_platform" and a.today == NOW.date()
    assert "校正" in a.warning


def test_clock_jumped_back_without_platform_reference() -> None:
    a = assess(NOW - timedelta(days=3), ms(NOW), None)
    assert a.code == "behind_log" and a.today == NOW.date()


def test_log_written_by_a_clock_that_ran_ahead_is_not_trusted_over_the_platform() -> None:
    a = assess(NOW, ms(NOW + timedelta(days=365)), ms(NOW - timedelta(hours=2)))
    assert a.code == "log_ahead" and a.today == NOW.date()


def test_clock_far_ahead() -> None:
    a = assess(NOW + timedelta(days=800), ms(NOW), ms(NOW))
    assert a.code == "far_ahead" and a.warning


def test_filing_uses_the_sane_date_when_the_clock_jumps_back(store, catalog, agent, rng, clock) -> None:
    item = item_by_initials(catalog, "sbkqy")
    first = file_case(store, catalog, item.code, make_submission(item, rng, clock().date()), agent)
    good_day = clock().date()
    clock.now = clock.now - timedelta(days=400)  # CMOS battery died
    assert assess_store(store).code == "behind_log"
    second = file_case(store, catalog, item.code, make_submission(item, rng, good_day), agent)
    case = CaseReader(store, good_day).get(second.number)
    assert case.received_date == good_day.isoformat()
    assert second.number.split("-")[1] == f"{good_day:%y%m%d}"
    stamps = [r[0] for r in store.conn.execute("SELECT hlc FROM events ORDER BY rowid")]
    assert stamps == sorted(stamps)
    assert first.number != second.number
