"""The seeds' own measures and the new statistics (issue 14), through the real store and figured by
hand: 告知件数, 视为受理, 不予受理 and 转报 by the national result codes (not 办结), 提前 / 现场 / 一次办结,
trips, 四办 shares, channel and 帮办/代办, hand-over late, 回访率 and 整改率, and the average working
days that exclude the correction wait."""

from __future__ import annotations

import random
from datetime import date, datetime
from pathlib import Path

import pytest

from station.cases import deliver, file_case, hand_over, record_materials
from station.consultations import record
from station.operators import add_operator, os_account
from station.ratings import close_followup, rate, revisit
from station.review import Decision, decide
from station.sample_data import make_submission
from station.setup import init_station
from station.stats import compute
from station.store import Store
from tests.support import TOWNSHIP, VILLAGE, FixedClock, ship

ITEM = "RS-CBZT-001"      # township, 5 working days promised / 10 statutory; labels 网上办 就近办 一次办
SPOT = "RS-SBKQY-001"     # village, 即办件; labels 马上办 网上办 就近办 一次办


@pytest.fixture
def world(tmp_path: Path, catalog):
    clock = FixedClock(datetime(2026, 11, 2, 9, 0))   # Monday; November has no holiday
    stores = {}
    for key, code, role in (("v", VILLAGE, "village"), ("t", TOWNSHIP, "township")):
        init_station(tmp_path / key, code, f"{key}站", role, clock=clock)
        stores[key] = Store.open(tmp_path / key, clock=clock)
    yield stores["v"], stores["t"], clock
    for s in stores.values():
        s.close()


def _file(v: Store, catalog, code: str, seed: int, **service) -> str:
    data = make_submission(catalog.get(code), random.Random(seed), v.clock().date())
    if service:
        data["service"] = service
    return file_case(v, catalog, code, data, os_account()).number


def test_the_new_figures_by_hand(world, catalog) -> None:
    v, t, clock = world
    reviewer = add_operator(t, "赵审核", "reviewer", "secret123", os_account())
    village_reviewer = add_operator(v, "孙审核", "reviewer", "secret123", os_account())
    clerk = add_operator(v, "李会计", "agent", "secret123", os_account())
    # Monday 11/2: three township cases (one by 代办 with the agent's 帮办), one done on the spot
    a = _file(v, catalog, ITEM, 1)
    b = _file(v, catalog, ITEM, 2, channel="代办", assist="帮办")
    c = _file(v, catalog, ITEM, 3)
    spot = _file(v, catalog, SPOT, 4, channel="上门", assist="代办")
    decide(v, spot, Decision("accept"), village_reviewer)
    decide(v, spot, Decision("approve"), village_reviewer)
    deliver(v, spot, "本人", True, os_account(), trips=0)
    # a 告知件 the same day: the application form is missing
    data = make_submission(catalog.get(ITEM), random.Random(5), clock().date())
    data["materials"]["application_form"] = "missing"
    record(v, catalog, ITEM, data, os_account())
    hand_over(v, a, os_account())                 # on time; b and c are never handed over (due 11/5)
    ship(v, t)
    clock.set_day(date(2026, 11, 3))
    decide(t, a, Decision("accept"), reviewer)
    decide(t, b, Decision("correct", reason="登记表未签字", materials=("application_form",)), reviewer)
    clock.set_day(date(2026, 11, 4))
    decide(t, a, Decision("approve"), reviewer)   # 2 working days, early against the statutory 10
    ship(t, v)
    clock.set_day(date(2026, 11, 6))
    record_materials(v, b, ["application_form"], os_account())   # paused (11/3, 11/6]: 3 working days
    ship(v, t)
    clock.set_day(date(2026, 11, 10))
    decide(t, b, Decision("accept"), reviewer)
    decide(t, b, Decision("reject", reason="不符合暂停条件"), reviewer)   # 6 working days less 3 paused
    clock.set_day(date(2026, 11, 11))
    decide(t, c, Decision("accept"), reviewer)    # after the 5-working-day window (11/9): deemed accepted
    decide(t, c, Decision("forward", to="社会保险经办机构"), reviewer)
    ship(t, v)
    clock.set_day(date(2026, 11, 12))
    deliver(v, a, "本人", True, os_account(), trips=2)
    deliver(v, b, "本人", True, os_account(), trips=1)
    rate(v, a, 1, clerk, detail="跑了两次", channel="纸质")
    rate(v, b, 2, clerk, detail="等得太久", channel="电话回访")
    rate(v, spot, 5, clerk, channel="窗口")
    revisit(v, a, "电话", "已解释原因", clerk)
    close_followup(v, a, "已改进通知流程", village_reviewer)
    clock.set_day(date(2026, 11, 30))

    f = compute(v, date(2026, 11, 1), date(2026, 11, 30)).total
    assert (f.received, f.consultations) == (4, 1)
    assert (f.completed, f.not_accepted, f.forwarded) == (3, 0, 1)      # a, b, spot; c is 转报, not 办结
    assert (f.accepted, f.deemed_accepted) == (4, 1)                    # c decided after its window
    assert f.early_rate == 1.0 and f.on_the_spot_rate == round(1 / 3, 4)
    # a: (11/2, 11/4] = 2; b: (11/2, 11/10] = 6 less 3 paused = 3; spot: 0 → 5 / 3
    assert f.avg_working_days == round(5 / 3, 2)
    assert (f.delivered_with_trips, f.trips_total, f.one_trip) == (3, 3, 2)
    assert f.one_trip_rate == round(2 / 3, 4) and f.trips_per_case == 1.0
    assert f.labels == {"马上办": 1, "网上办": 4, "就近办": 4, "一次办": 4}
    assert f.label_shares["马上办"] == 0.25
    assert f.channels == {"窗口": 2, "代办": 1, "上门": 1, "网办": 0} and f.assisted == {"帮办": 1, "代办": 1}
    assert f.handover_late == 2                                          # b and c, due 11/5, never recorded
    assert (f.bad_ratings, f.bad_revisited, f.bad_rectified) == (2, 1, 1)
    assert f.revisit_rate == 0.5 and f.rectification_rate == 0.5
    assert f.overdue_now == 1                                            # c: forwarded, due 11/9
    assert f.forward_overdue_now == 1                                    # the county's 5 days from 11/11
    d = f.to_dict()
    assert d["one_trip_rate"] == f.one_trip_rate and d["label_shares"]["网上办"] == 1.0
