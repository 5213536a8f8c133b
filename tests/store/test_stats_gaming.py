"""Figures an operator under pressure could game, each through the real store: the PC clock set back
to backdate a late decision or the stat day, and an overdue case withdrawn or refused so that it
leaves 当前超期 without a trace."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from station.cases import CaseReader, record_materials, withdraw
from station.operators import os_account
from station.review import Decision, decide
from station.stats import compute
from tests.support import ship
from tests.support.township_pair import file_item, village_and_township



@pytest.fixture
def world(tmp_path: Path, catalog):
    with village_and_township(tmp_path) as pair:
        yield pair


def test_a_decision_cannot_be_backdated_by_setting_the_pc_clock_back(world, catalog) -> None:
    v, t, clock, reviewer = world
    late, other = file_item(v, catalog, 1), file_item(v, catalog, 2)
    ship(v, t)
    clock.set_day(date(2026, 9, 29))
    decide(t, late, Decision("accept"), reviewer)
    clock.set_day(date(2026, 10, 14))                  # four days past the promised 10/10
    decide(t, other, Decision("accept"), reviewer)     # the log now knows it is 10/14
    clock.set_day(date(2026, 10, 9))                   # the reviewer sets the PC clock back ...
    decide(t, late, Decision("approve"), reviewer)     # ... and approves "on time"
    case = CaseReader(t).get(late)
    assert case.decision["date"] >= "2026-10-14"
    f = compute(t, date(2026, 10, 1), date(2026, 10, 31), today=date(2026, 10, 14)).total
    assert (f.completed, f.on_time) == (1, 0)


def test_the_stat_day_cannot_be_moved_back_by_the_pc_clock(world, catalog) -> None:
    v, t, clock, reviewer = world
    number = file_item(v, catalog, 3)
    ship(v, t)
    clock.set_day(date(2026, 10, 14))
    decide(t, number, Decision("accept"), reviewer)    # due 10/10: overdue on 10/14
    clock.set_day(date(2026, 10, 9))                   # clock set back before printing the report
    report = compute(t, date(2026, 9, 1), date(2026, 9, 30))
    assert report.today >= "2026-10-14"
    assert report.total.overdue_now == 1


def test_withdrawing_an_overdue_case_is_shown_not_hidden(world, catalog) -> None:
    v, t, clock, reviewer = world
    overdue, early = file_item(v, catalog, 4), file_item(v, catalog, 5)
    clock.set_day(date(2026, 9, 29))
    withdraw(v, early, "申请人本人要求撤回", os_account())     # before its due date: an ordinary withdrawal
    clock.set_day(date(2026, 10, 13))
    assert compute(v, date(2026, 10, 1), date(2026, 10, 31)).total.overdue_now == 1
    withdraw(v, overdue, "申请人本人要求撤回", os_account())   # three days after its 10/10 due date
    f = compute(v, date(2026, 10, 1), date(2026, 10, 31)).total
    assert f.overdue_now == 0
    assert (f.withdrawn, f.ended_overdue) == (1, 1)
    sept = compute(v, date(2026, 9, 1), date(2026, 9, 30)).total
    assert (sept.withdrawn, sept.ended_overdue) == (1, 0)


def test_refusing_an_overdue_case_is_shown_not_hidden(world, catalog) -> None:
    v, t, clock, reviewer = world
    number = file_item(v, catalog, 6)
    ship(v, t)
    clock.set_day(date(2026, 10, 13))                  # nobody looked at it; due 10/10
    decide(t, number, Decision("refuse", reason="不属于本乡镇受理范围"), reviewer)
    f = compute(t, date(2026, 10, 1), date(2026, 10, 31)).total
    assert (f.overdue_now, f.not_accepted, f.ended_overdue) == (0, 1, 1)


def test_a_supplement_entered_after_the_correction_deadline_does_not_stop_the_clock_longer(world, catalog) -> None:
    v, t, clock, reviewer = world
    number = file_item(v, catalog, 7)                      # Monday 9/28, due 10/10
    ship(v, t)
    clock.set_day(date(2026, 9, 30))
    decide(t, number, Decision("correct", reason="照片不清晰", materials=("id_card",)), reviewer)
    assert CaseReader(t).get(number).decision["due_date"] == "2026-10-20"   # 10 working days
    ship(t, v)
    clock.set_day(date(2026, 11, 2))                   # entered two weeks after the 补正期限
    record_materials(v, number, ["id_card"], os_account())
    ship(v, t)
    decide(t, number, Decision("accept"), reviewer)
    decide(t, number, Decision("approve"), reviewer)
    case = CaseReader(t).get(number)
    # paused (9/30, 10/20] only: 10/8, 10/9, 10/10, 10/12–16, 10/19, 10/20 = 10 working days;
    # the two days used before (9/29, 9/30) and three left: 10/10 + 10 working days = 10/23, not later
    assert case.legal.paused_days == 10
    assert case.promised_due == "2026-10-23"
    f = compute(t, date(2026, 11, 1), date(2026, 11, 30)).total
    assert (f.completed, f.on_time) == (1, 0)
