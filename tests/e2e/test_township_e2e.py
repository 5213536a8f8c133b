"""Issue 6 end to end over the real gateway on loopback: two villages and their township; cases filed,
synced, reviewed with every kind of decision, decisions back at the villages, notices printed, ratings
given, statistics checked against figures computed by hand (due dates across the National Day holiday
and the 10-10 make-up Saturday; one case completed on its due date, one a working day late)."""

from __future__ import annotations

import random
import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest

from station.cases import CaseReader, deliver, file_case
from station.operators import add_operator, os_account
from station.printing import print_case_document
from station.ratings import rate
from station.review import Decision, decide, review_queue
from station.sample_data import make_submission
from station.stats import compute
from station.store import Store
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.service import sync_now
from sync.gateway.testing import make_platform, make_station
from tests.support import TOWNSHIP, VILLAGE, VILLAGE_2, FixedClock

ITEM = "RS-CBZT-001"  # township level, promised 5 working days

pytestmark = pytest.mark.usefixtures("platform_store")  # every test on both platform stores


def _text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_two_villages_and_their_township_over_the_gateway(tmp_path: Path, catalog) -> None:
    clock = FixedClock(datetime(2026, 9, 28, 9, 0))  # Monday before the National Day week
    platform_home, keys = make_platform(tmp_path)
    with Platform.open(platform_home) as platform:
        platform.clock = clock  # the platform's clock agrees with the stations'
        with ServerThread(platform) as srv:
            homes = {key: make_station(tmp_path, platform_home, keys, code, role, url=srv.url, clock=clock)
                     for key, code, role in (("v1", VILLAGE, "village"), ("v2", VILLAGE_2, "village"),
                                             ("t", TOWNSHIP, "township"))}
            s = {key: Store.open(home, clock=clock) for key, home in homes.items()}
            try:
                _run(s, clock, catalog)
            finally:
                for store in s.values():
                    store.close()


def _sync(*stores: Store) -> None:
    for store in stores:
        summary = sync_now(store)
        assert summary.ok, summary.errors


def _run(s: dict[str, Store], clock: FixedClock, catalog) -> None:
    v1, v2, t = s["v1"], s["v2"], s["t"]
    rng = random.Random(5)
    item = catalog.get(ITEM)

    def file(store: Store) -> str:
        return file_case(store, catalog, ITEM, make_submission(item, rng, clock().date()), os_account()).number

    a, b, c, d, e = (file(v1) for _ in range(5))
    f, g = file(v2), file(v2)
    _sync(v1, v2, t)
    assert {x.number for x in review_queue(t, "new")} == {a, b, c, d, e, f, g}
    reviewer = add_operator(t, "赵审核", "reviewer", "secret123", os_account())

    def at(day: date, number: str, decision: Decision) -> None:
        clock.set_day(day)
        decide(t, number, decision, reviewer)

    for n in (a, b, c, g):
        at(date(2026, 9, 29), n, Decision("accept"))
    at(date(2026, 9, 29), d, Decision("refuse", reason="不属于本镇受理范围"))
    at(date(2026, 9, 30), e, Decision("correct", reason="身份证复印件不清晰", materials=("id_card",)))
    at(date(2026, 9, 30), g, Decision("forward", to="社会保险经办机构"))
    at(date(2026, 10, 9), c, Decision("reject", reason="不符合暂停条件"))        # 4 working days, on time
    at(date(2026, 10, 10), a, Decision("approve", certificate="暂停〔2026〕1号"))  # exactly on the due date
    at(date(2026, 10, 12), b, Decision("approve"))                                # one working day late
    _sync(t, v1, v2)

    reader = CaseReader(v1)
    assert reader.get(a).promised_due == "2026-10-10"
    assert {n: reader.get(n).status for n in (a, b, c, d, e)} == {
        a: "approved", b: "approved", c: "rejected", d: "not_accepted", e: "correction_requested"}
    assert CaseReader(v2).get(g).status == "forwarded"
    assert CaseReader(v2).get(f).status == "received"

    clock.set_day(date(2026, 10, 13))
    texts = {n: _text(print_case_document(v1, n, kind, os_account()).path)
             for n, kind in ((a, "result"), (c, "refusal"), (d, "refusal"), (e, "correction"))}
    assert "暂停〔2026〕1号" in texts[a]
    assert "不予批准" in texts[c] and "不符合暂停条件" in texts[c]
    assert "复议" not in texts[c] and "公共服务" in texts[c]   # 社保经办 is a public service, not an administrative act
    assert "不予受理" in texts[d] and "不属于本镇受理范围" in texts[d]
    assert "身份证复印件不清晰" in texts[e]
    deliver(v1, a, "本人", True, os_account(), trips=1)
    deliver(v1, b, "本人", True, os_account(), trips=1)
    _sync(v1, t)
    # the 评价卡 reaches the township: the ratings are entered there and travel back to the village
    rate(t, a, 5, reviewer, channel="纸质")
    rate(t, b, 2, reviewer, detail="超过承诺时间才办好", channel="纸质")
    _sync(t, v1)
    assert CaseReader(v1).get(b).rating_level == 2

    clock.set_day(date(2026, 10, 20))
    september = compute(t, date(2026, 9, 1), date(2026, 9, 30), by="village")
    total = september.total
    assert (total.received, total.accepted, total.completed, total.not_accepted, total.forwarded) == (7, 4, 0, 1, 1)
    assert total.overdue_now == 2            # f, and g: forwarded cases stay open and overdue; e waits for 补正
    assert total.corrections_per_case == round(1 / 7, 3)
    groups = {x.group: x for x in september.groups}
    assert (groups[VILLAGE].received, groups[VILLAGE_2].received) == (5, 2)
    assert groups[VILLAGE_2].overdue_now == 2
    october = compute(t, date(2026, 10, 1), date(2026, 10, 31)).total
    assert (october.completed, october.on_time) == (3, 2)        # 办结 by the decision date
    assert october.on_time_rate == round(2 / 3, 4)
    assert october.avg_working_days == 5.0     # (5 + 6 + 4) / 3
    assert (october.ratings, october.satisfied, october.bad_ratings, october.followups_open) == (2, 1, 1, 1)
    assert october.satisfaction_rate == 0.5 and october.one_trip_rate == 1.0
    assert compute(v1, date(2026, 10, 1), date(2026, 10, 31)).total.ratings == 2   # the village folds them too
    assert [x.number for x in review_queue(t, "followups")] == [b]


def test_the_legal_record_travels_over_the_gateway(tmp_path: Path, catalog) -> None:
    """Issue 14's new events, folded alike by the township and the village after a real sync: the
    hand-over, 公示, 转报 to a listed body, an administrator's exceptional second 补正, a rating entered
    at the township and a 回访 there. A 告知件 is the village's own record (no case number)."""
    from station.cases import hand_over, record_materials
    from station.consultations import record
    from station.operators import add_operator as add
    from station.ratings import revisit, revisits

    clock = FixedClock(datetime(2026, 11, 2, 9, 0))
    platform_home, keys = make_platform(tmp_path)
    with Platform.open(platform_home) as platform:
        platform.clock = clock
        with ServerThread(platform) as srv:
            v = Store.open(make_station(tmp_path, platform_home, keys, VILLAGE, "village", url=srv.url, clock=clock),
                           clock=clock)
            t = Store.open(make_station(tmp_path, platform_home, keys, TOWNSHIP, "township", url=srv.url, clock=clock),
                           clock=clock)
            try:
                rng = random.Random(9)
                posted = file_case(v, catalog, "MZ-GLJT-001", make_submission(catalog.get("MZ-GLJT-001"), rng,
                                                                                clock().date()), os_account()).number
                fwd = file_case(v, catalog, ITEM, make_submission(catalog.get(ITEM), rng, clock().date()),
                                os_account()).number
                data = make_submission(catalog.get(ITEM), rng, clock().date())
                data["materials"]["application_form"] = "missing"
                record(v, catalog, ITEM, data, os_account())
                hand_over(v, posted, os_account())
                _sync(v, t)
                reviewer = add(t, "赵审核", "reviewer", "secret123", os_account())
                admin = add(t, "钱主任", "admin", "secret123", os_account())
                decide(t, posted, Decision("accept"), reviewer)
                decide(t, fwd, Decision("correct", reason="登记表未签字", materials=("application_form",)), reviewer)
                clock.set_day(date(2026, 11, 3))
                decide(t, posted, Decision("post"), reviewer)
                _sync(t, v)
                record_materials(v, fwd, ["application_form"], os_account())
                _sync(v, t)
                decide(t, fwd, Decision("correct", reason="签字与身份证不符", materials=("application_form",),
                                        exception_reason="签字人不是申请人本人"), admin)
                _sync(t, v)
                clock.set_day(date(2026, 11, 5))
                record_materials(v, fwd, ["application_form"], os_account())
                _sync(v, t)
                decide(t, fwd, Decision("accept"), reviewer)
                decide(t, fwd, Decision("forward", to="社会保险经办机构"), reviewer)
                clock.set_day(date(2026, 11, 9))
                decide(t, posted, Decision("approve"), reviewer)
                _sync(t, v)
                deliver(v, posted, "本人", True, os_account(), trips=1)
                _sync(v, t)
                rate(t, posted, 2, reviewer, detail="公示期太长", channel="电话回访")
                revisit(t, posted, "电话", "已解释公示是法定程序", reviewer, satisfied=True)
                _sync(t, v)
                for store in (v, t):
                    reader = CaseReader(store)
                    p, f = reader.get(posted), reader.get(fwd)
                    assert p.legal.handed_over_at == "2026-11-02"
                    assert (p.legal.posting_start, p.legal.posting_end) == ("2026-11-03", "2026-11-08")
                    assert p.rating_level == 2 and [r.method for r in revisits(store, posted)] == ["电话"]
                    assert f.status == "forwarded" and f.legal.forwarded_to == "县（市、区）社会保险经办机构"
                    assert (f.corrections, f.legal.second_corrections) == (2, 1)
                assert v.conn.execute("SELECT COUNT(*) FROM conflicts").fetchone()[0] == 0
                assert t.conn.execute("SELECT COUNT(*) FROM conflicts").fetchone()[0] == 0
                assert CaseReader(v).get(fwd).promised_due == CaseReader(t).get(fwd).promised_due
                assert CaseReader(v).get(posted).promised_due == CaseReader(t).get(posted).promised_due
                assert v.conn.execute("SELECT COUNT(*) FROM consultations").fetchone()[0] == 1
                assert compute(v, date(2026, 11, 1), date(2026, 11, 30)).total.consultations == 1
            finally:
                v.close()
                t.close()
