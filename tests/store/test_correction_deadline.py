"""The 补正期限 cannot be used to hide a case: it has an upper bound (MAX_CORRECTION_WORKING_DAYS), a
far-off date arriving by sync stops the clock for the bound at most, and a case still awaiting the
citizen's 补正 after its 补正期限 is counted (补正逾期未补) until the supplement arrives."""

from __future__ import annotations

import random
from datetime import date, datetime
from pathlib import Path

import pytest

from forms.problems import StationError
from station import events as ev
from station.cases import CaseReader, file_case, record_materials
from station.lifecycle import MAX_CORRECTION_WORKING_DAYS
from station.operators import add_operator, os_account
from station.review import Decision, decide
from station.sample_data import make_submission
from station.setup import init_station
from station.stats import EXPORT_COLUMNS, compute
from station.store import Store
from tests.support import TOWNSHIP, VILLAGE, FixedClock, ship

ITEM = "RS-CBZT-001"  # township level, promised 5 working days: filed Monday 9/28, due 10/10
# 30 working days after Wednesday 9/30: 10/8–10/10 (make-up Saturday), 10/12–16, 10/19–23, 10/26–30 (18),
# 11/2–6, 11/9–13, 11/16, 11/17 (12)
LATEST = "2026-11-17"


@pytest.fixture
def world(tmp_path: Path, catalog):
    clock = FixedClock(datetime(2026, 9, 28, 9, 0))
    stores = {}
    for key, code, role in (("v", VILLAGE, "village"), ("t", TOWNSHIP, "township")):
        init_station(tmp_path / key, code, f"{key}站", role, clock=clock)
        stores[key] = Store.open(tmp_path / key, clock=clock)
    reviewer = add_operator(stores["t"], "赵审核", "reviewer", "secret123", os_account())
    yield stores["v"], stores["t"], clock, reviewer
    for s in stores.values():
        s.close()


def _file(store: Store, catalog, seed: int) -> str:
    data = make_submission(catalog.get(ITEM), random.Random(seed), store.clock().date())
    return file_case(store, catalog, ITEM, data, os_account()).number


def _correct(due: date | None = None) -> Decision:
    return Decision("correct", reason="身份证复印件不清晰", materials=("id_card",), due_date=due)


def _events(store: Store) -> int:
    return store.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]


def test_a_correction_deadline_beyond_the_bound_is_refused_and_nothing_is_lost(world, catalog) -> None:
    v, t, clock, reviewer = world
    assert MAX_CORRECTION_WORKING_DAYS == 30
    number = _file(v, catalog, 1)
    ship(v, t)
    clock.set_day(date(2026, 9, 30))
    before = _events(t)
    for too_far in (date(2099, 12, 31), date(2026, 11, 18)):   # absurd, and one day past the bound
        with pytest.raises(StationError) as refused:
            decide(t, number, _correct(too_far), reviewer)
        (problem,) = refused.value.problems
        assert (problem.field, problem.code) == ("due_date", "due_date_too_far")
        assert LATEST in problem.message and "30个工作日" in problem.message
    assert _events(t) == before                                    # nothing written
    case = CaseReader(t).get(number)
    assert case.status == "received" and case.corrections == 0
    case = decide(t, number, _correct(date.fromisoformat(LATEST)), reviewer)   # the bound itself is allowed
    assert case.status == "correction_requested" and case.decision["due_date"] == LATEST


def test_correction_overdue_now_counts_a_case_past_its_deadline_until_it_is_supplemented(world, catalog) -> None:
    v, t, clock, reviewer = world
    number, other = _file(v, catalog, 2), _file(v, catalog, 3)
    ship(v, t)
    clock.set_day(date(2026, 9, 30))
    decide(t, number, _correct(), reviewer)                        # default: 10 working days, 10/20
    decide(t, other, _correct(date(2026, 11, 2)), reviewer)        # a later 补正期限 within the bound
    assert CaseReader(t).get(number).decision["due_date"] == "2026-10-20"
    ship(t, v)

    def figure(store: Store, today: date, by: str | None = None):
        return compute(store, date(2026, 10, 1), date(2026, 10, 31), by=by, today=today)

    assert figure(t, date(2026, 10, 20)).total.correction_overdue_now == 0   # the 补正期限 itself: not late
    late = figure(t, date(2026, 10, 21))
    assert late.total.correction_overdue_now == 1
    assert late.total.overdue_now == 0                             # the clock is stopped: never 当前超期
    assert late.total.to_dict()["correction_overdue_now"] == 1
    assert [g.correction_overdue_now for g in figure(t, date(2026, 10, 21), by="village").groups] == [1]
    # a 补正 asked for in September still counts in a later month: a "now" figure, whatever the period
    assert compute(t, date(2026, 12, 1), date(2026, 12, 31), today=date(2026, 11, 3)).total.correction_overdue_now == 2
    assert figure(v, date(2026, 10, 21)).total.correction_overdue_now == 1   # the village sees it the same

    clock.set_day(date(2026, 10, 22))
    record_materials(v, number, ["id_card"], os_account())        # the citizen brings it, late
    ship(v, t)
    for store in (v, t):
        f = figure(store, date(2026, 10, 22)).total
        assert (f.correction_overdue_now, f.overdue_now) == (0, 0)
    assert figure(t, date(2026, 11, 3)).total.correction_overdue_now == 1     # only the other one


def test_a_synced_correction_with_an_absurd_deadline_cannot_hide_the_case(world, catalog) -> None:
    v, t, clock, reviewer = world
    number = _file(v, catalog, 4)
    ship(v, t)
    clock.set_day(date(2026, 9, 30))
    # An event another program wrote (an old version, a hand-made batch): the domain would refuse it.
    t.append(ev.CASE_CORRECTION_REQUESTED, {"reason": "材料不全", "date": "2026-09-30", "materials": ["id_card"],
                                            "material_names": ["身份证"], "due_date": "2099-12-31"},
             reviewer.name, number)
    ship(t, v)
    case = CaseReader(v).get(number)
    assert case.status == "correction_requested" and case.decision["due_date"] == "2099-12-31"  # kept as sent
    assert compute(v, date(2026, 11, 1), date(2026, 11, 30), today=date.fromisoformat(LATEST)
                   ).total.correction_overdue_now == 0
    assert compute(v, date(2026, 11, 1), date(2026, 11, 30), today=date(2026, 11, 18)).total.correction_overdue_now == 1

    clock.set_day(date(2026, 12, 1))
    record_materials(v, number, ["id_card"], os_account())
    case = CaseReader(v).get(number)
    # the pause counts the bound, (9/30, 11/17], not the 46 working days up to 12/1;
    # two working days used before (9/29, 9/30), three left after 11/17: 11/18, 11/19, 11/20
    assert case.legal.paused_days == MAX_CORRECTION_WORKING_DAYS
    assert case.promised_due == "2026-11-20"
    f = compute(v, date(2026, 12, 1), date(2026, 12, 31), today=date(2026, 12, 1)).total
    assert (f.overdue_now, f.correction_overdue_now) == (1, 0)    # late, and now counted as such


def test_the_new_figure_is_exported_after_the_existing_columns() -> None:
    keys = [k for k, _ in EXPORT_COLUMNS]
    assert keys[-1] == "correction_overdue_now" and dict(EXPORT_COLUMNS)["correction_overdue_now"] == "补正逾期未补"
    assert keys.index("overdue_now") == 6 and keys[-2] == "ended_overdue"   # the existing columns keep their places
