"""Two stations decide the same case offline: both kept in the log, the first to reach the platform
wins, the other is shown as superseded on both sides — nothing silently lost. Over the real gateway."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.audit import check, rebuild
from station.cases import CaseReader, file_case
from station.operators import os_account
from station.review import Decision, decide
from station.sample_data import make_submission
from station.store import Store
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.service import sync_now
from sync.gateway.testing import make_platform, make_station

ITEM = "RS-SBKQY-001"  # 社会保障卡启用: finished at the village, so both stations may decide it

pytestmark = pytest.mark.usefixtures("platform_store")  # every test on both platform stores


def test_first_decision_to_reach_the_platform_wins_and_the_other_is_superseded(tmp_path: Path, catalog, rng) -> None:
    platform_home, keys = make_platform(tmp_path)
    with Platform.open(platform_home) as platform, ServerThread(platform) as srv:
        village = make_station(tmp_path, platform_home, keys, "421381105201", url=srv.url)
        township = make_station(tmp_path, platform_home, keys, "421381105000", "township", url=srv.url)
        with Store.open(village) as v:
            item = catalog.get(ITEM)
            number = file_case(v, catalog, ITEM, make_submission(item, rng, v.clock().date()), os_account()).number
            assert sync_now(v).ok
        with Store.open(township) as t:
            assert sync_now(t).ok
            # offline, at the same time: the township refuses ...
            decide(t, number, Decision("refuse", reason="申请人已在外地启用"), os_account())
        with Store.open(village) as v:
            # ... and the village accepts and approves
            decide(v, number, Decision("accept"), os_account())
            decide(v, number, Decision("approve"), os_account())
            assert CaseReader(v).get(number).status == "approved"
        with Store.open(township) as t:
            assert sync_now(t).ok  # the township's refusal reaches the platform first
        with Store.open(village) as v:
            summary = sync_now(v)
            assert summary.ok, summary.errors
            case = CaseReader(v).get(number)
            assert case.status == "not_accepted"  # the winner is in force at the village
            assert case.decision["reason"] == "申请人已在外地启用"
            lost = {r[0] for r in v.conn.execute("SELECT event_id FROM superseded")}
            own = {e.id for e in v.iter_events("type IN ('case.accepted', 'case.approved')")}
            assert lost == own and len(own) == 2  # both our decisions kept in the log, marked superseded
            assert check(v).ok
            before = v.conn.execute("SELECT status, decision FROM cases").fetchall()
            rebuild(v)
            assert v.conn.execute("SELECT status, decision FROM cases").fetchall() == before
        with Store.open(township) as t:
            assert sync_now(t).ok
            case = CaseReader(t).get(number)
            assert case.status == "not_accepted"
            conflicts = {r[0] for r in t.conn.execute("SELECT event_id FROM conflicts WHERE case_number=?", (number,))}
            assert conflicts == own  # the loser is shown as superseded at the township too
        held = {c["number"]: c["status"] for c in platform.store.cases()}
        assert held[number] == "not_accepted"
