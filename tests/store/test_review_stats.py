"""Township review and the statistics, checked against figures computed by hand.

Events move between the stores the way sync delivers them (wire form → ingest_remote); the sync
package has its own end-to-end tests over the real gateway.
"""

from __future__ import annotations

import random
from datetime import date, datetime
from pathlib import Path

import pytest

from station.cases import CaseReader, deliver, file_case, record_materials
from station.operators import add_operator, os_account
from forms.problems import StationError
from station.ratings import rate
from station.review import Decision, decide, find_duplicates, mark_duplicate, review_queue
from station.sample_data import make_submission
from station.setup import init_station
from station.stats import compute, export
from station.store import Store
from tests.support import TOWNSHIP, VILLAGE, VILLAGE_2, FixedClock, ship

ITEM = "RS-CBZT-001"  # 城乡居民养老保险参保暂停: township level, promised 5 working days




@pytest.fixture
def world(tmp_path: Path, catalog):
    clock = FixedClock(datetime(2026, 9, 28, 9, 0))  # Monday before the National Day week
    stores = {}
    for key, code, role in (("v1", VILLAGE, "village"), ("v2", VILLAGE_2, "village"), ("t", TOWNSHIP, "township")):
        init_station(tmp_path / key, code, f"{key}站", role, clock=clock)
        stores[key] = Store.open(tmp_path / key, clock=clock)
    reviewer = add_operator(stores["t"], "赵审核", "reviewer", "secret123", os_account())
    yield stores, clock, reviewer
    for s in stores.values():
        s.close()


def _file(store: Store, catalog, rng, **kw) -> str:
    data = make_submission(catalog.get(ITEM), rng, store.clock().date(), **kw)
    return file_case(store, catalog, ITEM, data, os_account()).number


def test_due_date_across_holiday_and_make_up_day(world, catalog) -> None:
    stores, clock, _ = world
    number = _file(stores["v1"], catalog, random.Random(1))
    # 9/29, 9/30, [10/1–10/7 National Day], 10/8, 10/9, 10/10 (Saturday make-up working day)
    assert CaseReader(stores["v1"]).get(number).promised_due == "2026-10-10"


def test_review_decisions_flow_back_and_statistics_match_hand_figures(world, catalog, tmp_path) -> None:
    stores, clock, reviewer = world
    v1, v2, t = stores["v1"], stores["v2"], stores["t"]
    rng = random.Random(5)
    a, b, c, d, e = (_file(v1, catalog, rng) for _ in range(5))
    f = _file(v2, catalog, rng)
    ship(v1, t)
    ship(v2, t)
    assert {x.number for x in review_queue(t, "new")} == {a, b, c, d, e, f}

    def at(day: date, number: str, decision: Decision) -> None:
        clock.set_day(day)
        decide(t, number, decision, reviewer)

    at(date(2026, 9, 29), a, Decision("accept"))
    at(date(2026, 9, 29), b, Decision("accept"))
    at(date(2026, 9, 29), c, Decision("accept"))
    at(date(2026, 9, 29), d, Decision("refuse", reason="不属于本镇受理范围"))
    at(date(2026, 9, 30), e, Decision("correct", reason="户口簿复印件不清晰", materials=("id_card",)))
    at(date(2026, 10, 9), c, Decision("reject", reason="不符合暂停条件"))       # 4 working days, on time
    at(date(2026, 10, 10), a, Decision("approve", certificate="暂停〔2026〕1号"))  # exactly on the due date
    at(date(2026, 10, 12), b, Decision("approve"))                               # one working day late

    ship(t, v1)
    assert CaseReader(v1).get(a).status == "approved"
    assert CaseReader(v1).get(e).status == "correction_requested"
    assert CaseReader(v1).get(d).decision["reason"] == "不属于本镇受理范围"

    clock.set_day(date(2026, 10, 13))
    deliver(v1, a, "本人", True, os_account(), trips=1)
    deliver(v1, b, "本人", True, os_account(), trips=2)
    ship(v1, t)
    # the 评价卡 goes to the township: the rating is entered there, not by the agent being rated
    rate(t, a, 5, reviewer, channel="纸质")
    rate(t, b, 2, reviewer, detail="超过承诺时间才办好", channel="纸质")
    ship(t, v1)
    assert CaseReader(v1).get(b).rating_level == 2

    clock.set_day(date(2026, 10, 20))
    # Each figure counts its own event in the period (docs/统计口径.md): September holds the receipts,
    # acceptances, the refusal and the correction; October the completions, deliveries and ratings.
    september = compute(t, date(2026, 9, 1), date(2026, 9, 30), by="village")
    total = september.total
    assert (total.received, total.accepted, total.not_accepted, total.corrections, total.completed) == (6, 3, 1, 1, 0)
    assert total.corrections_per_case == round(1 / 6, 3)
    assert total.overdue_now == 1            # f: received, due 10/10; e waits for 补正 (clock stopped)
    assert total.deemed_accepted == 1        # f: not accepted, refused or told to correct by 10/10
    by_village = {g.group: g for g in september.groups}
    assert by_village[VILLAGE].received == 5 and by_village[VILLAGE_2].received == 1
    assert by_village[VILLAGE_2].overdue_now == 1
    report = compute(t, date(2026, 10, 1), date(2026, 10, 31), by="village")
    total = report.total
    assert (total.received, total.completed, total.on_time) == (0, 3, 2)
    assert total.on_time_rate == round(2 / 3, 4)
    assert total.avg_working_days == 5.0     # (5 + 6 + 4) / 3
    assert (total.ratings, total.satisfied, total.bad_ratings, total.followups_open) == (2, 1, 1, 1)
    assert total.satisfaction_rate == 0.5
    assert (total.one_trip_rate, total.trips_per_case) == (0.5, 1.5)   # a: 1 trip, b: 2
    assert (total.revisit_rate, total.rectification_rate) == (0.0, 0.0)
    assert review_queue(t, "followups")[0].number == b

    csv_path = export(report, tmp_path / "stats.csv")
    assert "按时办结率" in csv_path.read_text(encoding="utf-8-sig")
    xlsx = export(report, tmp_path / "stats.xlsx")
    from openpyxl import load_workbook
    ws = load_workbook(xlsx).active
    assert ws.cell(2, 1).value == "分组" and ws.cell(ws.max_row, 4).value == 3   # 办结 in October


def test_supplement_resumes_the_clock_with_the_days_already_used(world, catalog) -> None:
    stores, clock, reviewer = world
    v1, t = stores["v1"], stores["t"]
    number = _file(v1, catalog, random.Random(2))     # Monday 9/28, due 10/10 (5 working days)
    ship(v1, t)
    clock.set_day(date(2026, 9, 30))                  # two working days used: 9/29, 9/30
    decide(t, number, Decision("correct", reason="照片不清晰", materials=("id_card",)), reviewer)
    ship(t, v1)
    clock.set_day(date(2026, 10, 14))
    case = record_materials(v1, number, ["id_card"], os_account())
    assert case.status == "supplemented"
    # paused (9/30, 10/14]: 10/8, 10/9, 10/10 (make-up Saturday), 10/12, 10/13, 10/14 = 6 working days;
    # 10/10 + 6 working days = 10/19 (the three days left count from 10/15: 15, 16, 19), not 10/21 from zero
    assert case.promised_due == "2026-10-19"
    assert case.legal.paused_days == 6


def test_refusals_need_reasons_and_illegal_steps_are_refused(world, catalog) -> None:
    stores, clock, reviewer = world
    v1, t = stores["v1"], stores["t"]
    number = _file(v1, catalog, random.Random(3))
    ship(v1, t)
    for action in ("refuse", "reject", "correct"):
        with pytest.raises(StationError) as err:
            decide(t, number, Decision(action), reviewer)
        assert err.value.code in ("invalid_decision", "illegal_transition")
    with pytest.raises(StationError) as err:
        decide(t, number, Decision("forward"), reviewer)
    assert err.value.code in ("invalid_decision", "illegal_transition")
    with pytest.raises(StationError) as err:
        decide(t, number, Decision("approve"), reviewer)  # not accepted yet
    assert err.value.code == "illegal_transition"
    decide(t, number, Decision("accept"), reviewer)
    decide(t, number, Decision("forward", to="社会保险经办机构"), reviewer)
    assert CaseReader(t).get(number).status == "forwarded"


def test_roles_and_jurisdiction(world, catalog, tmp_path) -> None:
    stores, clock, reviewer = world
    v1, t = stores["v1"], stores["t"]
    number = _file(v1, catalog, random.Random(4))
    ship(v1, t)
    agent = add_operator(t, "小李", "agent", "secret123", os_account())
    with pytest.raises(StationError) as err:
        decide(t, number, Decision("accept"), agent)
    assert err.value.code == "forbidden"
    with pytest.raises(StationError) as err:  # a village cannot decide a township-level item
        decide(v1, number, Decision("accept"), os_account())
    assert err.value.code == "forbidden"
    init_station(tmp_path / "other", "421381106000", "另一个镇", "township", clock=clock)
    with Store.open(tmp_path / "other", clock=clock) as other:
        ship(v1, other)  # even if another township got the events, it may not decide them
        with pytest.raises(StationError) as err:
            decide(other, number, Decision("accept"), os_account())
        assert err.value.code == "forbidden"
        assert other.conn.execute("SELECT COUNT(*) FROM events WHERE type='access.refused' AND station=?", (other.station_id,)).fetchone()[0] == 1


def test_duplicates_across_villages(world, catalog) -> None:
    stores, clock, reviewer = world
    v1, v2, t = stores["v1"], stores["v2"], stores["t"]
    same = "11010519491231002X"
    a = _file(v1, catalog, random.Random(6), id_number=same)
    b = _file(v2, catalog, random.Random(7), id_number=same)
    _file(v2, catalog, random.Random(8))
    ship(v1, t)
    ship(v2, t)
    assert find_duplicates(t) == [tuple(sorted((a, b)))]
    assert {c.number for c in review_queue(t, "duplicates")} == {a, b}
    mark_duplicate(t, a, b, False, reviewer)
    assert find_duplicates(t) == []
    ship(t, v1)
    assert CaseReader(v1).get(a).duplicate_of is None or CaseReader(v1).get(a).duplicate_of == ""


@pytest.mark.parametrize("edit", [{"role": "township"}, {"role": "township", "station_id": TOWNSHIP}])
def test_a_village_that_edits_its_role_in_station_toml_cannot_decide_its_own_township_case(
        world, catalog, tmp_path, edit) -> None:
    """The role (and division code) are the station's identity, recorded when it was set up: a village that
    writes role = "township" (and its township's code) into station.toml must not decide, locally, its own
    township-level case and print an approval the platform will never accept."""
    from station.home import update_config

    stores, clock, _ = world
    v1 = stores["v1"]
    number = _file(v1, catalog, random.Random(9))
    v1.close()
    update_config(tmp_path / "v1", **edit)
    with pytest.raises(StationError) as err:
        with Store.open(tmp_path / "v1", clock=clock) as forged:
            decide(forged, number, Decision("accept"), os_account())
    assert err.value.code == "identity_mismatch", err.value.message
    update_config(tmp_path / "v1", role="village", station_id=VILLAGE)
    stores["v1"] = Store.open(tmp_path / "v1", clock=clock)  # put back as set up: opens again
    assert CaseReader(stores["v1"]).get(number).status == "received"
