"""Working days and due dates (station.calendar)."""

from __future__ import annotations

import json
import tomllib
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.calendar import (
    NATURAL_DAY,
    WORKING_DAY,
    DueDate,
    WorkingCalendar,
    parse_holiday_table,
)
from forms.problems import StationError

D = date

# 2026 per the State Council notice of 2025-11-04 (domain-facts).
HOLIDAYS_2026 = [
    *(D(2026, 1, d) for d in (1, 2, 3)), *(D(2026, 2, d) for d in range(15, 24)),
    *(D(2026, 4, d) for d in (4, 5, 6)), *(D(2026, 5, d) for d in range(1, 6)),
    *(D(2026, 6, d) for d in (19, 20, 21)), *(D(2026, 9, d) for d in (25, 26, 27)),
    *(D(2026, 10, d) for d in range(1, 8)),
]
MAKEUP_2026 = [D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10)]

TABLE_2027 = {
    "year": 2027,
    "holidays": ["2027-01-01", "2027-01-02", "2027-01-03",
                 "2027-02-06", "2027-02-07", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11",
                 "2027-02-12", "2027-02-13"],
    "workdays": ["2027-01-30", "2027-02-20"],
    "source": "测试用安排（非官方）",
}


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar()


def test_2026_holidays_and_makeup_days(cal):
    for d in HOLIDAYS_2026:
        assert not cal.is_working_day(d), d
        assert cal.is_known(d)
    for d in MAKEUP_2026:
        assert d.weekday() >= 5
        assert cal.is_working_day(d), d
    assert cal.is_working_day(D(2026, 10, 10))   # a working Saturday
    assert cal.is_working_day(D(2026, 2, 14))    # make-up Saturday before Spring Festival
    assert not cal.is_working_day(D(2026, 10, 11))  # ordinary Sunday
    assert cal.is_working_day(D(2026, 10, 8))


def test_2026_count_of_working_days(cal):
    # 365 days, 104 weekend days, 19 holidays on weekdays, 6 make-up days → 248.
    assert cal.working_days_between(D(2025, 12, 31), D(2026, 12, 31)) == 248


def test_due_across_national_day(cal):
    # Received Monday 28 Sep; counted: 29, 30 Sep, 8, 9, 10 Oct (10 Oct is a working Saturday).
    due = cal.add_working_days(D(2026, 9, 28), 5)
    assert due == DueDate(D(2026, 10, 10), False, 5, WORKING_DAY)
    assert due.label() == "2026-10-10"
    assert cal.add_working_days(D(2026, 9, 30), 1).date == D(2026, 10, 8)


def test_day_zero_is_the_day_received(cal):
    assert cal.add_working_days(D(2026, 3, 2), 1).date == D(2026, 3, 3)
    assert cal.add_working_days(D(2026, 3, 2), 0).date == D(2026, 3, 2)
    # Received on a Saturday: the first working day is Monday.
    assert cal.add_working_days(D(2026, 3, 7), 1).date == D(2026, 3, 9)


def test_due_into_unknown_year_is_estimate(cal):
    due = cal.add_working_days(D(2026, 12, 20), 20)
    assert due.estimate
    assert not cal.is_known(D(2027, 1, 1))
    # Dec 21–31 has 9 weekdays; in January 2027 元旦 (Friday 1/1) is skipped, then 11 more weekdays.
    assert due.date == D(2027, 1, 18)
    assert due.label() == "2027-01-18（估算）"
    # Ending on the last day of 2026 is not an estimate.
    last = cal.add_working_days(D(2026, 12, 30), 1)
    assert (last.date, last.estimate) == (D(2026, 12, 31), False)
    # Counting from 31 Dec lands in 2027: an estimate.
    assert cal.add_working_days(D(2026, 12, 31), 1).estimate
    # Received on the last day of an unknown year (2003), counted only in a known one: exact.
    first = cal.add_working_days(D(2003, 12, 31), 1)
    assert (first.date, first.estimate) == (D(2004, 1, 2), False)


def test_table_for_2027_makes_it_known_and_overrides():
    table, years = parse_holiday_table(TABLE_2027)
    assert years == {2027}
    cal = WorkingCalendar(table, years)
    assert cal.is_known(D(2027, 6, 1))
    assert cal.coverage_end() == D(2027, 12, 31)
    assert not cal.is_working_day(D(2027, 1, 1))      # Friday holiday
    assert cal.is_working_day(D(2027, 1, 30))         # make-up Saturday
    assert not cal.is_working_day(D(2027, 1, 31))     # ordinary Sunday
    assert cal.is_working_day(D(2027, 1, 4))          # unlisted weekday
    due = cal.add_working_days(D(2026, 12, 20), 20)
    assert not due.estimate
    # Dec 21–31: 9; Jan 2027: 4,5,6,7,8, 11..15, 18 → the 20th counted day is Jan 18
    # (1 Jan is a holiday in the table).
    assert due.date == D(2027, 1, 18)
    assert due.label() == "2027-01-18"


def test_table_year_overrides_the_package():
    # A (hypothetical) corrected 2026: 2026-10-08 also a holiday, 2026-10-10 not a working day.
    table, years = parse_holiday_table({"year": 2026, "holidays": [d.isoformat() for d in HOLIDAYS_2026]
                                        + ["2026-10-08"], "workdays": ["2026-01-04"]})
    cal = WorkingCalendar(table, years)
    assert not cal.is_working_day(D(2026, 10, 8))
    assert not cal.is_working_day(D(2026, 10, 10))  # no longer listed: a plain Saturday
    assert not cal.is_working_day(D(2026, 2, 14))   # idem
    assert cal.is_working_day(D(2026, 1, 4))
    assert WorkingCalendar().is_working_day(D(2026, 10, 8))  # the package calendar is unchanged


def test_table_entries_outside_table_years_still_apply():
    cal = WorkingCalendar({D(2028, 3, 6): "holiday"})
    assert not cal.is_working_day(D(2028, 3, 6))
    assert not cal.is_known(D(2028, 3, 6))


def test_natural_days_move_off_holiday(cal):
    # 2026-09-21 + 10 days = 2026-10-01 (National Day) → next working day 2026-10-08.
    due = cal.add_natural_days(D(2026, 9, 21), 10)
    assert due == DueDate(D(2026, 10, 8), False, 10, NATURAL_DAY)
    # Landing on the working Saturday 10 Oct stays there.
    assert cal.add_natural_days(D(2026, 9, 30), 10).date == D(2026, 10, 10)
    # Landing on an ordinary Sunday moves to Monday.
    assert cal.add_natural_days(D(2026, 3, 1), 7).date == D(2026, 3, 9)
    # Landing on a weekday stays.
    assert cal.add_natural_days(D(2026, 3, 2), 7).date == D(2026, 3, 9)


def test_natural_days_estimate(cal):
    assert cal.add_natural_days(D(2026, 12, 1), 40).estimate
    assert not cal.add_natural_days(D(2026, 12, 1), 30).estimate
    # 2026-12-31 is a Thursday; 2026-12-26 + 5 = 2026-12-31, known.
    assert not cal.add_natural_days(D(2026, 12, 26), 5).estimate


def test_due_units(cal):
    assert cal.due(D(2026, 9, 28), 5, "工作日") == cal.add_working_days(D(2026, 9, 28), 5)
    assert cal.due(D(2026, 9, 28), 5, "working_day").unit == WORKING_DAY
    assert cal.due(D(2026, 9, 21), 10, "自然日").date == D(2026, 10, 8)
    assert cal.due(D(2026, 9, 21), 10, "natural_day").unit == NATURAL_DAY
    with pytest.raises(StationError) as info:
        cal.due(D(2026, 9, 21), 10, "小时")
    assert info.value.problems[0].field == "unit"
    with pytest.raises(StationError) as info:
        cal.due(D(2026, 9, 21), -1, "工作日")
    assert info.value.problems[0].field == "amount"


def test_working_days_between(cal):
    assert cal.working_days_between(D(2026, 9, 28), D(2026, 10, 10)) == 5
    assert cal.working_days_between(D(2026, 10, 10), D(2026, 9, 28)) == 0
    assert cal.working_days_between(D(2026, 9, 28), D(2026, 9, 28)) == 0
    # Across several years (2024 and 2025 fully counted from package data).
    total = sum(cal.working_days_between(D(y - 1, 12, 31), D(y, 12, 31)) for y in (2024, 2025, 2026))
    assert cal.working_days_between(D(2023, 12, 31), D(2026, 12, 31)) == total


@settings(max_examples=300)
@given(start=st.dates(min_value=D(2004, 1, 1), max_value=D(2028, 12, 31)), n=st.integers(0, 400))
def test_working_days_between_inverts_add_working_days(start, n):
    cal = _SHARED
    due = cal.add_working_days(start, n)
    assert cal.working_days_between(start, due.date) == n
    if n > 0:
        assert cal.is_working_day(due.date)
        assert cal.working_days_between(start, due.date - timedelta(days=1)) == n - 1
    assert due.estimate == any(not cal.is_known(start + timedelta(days=i))
                               for i in range(1, (due.date - start).days + 1))


@settings(max_examples=100)
@given(start=st.dates(min_value=D(2025, 1, 1), max_value=D(2027, 12, 31)), days=st.integers(0, 60))
def test_between_equals_day_by_day_count(start, days):
    cal = _SHARED
    end = start + timedelta(days=days)
    expected = sum(cal.is_working_day(start + timedelta(days=i)) for i in range(1, days + 1))
    assert cal.working_days_between(start, end) == expected


_SHARED = WorkingCalendar()


def test_package_year_matches_chinesecalendar_directly():
    import chinese_calendar

    cal = WorkingCalendar()
    d = D(2019, 1, 1)
    while d.year < 2027:
        assert cal.is_working_day(d) == chinese_calendar.is_workday(d), d
        d += timedelta(days=1)


def test_unknown_year_counts_weekdays_less_the_statutory_holidays():
    cal = WorkingCalendar()
    assert not cal.is_known(D(2030, 1, 2))
    assert cal.is_working_day(D(2030, 1, 2))      # a Wednesday: no holiday data, counted as working
    assert not cal.is_working_day(D(2030, 1, 1))  # 元旦, a Tuesday: a statutory holiday by the rules
    assert not cal.is_working_day(D(2030, 1, 5))  # Saturday
    assert cal.coverage_end() == D(2026, 12, 31)


def test_estimates_skip_the_fixed_and_lunar_statutory_holidays():
    """2027 has no published arrangement: 元旦, 春节 (除夕–初三), 清明, 劳动节 (1–2 May), 端午, 中秋 and
    国庆 (1–3 Oct) are skipped by the rules, lunar dates from the lunar calendar; still flagged 估算."""
    from station.calendar import statutory_holidays

    off = statutory_holidays(2027)
    assert {D(2027, 2, 5), D(2027, 2, 6), D(2027, 2, 7), D(2027, 2, 8)} <= off   # 除夕 and 初一–初三
    assert {D(2027, 4, 5), D(2027, 6, 9), D(2027, 9, 15)} <= off                 # 清明, 端午, 中秋
    assert {D(2027, 1, 1), D(2027, 5, 1), D(2027, 5, 2), D(2027, 10, 3)} <= off and len(off) == 13
    # the rules reproduce the statutory days inside the published 2026 arrangement
    assert statutory_holidays(2026) >= {D(2026, 2, 16), D(2026, 2, 17), D(2026, 2, 18), D(2026, 2, 19),
                                        D(2026, 4, 5), D(2026, 6, 19), D(2026, 9, 25)}
    cal = WorkingCalendar()
    for day in (D(2027, 2, 5), D(2027, 2, 8), D(2027, 4, 5), D(2027, 6, 9), D(2027, 9, 15), D(2027, 10, 1)):
        assert not cal.is_working_day(day), day
    due = cal.add_working_days(D(2027, 2, 3), 2)     # Wed 2/3: Thu 2/4, then 2/5 and 2/8 are 春节
    assert (due.date, due.estimate) == (D(2027, 2, 9), True)


def test_2027_01_01_is_never_an_estimated_due_date():
    """The case of the issue: filed 2026-12-02, due "2027年1月1日（估算）" with weekdays only."""
    cal = WorkingCalendar()
    issue = cal.add_working_days(D(2026, 12, 2), 22)
    assert (issue.date, issue.estimate) == (D(2027, 1, 4), True)
    for start in (D(2026, 11, 1) + timedelta(days=k) for k in range(61)):
        for amount in range(1, 41):
            assert cal.add_working_days(start, amount).date != D(2027, 1, 1), (start, amount)
        for amount in range(1, 61):
            assert cal.add_natural_days(start, amount).date != D(2027, 1, 1), (start, amount)


# --------------------------------------------------------------------------- holiday tables

def test_parse_several_years_and_toml_dates():
    text = """
    [[years]]
    year = 2027
    holidays = [2027-01-01, "2027-10-01"]
    workdays = [2027-09-26]
    source = "国务院办公厅通知"

    [[years]]
    year = 2028
    holidays = ["2028-01-01"]
    """
    table, years = parse_holiday_table(tomllib.loads(text))
    assert years == {2027, 2028}
    assert table == {D(2027, 1, 1): "holiday", D(2027, 10, 1): "holiday",
                     D(2027, 9, 26): "workday", D(2028, 1, 1): "holiday"}


def test_parse_json_single_year():
    table, years = parse_holiday_table(json.loads(json.dumps(TABLE_2027)))
    assert years == {2027}
    assert table[D(2027, 2, 20)] == "workday"
    assert len(table) == 13


def bad(data) -> dict[str, str]:
    with pytest.raises(StationError) as info:
        parse_holiday_table(data)
    assert info.value.code == "invalid_holiday_table"
    return {p.field: p.code for p in info.value.problems}


def test_bad_tables_refused_with_field_names():
    assert bad({"year": 2027, "holidays": ["2028-01-01"]}) == {"holidays[0]": "date_outside_year"}
    assert bad({"year": 2027, "holidays": ["2027-02-30"]}) == {"holidays[0]": "invalid_date"}
    assert bad({"year": 2027, "holidays": ["2027-01-01"], "workdays": ["2027-01-04"]}) == {
        "workdays[0]": "workday_not_weekend"}
    assert bad({"year": 2027, "holidays": ["2027-01-30"], "workdays": ["2027-01-30"]}) == {
        "holidays[0]": "holiday_and_workday"}
    assert bad({"holidays": []}) == {"year": "missing"}
    assert bad({"year": "2027", "holidays": []}) == {"year": "invalid_year"}
    assert bad({"year": 2027}) == {"holidays": "missing"}
    assert bad({"year": 2027, "holidays": "2027-01-01"}) == {"holidays": "invalid_type"}
    assert bad({"year": 2027, "holidays": [], "workday": ["2027-01-30"]}) == {"workday": "unknown_key"}
    assert bad({"years": [TABLE_2027, TABLE_2027]}) == {"years[1].year": "duplicate_year"}
    assert bad({"years": []}) == {"years": "invalid_type"}


def test_every_problem_reported_at_once():
    problems = bad({"years": [
        {"year": 2027, "holidays": ["2027-13-01", "2026-12-31"], "workdays": ["2027-01-05"]},
        {"year": 2028, "holidays": [20280101]},
    ]})
    assert problems == {
        "years[0].holidays[0]": "invalid_date",
        "years[0].holidays[1]": "date_outside_year",
        "years[0].workdays[0]": "workday_not_weekend",
        "years[1].holidays[0]": "invalid_date",
    }


def test_calendar_refuses_unknown_kind():
    with pytest.raises(StationError):
        WorkingCalendar({D(2027, 1, 1): "day-off"})
