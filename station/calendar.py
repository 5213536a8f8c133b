"""Working days with the State Council holiday and make-up-day calendar (法定节假日 / 调休).

Where a day's status comes from, first match wins:
1. the station's holiday table (received through sync) lists the date → "holiday" or "workday";
2. the date's year is one the table fully covers (``table_years``) → Monday–Friday work;
3. the year is covered by the PyPI package ``chinesecalendar`` → its answer;
4. otherwise Monday–Friday less the statutory holidays themselves (元旦, 春节, 清明, 劳动节, 端午,
   中秋, 国庆: the fixed ones by date, the lunar ones and 清明 computed with ``lunar_python``), and
   every result that depends on such a day is flagged as an estimate: the year's 调休 arrangement is
   published each November and may add days around them, which no rule can foresee.

So a table year overrides the package completely (a corrected schedule replaces the old one).

Speed: the calendar is consulted while rebuilding projections of 100,000 cases, so each year is
computed once into a cumulative count of working days; ``add_working_days`` and
``working_days_between`` are then a bisect and a subtraction per year crossed, not a walk day by day.
"""

from __future__ import annotations

import functools
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Iterable, Mapping

from forms.problems import Problem, ProblemList, StationError

__all__ = ["WORKING_DAY", "NATURAL_DAY", "DueDate", "WorkingCalendar", "parse_holiday_table", "statutory_holidays"]

WORKING_DAY = "工作日"
NATURAL_DAY = "自然日"
_UNITS = {WORKING_DAY: WORKING_DAY, "working_day": WORKING_DAY,
          NATURAL_DAY: NATURAL_DAY, "natural_day": NATURAL_DAY}

HOLIDAY = "holiday"
WORKDAY = "workday"


@dataclass(frozen=True)
class DueDate:
    """A computed due date; ``estimate`` is True when a day it depends on lies in a year without
    holiday data (counted Monday–Friday), and must then be shown as 估算 wherever it appears."""

    date: date
    estimate: bool
    amount: int
    unit: str

    def label(self) -> str:
        text = self.date.isoformat()
        return f"{text}（估算）" if self.estimate else text


@functools.cache
def _package_data() -> tuple[frozenset[date], frozenset[date], int, int]:
    """(holidays, make-up workdays, first year, last year) of the chinesecalendar package.

    Imported once, on first use, not at module import. Without the package every year is unknown
    (all due dates become flagged estimates) rather than failing.
    """
    try:
        import chinese_calendar
    except ImportError:
        return frozenset(), frozenset(), 1, 0
    holidays = frozenset(d for d in chinese_calendar.holidays)
    workdays = frozenset(d for d in chinese_calendar.workdays)
    years = [d.year for d in holidays]
    # The package's own range check uses min/max of its holiday keys; mirror it exactly.
    return holidays, workdays, min(years), max(years)


@functools.cache
def statutory_holidays(year: int) -> frozenset[date]:
    """The statutory public holidays of ``year`` by the rules alone (《全国年节及纪念日放假办法》):
    since 2025 元旦 1 day, 春节 4 (除夕 to 初三), 清明 1, 劳动节 2 (1–2 May), 端午 1, 中秋 1, 国庆 3;
    before 2025 春节 3 (初一 to 初三) and 劳动节 1. Without the lunar library only the fixed dates.

    These are the days off by law, not the published arrangement (which moves weekends around them):
    used only for years with no published arrangement, whose dates stay flagged as estimates."""
    days = {date(year, 1, 1), date(year, 5, 1), date(year, 10, 1), date(year, 10, 2), date(year, 10, 3)}
    if year >= 2025:
        days.add(date(year, 5, 2))
    try:
        from lunar_python import Lunar
    except ImportError:
        return frozenset(days)
    new_year = Lunar.fromYmd(year, 1, 1)
    spring = [new_year.next(k) for k in ((-1, 0, 1, 2) if year >= 2025 else (0, 1, 2))]
    lunar_days = spring + [Lunar.fromYmd(year, 5, 5), Lunar.fromYmd(year, 8, 15)]
    for lunar in lunar_days:
        solar = lunar.getSolar()
        days.add(date(solar.getYear(), solar.getMonth(), solar.getDay()))
    qingming = Lunar.fromYmd(year, 3, 1).getJieQiTable()["清明"]
    days.add(date(qingming.getYear(), qingming.getMonth(), qingming.getDay()))
    return frozenset(d for d in days if d.year == year)


@dataclass(frozen=True)
class _Year:
    ordinal0: int          # toordinal() of 31 December of the previous year
    known: bool
    cum: tuple[int, ...]   # cum[k] = working days among the first k days of the year

    @property
    def days(self) -> int:
        return len(self.cum) - 1

    @property
    def total(self) -> int:
        return self.cum[-1]


def _as_date(d: date) -> date:
    return d.date() if isinstance(d, datetime) else d


class WorkingCalendar:
    """Answers "is this a working day" and computes due dates; see the module docstring.

    ``table`` maps a date to "holiday" or "workday" (a make-up working day); ``table_years`` are the
    years the table fully covers. Instances are immutable after construction and safe to share.
    """

    def __init__(self, table: Mapping[date, str] | None = None, table_years: Iterable[int] = ()):
        entries: dict[date, str] = {}
        for d, kind in (table or {}).items():
            if kind not in (HOLIDAY, WORKDAY):
                raise StationError("invalid_holiday_table", "节假日安排表有误",
                                   [Problem(str(d), "invalid_kind",
                                            f"{d} 的类型应为 holiday 或 workday，现为 {kind!r}")])
            entries[_as_date(d)] = kind
        self._table = entries
        self._table_years = frozenset(int(y) for y in table_years)
        self._years: dict[int, _Year] = {}

    # ----------------------------------------------------------------- per-year data

    def _year(self, year: int) -> _Year:
        data = self._years.get(year)
        if data is None:
            data = self._build_year(year)
            self._years[year] = data
        return data

    def _build_year(self, year: int) -> _Year:
        pkg_holidays, pkg_workdays, pkg_first, pkg_last = _package_data()
        in_table = year in self._table_years
        in_package = not in_table and pkg_first <= year <= pkg_last
        start = date(year, 1, 1)
        ndays = (date(year + 1, 1, 1) - start).days if year < 9999 else 365
        cum = [0] * (ndays + 1)
        count = 0
        table = self._table
        estimated_off = frozenset() if in_table or in_package or not 1901 <= year <= 2099 else statutory_holidays(year)
        for k in range(ndays):
            d = start + timedelta(days=k)
            kind = table.get(d)
            if kind is not None:
                working = kind == WORKDAY
            elif in_package:
                working = d in pkg_workdays or (d.weekday() < 5 and d not in pkg_holidays)
            else:
                working = d.weekday() < 5 and d not in estimated_off
            count += working
            cum[k + 1] = count
        return _Year(ordinal0=start.toordinal() - 1, known=in_table or in_package, cum=tuple(cum))

    # ----------------------------------------------------------------- queries

    def is_known(self, d: date) -> bool:
        """True if ``d``'s year has holiday data (table year or package year)."""
        return self._year(d.year).known

    def is_working_day(self, d: date) -> bool:
        data = self._year(d.year)
        k = d.toordinal() - data.ordinal0
        return data.cum[k] != data.cum[k - 1]

    def coverage_end(self) -> date:
        """Last day of the last known year (table or package).

        ``date.min`` if there is no data at all. Note: a gap year before it (e.g. a table for 2028 only) is still unknown; due dates in it are
        flagged as estimates regardless of this value.
        """
        _, _, pkg_first, pkg_last = _package_data()
        known = set(self._table_years)
        if pkg_first <= pkg_last:
            known.add(pkg_last)
        if not known:
            return date.min  # no holiday data at all: every date is an estimate
        return date(max(known), 12, 31)

    # ----------------------------------------------------------------- counting

    def add_working_days(self, start: date, n: int) -> DueDate:
        """The n-th working day strictly after ``start`` (the day received is day 0).

        ``estimate`` is True if any day in (start, result] lies in an unknown year.
        """
        start = _as_date(start)
        _check_amount(n)
        if n == 0:
            return DueDate(start, False, 0, WORKING_DAY)
        year = start.year
        data = self._year(year)
        k = start.toordinal() - data.ordinal0
        need = n
        estimate = False
        while True:
            if k < data.days and not data.known:
                estimate = True
            base = data.cum[k]
            available = data.total - base
            if need <= available:
                idx = bisect_left(data.cum, base + need, k + 1)
                return DueDate(date.fromordinal(data.ordinal0 + idx), estimate, n, WORKING_DAY)
            need -= available
            year += 1
            data = self._year(year)
            k = 0

    def add_natural_days(self, start: date, n: int) -> DueDate:
        """``start + n`` days; a last day that is not a working day (a statutory holiday, or a
        weekend that is not a make-up day) moves to the next working day (行政许可法 / 民法典 §203
        period rule). ``estimate`` if the last day or any day it moved over is in an unknown year."""
        start = _as_date(start)
        _check_amount(n)
        d = start + timedelta(days=n)
        estimate = not self.is_known(d)
        while not self.is_working_day(d):
            d += timedelta(days=1)
            estimate = estimate or not self.is_known(d)
        return DueDate(d, estimate, n, NATURAL_DAY)

    def due(self, start: date, amount: int, unit: str) -> DueDate:
        """Due date for a time limit of ``amount`` ``unit`` (工作日/自然日, or working_day/natural_day)."""
        canonical = _UNITS.get(unit)
        if canonical is None:
            raise StationError("invalid_time_limit", "时限单位有误",
                               [Problem("unit", "invalid_unit",
                                        f"时限单位应为“工作日”或“自然日”，现为“{unit}”")])
        if canonical == WORKING_DAY:
            return self.add_working_days(start, amount)
        return self.add_natural_days(start, amount)

    def working_days_between(self, start: date, end: date) -> int:
        """Number of working days d with start < d <= end (0 if end <= start)."""
        start, end = _as_date(start), _as_date(end)
        if end <= start:
            return 0
        first = self._year(start.year)
        last = self._year(end.year)
        k_end = end.toordinal() - last.ordinal0
        k_start = start.toordinal() - first.ordinal0
        if start.year == end.year:
            return first.cum[k_end] - first.cum[k_start]
        total = first.total - first.cum[k_start] + last.cum[k_end]
        for year in range(start.year + 1, end.year):
            total += self._year(year).total
        return total


def _check_amount(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise StationError("invalid_time_limit", "时限有误",
                           [Problem("amount", "invalid_amount", f"时限应为不小于0的整数，现为 {n!r}")])


# --------------------------------------------------------------------------- holiday tables

_TABLE_KEYS = {"year", "holidays", "workdays", "source"}


def _parse_day(raw: Any, year: int | None, field: str, problems: ProblemList) -> date | None:
    if isinstance(raw, datetime):
        problems.add(field, "invalid_date", f"{field} 应为日期（YYYY-MM-DD），不应带时间")
        return None
    if isinstance(raw, date):
        d = raw
    elif isinstance(raw, str):
        try:
            d = date.fromisoformat(raw.strip())
        except ValueError:
            problems.add(field, "invalid_date", f"{field} 不是有效日期（应为YYYY-MM-DD）：{raw}")
            return None
        if len(raw.strip()) != 10:
            problems.add(field, "invalid_date", f"{field} 日期格式应为YYYY-MM-DD：{raw}")
            return None
    else:
        problems.add(field, "invalid_date", f"{field} 应为日期（YYYY-MM-DD）")
        return None
    if year is not None and d.year != year:
        problems.add(field, "date_outside_year", f"{field} 的日期 {d.isoformat()} 不在 {year} 年内")
        return None
    return d


def _parse_one(data: Any, prefix: str, problems: ProblemList) -> tuple[int | None, dict[date, str]]:
    entries: dict[date, str] = {}
    if not isinstance(data, Mapping):
        problems.add(prefix.rstrip(".") or "table", "invalid_type", "节假日安排应为键值表")
        return None, entries
    for key in sorted(set(data) - _TABLE_KEYS, key=str):
        problems.add(f"{prefix}{key}", "unknown_key",
                     f"未知的键 {key}（只允许 year、holidays、workdays、source）")

    year = data.get("year")
    if "year" not in data:
        problems.add(f"{prefix}year", "missing", "缺少年份 year")
        year = None
    elif isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2999:
        problems.add(f"{prefix}year", "invalid_year", f"年份 year 应为1900至2999之间的整数，现为 {year!r}")
        year = None

    if "source" in data and not isinstance(data["source"], str):
        problems.add(f"{prefix}source", "invalid_type", "来源 source 应为文字")

    lists: dict[str, list[date]] = {"holidays": [], "workdays": []}
    for key in ("holidays", "workdays"):
        if key not in data:
            if key == "holidays":
                problems.add(f"{prefix}{key}", "missing", "缺少放假日期列表 holidays")
            continue
        raw_list = data[key]
        if isinstance(raw_list, (str, bytes)) or not isinstance(raw_list, (list, tuple)):
            problems.add(f"{prefix}{key}", "invalid_type", f"{key} 应为日期列表")
            continue
        for i, raw in enumerate(raw_list):
            d = _parse_day(raw, year, f"{prefix}{key}[{i}]", problems)
            if d is not None:
                lists[key].append(d)

    workdays_set = set(lists["workdays"])
    for i, d in enumerate(lists["holidays"]):
        if d in workdays_set:
            problems.add(f"{prefix}holidays[{i}]", "holiday_and_workday",
                         f"{d.isoformat()} 同时列为放假日和调休上班日")
        entries[d] = HOLIDAY
    for i, d in enumerate(lists["workdays"]):
        if d.weekday() < 5:
            problems.add(f"{prefix}workdays[{i}]", "workday_not_weekend",
                         f"调休上班日 {d.isoformat()} 应为周六或周日（平日本来就上班）")
        entries.setdefault(d, WORKDAY)
    return year, entries


def parse_holiday_table(data: Mapping) -> tuple[dict[date, str], set[int]]:
    """Validate a holiday table (parsed JSON or TOML) and return (table, table_years).

    Accepted shapes: one year ``{"year": 2027, "holidays": [...], "workdays": [...], "source": "..."}``
    or several ``{"years": [<one year>, ...]}``. Dates are "YYYY-MM-DD" strings or date values (TOML
    dates). Every problem is reported at once, each naming its key (``years[1].workdays[0]``);
    raises ``StationError("invalid_holiday_table")``.
    """
    problems = ProblemList()
    table: dict[date, str] = {}
    years: set[int] = set()
    if not isinstance(data, Mapping):
        problems.add("table", "invalid_type", "节假日安排表应为键值表")
        problems.raise_if_any("invalid_holiday_table", "节假日安排表有误")
    if "years" in data:
        extra = sorted(set(data) - {"years"}, key=str)
        for key in extra:
            problems.add(str(key), "unknown_key", f"使用 years 列表时不应再有键 {key}")
        items = data["years"]
        if isinstance(items, (str, bytes)) or not isinstance(items, (list, tuple)) or not items:
            problems.add("years", "invalid_type", "years 应为非空的年度安排列表")
            items = []
        parts = [(f"years[{i}].", item) for i, item in enumerate(items)]
    else:
        parts = [("", data)]
    for prefix, part in parts:
        year, entries = _parse_one(part, prefix, problems)
        if year is None:
            continue
        if year in years:
            problems.add(f"{prefix}year", "duplicate_year", f"{year} 年的安排重复出现")
            continue
        years.add(year)
        table.update(entries)
    problems.raise_if_any("invalid_holiday_table", "节假日安排表有误")
    return table, years
