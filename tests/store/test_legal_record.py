"""The legal record through the real store (issue 14): 补正 once within the statutory window and
deemed acceptance after it, the clock paused and resumed with the days already used, 转报 to a
listed body kept open and watched, 公示 as a state whose days the clock counts, the hand-over to the
township. Events move between stores as sync delivers them (``ship``)."""

from __future__ import annotations

import random
from datetime import date, datetime
from pathlib import Path

import pytest

from forms.problems import StationError
from station.cases import CaseReader, deliver, file_case, hand_over, record_materials
from station.operators import add_operator, os_account
from station.review import Decision, decide, review_queue
from station.sample_data import make_submission
from station.setup import init_station
from station.stats import compute
from station.store import Store
from tests.support import TOWNSHIP, VILLAGE, FixedClock, ship

ITEM = "RS-CBZT-001"      # township level, promised 5 working days, forward to the county 社保 office (5)
POSTED = "MZ-GLJT-001"    # 高龄津贴: 5-day 公示, promised 22 working days


@pytest.fixture
def world(tmp_path: Path, catalog):
    clock = FixedClock(datetime(2026, 9, 28, 9, 0))  # Monday before the National Day week
    stores = {}
    for key, code, role in (("v", VILLAGE, "village"), ("t", TOWNSHIP, "township")):
        init_station(tmp_path / key, code, f"{key}站", role, clock=clock)
        stores[key] = Store.open(tmp_path / key, clock=clock)
    t = stores["t"]
    reviewer = add_operator(t, "赵审核", "reviewer", "secret123", os_account())
    admin = add_operator(t, "钱主任", "admin", "secret123", os_account())
    yield stores["v"], t, clock, reviewer, admin
    for s in stores.values():
        s.close()


def _file(v: Store, catalog, code: str = ITEM, seed: int = 1) -> str:
    data = make_submission(catalog.get(code), random.Random(seed), v.clock().date())
    return file_case(v, catalog, code, data, os_account()).number


def test_a_second_correction_by_a_reviewer_is_refused_and_an_admin_needs_a_reason(world, catalog) -> None:
    v, t, clock, reviewer, admin = world
    n = _file(v, catalog)
    ship(v, t)
    clock.set_day(date(2026, 9, 29))
    decide(t, n, Decision("correct", reason="身份证复印件不清晰", materials=("id_card",)), reviewer)
    ship(t, v)
    clock.set_day(date(2026, 9, 30))
    record_materials(v, n, ["id_card"], os_account())
    ship(v, t)
    with pytest.raises(StationError) as err:
        decide(t, n, Decision("correct", reason="还缺材料", materials=("id_card",)), reviewer)
    assert err.value.code == "correction_not_allowed" and "一次性告知" in err.value.message
    with pytest.raises(StationError) as err:
        decide(t, n, Decision("correct", reason="还缺材料", materials=("id_card",)), admin)
    assert err.value.code == "exception_reason_required"
    case = decide(t, n, Decision("correct", reason="复印件被水浸污，无法辨认", materials=("id_card",),
                                 exception_reason="原件复印件受损，非申请人原因"), admin)
    assert (case.corrections, case.legal.second_corrections) == (2, 1)
    assert "例外补正" in case.timeline[-1].detail
    # both counted, the second one separately
    total = compute(t, date(2026, 9, 1), date(2026, 9, 30)).total
    assert (total.corrections, total.second_corrections) == (2, 1)


def test_after_five_working_days_the_case_is_deemed_accepted_and_a_correction_is_refused(world, catalog) -> None:
    v, t, clock, reviewer, admin = world
    n = _file(v, catalog)                                  # Monday 9/28
    ship(v, t)
    reader = CaseReader(t, date(2026, 10, 9))              # 5th working day: 9/29, 9/30, 10/8, 10/9 … 10/10
    assert reader.get(n).legal.correction_deadline == "2026-10-10"
    assert not reader.get(n).legal.deemed_accepted
    late = CaseReader(t, date(2026, 10, 12)).get(n)
    assert late.legal.deemed_accepted and "视为受理" in late.status_label
    clock.set_day(date(2026, 10, 12))
    with pytest.raises(StationError) as err:
        decide(t, n, Decision("correct", reason="照片不清晰", materials=("id_card",)), reviewer)
    assert err.value.code == "correction_not_allowed" and "视为受理" in err.value.message
    # acceptance is still recorded normally
    assert decide(t, n, Decision("accept"), reviewer).status == "accepted"


def test_the_due_date_after_a_supplement_is_the_original_plus_the_paused_working_days(world, catalog) -> None:
    v, t, clock, reviewer, admin = world
    n = _file(v, catalog)
    ship(v, t)
    original = CaseReader(v).get(n).promised_due
    assert original == "2026-10-10"
    clock.set_day(date(2026, 9, 30))
    decide(t, n, Decision("correct", reason="照片不清晰", materials=("id_card",)), reviewer)
    ship(t, v)
    assert not CaseReader(v, date(2026, 10, 20)).get(n).overdue    # paused: never overdue while awaited
    clock.set_day(date(2026, 10, 16))
    case = record_materials(v, n, ["id_card"], os_account())
    cal = CaseReader(v).calendar
    paused = cal.working_days_between(date(2026, 9, 30), date(2026, 10, 16))
    assert paused == 8
    assert case.promised_due == cal.add_working_days(date.fromisoformat(original), paused).date.isoformat()
    assert case.promised_due == "2026-10-21"
    ship(v, t)
    assert CaseReader(t).get(n).promised_due == "2026-10-21"      # the township folds the same


def test_an_overdue_case_stays_overdue_after_a_late_correction(world, catalog) -> None:
    v, t, clock, reviewer, admin = world
    n = _file(v, catalog)
    ship(v, t)
    clock.set_day(date(2026, 10, 13))                          # due 10/10: already overdue
    assert CaseReader(t).get(n).overdue
    decide(t, n, Decision("correct", reason="补充说明", materials=("id_card",),
                          exception_reason="县里新要求补充材料"), admin)
    ship(t, v)
    clock.set_day(date(2026, 10, 15))
    case = record_materials(v, n, ["id_card"], os_account())
    assert case.promised_due == "2026-10-10" and case.overdue  # the pause came after the due date


def test_a_forwarded_overdue_case_stays_overdue_and_is_watched_against_the_bodys_limit(world, catalog) -> None:
    v, t, clock, reviewer, admin = world
    n = _file(v, catalog)
    ship(v, t)
    clock.set_day(date(2026, 9, 29))
    decide(t, n, Decision("accept"), reviewer)
    clock.set_day(date(2026, 10, 13))
    before = compute(t, date(2026, 9, 1), date(2026, 10, 31)).total.overdue_now
    assert before == 1
    with pytest.raises(StationError) as err:
        decide(t, n, Decision("forward", to="县政府办公室"), reviewer)
    assert err.value.code == "bad_forward_body" and "社会保险经办机构" in err.value.message
    case = decide(t, n, Decision("forward", to="社会保险经办机构"), reviewer)
    assert case.status == "forwarded" and case.overdue
    assert case.legal.forwarded_to == "县（市、区）社会保险经办机构"
    assert case.legal.forward_due == "2026-10-20"                # 5 working days from 10/13
    assert compute(t, date(2026, 9, 1), date(2026, 10, 31)).total.overdue_now == before
    assert n in {c.number for c in review_queue(t, "overdue")}
    assert CaseReader(t, date(2026, 10, 21)).get(n).legal.forward_overdue
    ship(t, v)
    at_village = CaseReader(v, date(2026, 10, 21)).get(n)
    assert at_village.status == "forwarded" and at_village.overdue and at_village.legal.forward_overdue
    # the county's result comes back through the township and ends the watch
    clock.set_day(date(2026, 10, 21))
    done = decide(t, n, Decision("approve", certificate="暂停〔2026〕9号"), reviewer)
    assert done.status == "approved" and not done.overdue and not done.legal.forward_overdue


def test_posting_is_a_state_counted_by_the_clock(world, catalog) -> None:
    v, t, clock, reviewer, admin = world
    n = _file(v, catalog, POSTED, seed=4)
    ship(v, t)
    clock.set_day(date(2026, 9, 29))
    decide(t, n, Decision("accept"), reviewer)
    due_before = CaseReader(t).get(n).promised_due
    with pytest.raises(StationError) as err:
        decide(t, n, Decision("approve"), reviewer)
    assert err.value.code == "posting_required"
    clock.set_day(date(2026, 10, 12))
    case = decide(t, n, Decision("post"), reviewer)
    assert case.status == "posting" and case.legal.posting_end == "2026-10-17"
    # the five posting days (10/13–10/17) hold the clock: 4 working days (10/13–10/16) are added
    cal = CaseReader(t).calendar
    assert case.promised_due == cal.add_working_days(date.fromisoformat(due_before), 4).date.isoformat()
    assert CaseReader(t, date(2026, 10, 14)).get(n).status_label == "公示中（第2/5天）"
    clock.set_day(date(2026, 10, 16))
    with pytest.raises(StationError) as err:
        decide(t, n, Decision("approve"), reviewer)
    assert err.value.code == "posting_not_finished" and "2026-10-17" in err.value.message
    clock.set_day(date(2026, 10, 19))
    assert decide(t, n, Decision("approve"), reviewer).status == "approved"
    with pytest.raises(StationError) as err:  # an item without 公示
        other = _file(v, catalog, seed=5)
        ship(v, t)
        decide(t, other, Decision("accept"), reviewer)
        decide(t, other, Decision("post"), reviewer)
    assert err.value.code == "invalid_decision"


def test_the_hand_over_to_the_township_is_a_record_with_a_due_date(world, catalog) -> None:
    v, t, clock, reviewer, admin = world
    n = _file(v, catalog)                                         # Monday 9/28: due 9/29, 9/30, 10/8
    case = CaseReader(v).get(n)
    assert case.legal.handover_due == "2026-10-08" and not case.legal.handed_over_at
    assert CaseReader(v, date(2026, 10, 9)).get(n).legal.handover_overdue
    clock.set_day(date(2026, 9, 30))
    case = hand_over(v, n, os_account())
    assert case.legal.handed_over_at == "2026-09-30" and not CaseReader(v, date(2026, 10, 9)).get(n).legal.handover_overdue
    with pytest.raises(StationError) as err:
        hand_over(v, n, os_account())
    assert err.value.code == "already_handed_over"
    ship(v, t)
    assert CaseReader(t).get(n).legal.handed_over_at == "2026-09-30"
    village_item = _file(v, catalog, "RS-SBKQY-001", seed=9)
    with pytest.raises(StationError) as err:
        hand_over(v, village_item, os_account())
    assert err.value.code == "not_township_item"


def test_trips_are_asked_at_delivery(world, catalog) -> None:
    v, t, clock, reviewer, admin = world
    n = _file(v, catalog, "RS-SBKQY-001", seed=9)
    vr = add_operator(v, "孙审核", "reviewer", "secret123", os_account())
    decide(v, n, Decision("accept"), vr)
    decide(v, n, Decision("approve"), vr)
    with pytest.raises(StationError) as err:
        deliver(v, n, "本人", True, os_account(), trips=-1)
    assert err.value.problems[0].field == "trips"
    assert deliver(v, n, "本人", True, os_account(), trips=1).legal.trips == 1


def test_the_legal_record_rebuilds_identically_and_checks_clean(world, catalog) -> None:
    """Every new record folds the same from the log (village and township): db check, then rebuild."""
    from station.audit import check, rebuild

    v, t, clock, reviewer, admin = world
    a, b, c = _file(v, catalog, seed=11), _file(v, catalog, POSTED, seed=12), _file(v, catalog, seed=13)
    hand_over(v, a, os_account())
    ship(v, t)
    clock.set_day(date(2026, 9, 30))
    decide(t, a, Decision("correct", reason="照片不清晰", materials=("id_card",)), reviewer)
    decide(t, b, Decision("accept"), reviewer)
    decide(t, b, Decision("post"), reviewer)
    decide(t, c, Decision("accept"), reviewer)
    decide(t, c, Decision("forward", to="社会保险经办机构"), reviewer)
    ship(t, v)
    clock.set_day(date(2026, 10, 9))
    record_materials(v, a, ["id_card"], os_account())
    ship(v, t)
    for store in (v, t):
        before = {n: CaseReader(store).get(n).to_dict(store.codec) for n in (a, b, c)}
        assert check(store).ok, check(store).to_dict()
        rebuild(store)
        assert check(store).ok
        assert {n: CaseReader(store).get(n).to_dict(store.codec) for n in (a, b, c)} == before


def test_natural_days_and_campaign_items_through_the_store(world, catalog) -> None:
    v, t, clock, reviewer, admin = world
    # 法律援助: 7 natural days from Monday 9/28 is Monday 10/5, in the National Day holiday: moved to
    # the next working day, 10/8 (行政许可法 / 民法典 period rule)
    aid = CaseReader(v).get(_file(v, catalog, "SF-FLYZ-001", seed=21))
    assert (aid.promised_due, aid.statutory_due) == ("2026-10-08", "2026-10-08")
    # 耕地地力保护补贴: a yearly campaign, no per-case promised date, never overdue
    farm = CaseReader(v, date(2027, 6, 1)).get(_file(v, catalog, "NY-GDDL-001", seed=22))
    assert farm.promised_due is None and not farm.overdue and farm.legal.campaign


def test_a_95_for_an_81_year_old_is_refused_by_the_store(world, catalog) -> None:
    from forms.identity import iso7064_mod11_2

    v, t, clock, reviewer, admin = world
    item = catalog.get("MZ-GLJT-001")
    first17 = "42138119450101002"                            # born 1945-01-01: 81 on 2026-09-28
    data = make_submission(item, random.Random(30), clock().date(), id_number=first17 + iso7064_mod11_2(first17))
    data["fields"]["age"] = 95
    with pytest.raises(StationError) as err:
        file_case(v, catalog, item.code, data, os_account())
    assert [(p.field, p.code) for p in err.value.problems] == [("fields.age", "id_mismatch")]
    assert v.conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 0


def test_shaanxi_pays_the_old_age_allowance_from_70(tmp_path: Path, catalog) -> None:
    from forms.identity import iso7064_mod11_2

    clock = FixedClock(datetime(2026, 9, 28, 9, 0))
    init_station(tmp_path / "sx", "610102001201", "陕西某村便民服务站", "village", clock=clock)
    with Store.open(tmp_path / "sx", clock=clock) as sx:
        item = catalog.get("MZ-GLJT-001")
        first17 = "61010219540101002"                        # born 1954-01-01: 72
        data = make_submission(item, random.Random(31), clock().date(), id_number=first17 + iso7064_mod11_2(first17))
        data["fields"]["age"] = 72
        case = CaseReader(sx).get(file_case(sx, catalog, item.code, data, os_account()).number)
        assert any("陕西" in b for b in case.legal.legal_basis)
    init_station(tmp_path / "hb", VILLAGE, "湖北某村便民服务站", "village", clock=clock)
    with Store.open(tmp_path / "hb", clock=clock) as hb, pytest.raises(StationError) as err:
        file_case(hb, catalog, item.code, data, os_account())     # the national 80 applies in Hubei
    assert [(p.field, p.code) for p in err.value.problems] == [("applicant.id_number", "condition_not_met")]
