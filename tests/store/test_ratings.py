"""好差评: one rating per delivered case, entered through an independent channel (never by the operator
who handled the case); a 差评 needs a detail and opens a follow-up; 回访 is a record."""

from __future__ import annotations

from datetime import datetime

import pytest

from station.cases import CaseReader, deliver, file_case
from station.hlc import Stamp
from station.operators import add_operator, os_account
from forms.problems import StationError
from station.ratings import close_followup, get_rating, rate, revisit, revisits
from station.sample_data import make_submission
from tests.support import item_by_initials


def _approved_case(store, catalog, agent, rng) -> str:
    item = item_by_initials(catalog, "gljt")
    number = file_case(store, catalog, item.code, make_submission(item, rng, store.clock().date()), agent).number
    # decided by the township the same morning (a decision stamped after the local clock's day would,
    # rightly, date every later step of this station on the township's day: station/clock_check.py)
    base = int(datetime(2026, 9, 21, 10, 0).timestamp() * 1000)
    store.ingest_remote([
        {"id": f"421381105000:{n}", "station": "421381105000", "seq": n, "hlc": str(Stamp(base + n, 0)),
         "operator": "审核员", "case": number, "type": t, "body": b, "recorded_at": "2026-09-21T10:00:00"}
        for n, (t, b) in enumerate([("case.accepted", {}), ("case.approved", {"certificate": "民证001"})], start=1)])
    return number


@pytest.fixture
def colleague(store):
    return add_operator(store, "李会计", "agent", "secret123", os_account())


def test_rating_requires_delivery_then_one_rating(store, catalog, agent, colleague, rng) -> None:
    number = _approved_case(store, catalog, agent, rng)
    with pytest.raises(StationError) as err:
        rate(store, number, 5, colleague)
    assert err.value.code == "not_delivered"
    deliver(store, number, "本人", True, agent)
    rating = rate(store, number, 5, colleague, sub_scores={"attitude": 5}, channel="纸质")
    assert rating.label == "非常满意" and not rating.is_bad and rating.followup_due is None
    assert (rating.channel, rating.entered_by) == ("纸质", "李会计")
    assert CaseReader(store).get(number).rating_level == 5
    with pytest.raises(StationError) as err:
        rate(store, number, 4, colleague)
    assert err.value.code == "already_rated"


def test_the_agent_being_rated_cannot_enter_the_rating(store, catalog, agent, colleague, rng) -> None:
    number = _approved_case(store, catalog, agent, rng)
    deliver(store, number, "本人", True, colleague)        # handed over by the colleague this time
    for who in (agent, colleague):                        # the filer and the one who delivered
        with pytest.raises(StationError) as err:
            rate(store, number, 5, who)
        assert err.value.code == "not_independent"
    third = add_operator(store, "周站长", "admin", "secret123", os_account())
    with pytest.raises(StationError) as err:
        rate(store, number, 5, third, channel="微信")
    assert err.value.problems[0].field == "channel"
    assert rate(store, number, 4, third, channel="电话回访").channel == "电话回访"


def test_revisit_is_a_record_with_date_method_and_result(store, catalog, agent, colleague, rng) -> None:
    number = _approved_case(store, catalog, agent, rng)
    with pytest.raises(StationError) as err:
        revisit(store, number, "微信", "", colleague)
    assert {p.field for p in err.value.problems} == {"method", "result"}
    deliver(store, number, "本人", True, agent)
    rate(store, number, 2, colleague, detail="窗口人员态度不好")
    visit = revisit(store, number, "电话", "已致歉，群众表示理解", colleague, satisfied=True)
    assert (visit.method, visit.day, visit.satisfied) == ("电话", "2026-09-21", True)
    assert [v.result for v in revisits(store, number)] == ["已致歉，群众表示理解"]
    assert CaseReader(store).get(number).timeline[-1].label == "回访"
    assert get_rating(store, number).followup_closed_at is None   # a 回访 is not the 整改


def test_bad_rating_needs_detail_and_gets_a_working_day_followup(store, catalog, agent, colleague, rng) -> None:
    number = _approved_case(store, catalog, agent, rng)
    deliver(store, number, "本人", True, agent)
    with pytest.raises(StationError) as err:
        rate(store, number, 2, colleague)
    assert err.value.problems[0].field == "detail"
    rating = rate(store, number, 1, colleague, detail="等了很久没人通知")
    assert rating.is_bad
    # 5 working days from Monday 2026-09-21: 22, 23, 24, (25–27 Mid-Autumn holiday), 28, 29
    assert rating.followup_due == "2026-09-29"
    with pytest.raises(StationError):
        close_followup(store, number, "已回访", agent)  # agents cannot close follow-ups
    closed = close_followup(store, number, "已电话回访并致歉，改进通知流程", os_account())
    assert closed.followup_closed_at
