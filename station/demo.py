"""A demo station with operators and a few dozen cases in varied states, to look around at once.

Township decisions in the demo arrive the way real ones do: as events from the township station,
applied through ``Store.ingest_remote`` (the same path sync uses).
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from forms.catalog import load_catalog
from station import events as ev
from station.cases import CaseReader, deliver, file_case, record_materials, withdraw
from station.hlc import Stamp
from station.home import update_config
from station.operators import add_operator, get_operator, os_account
from station.sample_data import make_submission
from station.setup import init_station
from station.store import Store

DEMO_VILLAGE = "421381105201"
DEMO_TOWNSHIP = "421381105000"
DEMO_NAME = "示范镇示范村便民服务站"
DEMO_REMOTE_SEQ_BASE = 9_000_000
DEMO_OPERATORS = [("王小红", "agent", "demo1234"), ("李建国", "admin", "admin1234")]


class _DemoClock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def _township_event(seq: int, number: str, type_: str, body: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {"id": f"{DEMO_TOWNSHIP}:{seq}", "station": DEMO_TOWNSHIP, "seq": seq,
            "hlc": str(Stamp(int(at.timestamp() * 1000), 0)), "operator": "赵审核（乡镇）", "case": number,
            "type": type_, "body": body, "recorded_at": at.isoformat(timespec="seconds")}


def create_demo(home: Path, case_count: int = 40, today: date | None = None) -> dict[str, Any]:
    today = today or date.today()
    clock = _DemoClock(datetime.combine(today - timedelta(days=46), time(8, 0)))
    init_station(home, DEMO_VILLAGE, DEMO_NAME, "village", clock=clock)
    hint = "演示站点：" + "，".join(f"{n} / {p}" for n, _, p in DEMO_OPERATORS)
    update_config(home, phone="0722-6412345", address="示范镇示范村村委会一楼便民服务站",
                  authority_name="示范镇人民政府", reconsideration_body="广水市人民政府", court_name="广水市人民法院",
                  county_name="广水市", township_name="示范镇",
                  extra={"demo_hint": hint})
    rng = random.Random(20261125)
    catalog = load_catalog()
    items = list(catalog.items)
    with Store.open(home, clock=clock) as store:
        admin = os_account()
        for name, role, password in DEMO_OPERATORS:
            add_operator(store, name, role, password, admin)
        agent = get_operator(store, DEMO_OPERATORS[0][0])
        assert agent is not None
        numbers: list[str] = []
        for i in range(case_count):
            day = today - timedelta(days=int(45 * (case_count - i) / case_count))
            clock.now = datetime.combine(day, time(8, 30)) + timedelta(minutes=7 * (i % 60))
            item = items[i % len(items)] if i < len(items) else rng.choice(items)
            data = make_submission(item, rng, day, waive=(i % 4 == 1))
            numbers.append(file_case(store, catalog, item.code, data, agent).number)
        # Township decisions arrive as remote events, a few days after filing.
        seq = DEMO_REMOTE_SEQ_BASE  # far above a real township's own sequence: ids never collide
        remote: list[dict[str, Any]] = []
        decided: list[str] = []
        for i, number in enumerate(numbers[: int(len(numbers) * 0.7)]):
            case = CaseReader(store, today).get(number)
            at = datetime.fromisoformat(case.received_at) + timedelta(days=2, hours=3)
            if at.date() > today:
                continue
            kind = i % 6
            seq += 1
            if kind == 5:
                remote.append(_township_event(seq, number, ev.CASE_NOT_ACCEPTED,
                                              {"reason": "申请人户籍不在本辖区，不属于本镇受理范围"}, at))
                decided.append(number)
                continue
            remote.append(_township_event(seq, number, ev.CASE_ACCEPTED, {"date": at.date().isoformat()}, at))
            at2 = at + timedelta(days=3)
            posting = catalog.get(case.item_code).posting_days
            if posting and kind in (0, 1, 2):
                # 公示 first: the approval comes only after the posting days have run out
                seq += 1
                remote.append(_township_event(seq, number, ev.CASE_POSTING_STARTED,
                                              {"days": posting, "date": at.date().isoformat()}, at))
                at2 = at + timedelta(days=posting + 1)
            if at2.date() > today:
                continue
            seq += 1
            if kind in (0, 1, 2):
                remote.append(_township_event(seq, number, ev.CASE_APPROVED,
                                              {"reason": "", "certificate": f"示范民证〔2026〕{100 + i}号",
                                               "date": at2.date().isoformat()}, at2))
                decided.append(number)
            elif kind == 3:
                mats = [m.key for m in case.materials][:1]
                remote.append(_township_event(seq, number, ev.CASE_CORRECTION_REQUESTED,
                                              {"reason": "材料照片不清晰，请重新提供", "materials": mats,
                                               "due_date": (at2.date() + timedelta(days=10)).isoformat()}, at2))
            else:
                remote.append(_township_event(seq, number, ev.CASE_REJECTED,
                                              {"reason": "经入户核查，家庭收入超过本地保障标准"}, at2))
                decided.append(number)
        clock.now = datetime.combine(today, time(8, 0))
        store.ingest_remote(remote)
        # Some results handed over, one waived material brought in, one case withdrawn.
        for number in decided[: len(decided) // 2]:
            deliver(store, number, "申请人本人", True, agent)
        reader = CaseReader(store, today)
        waiting = reader.list(waiting_materials=True, status="received", limit=3)
        for case in waiting[:1]:
            keys = [m.key for m in reader.get(case.number).materials if m.status == "waived"]
            if keys:
                record_materials(store, case.number, keys, agent)
        for case in reader.list(status="received", limit=1):
            withdraw(store, case.number, "申请人本人要求撤回", agent)
        clock.now = datetime.now()
        count = store.conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0]
    return {"home": str(home), "station_id": DEMO_VILLAGE, "name": DEMO_NAME, "cases": count,
            "operators": [{"name": n, "role": r, "password": p} for n, r, p in DEMO_OPERATORS]}
