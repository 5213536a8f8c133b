"""End to end over a real gateway on 127.0.0.1: village → platform → township → decision → village."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from station.casenumber import CaseNumber
from station.cases import CaseReader
from station.cli import main
from station.testing import TEST_ADMIN, TEST_PASSWORD, cli_login_env
from station.store import Store
from sync import outbox
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.keys import PLATFORM_KEYS_FILE
from sync.scheduler import SyncLoop
from sync.service import sync_now, sync_status
from sync.settings import configure
from sync.gateway.testing import file_cases, make_platform, make_station
from bench.fault_proxy import FaultPlan, FaultProxy
from tests.support import OTHER_TOWNSHIP, OTHER_VILLAGE, TOWNSHIP, VILLAGE

pytestmark = pytest.mark.usefixtures("platform_store")  # every test on both platform stores



@pytest.fixture
def world(tmp_path: Path):
    home, keys = make_platform(tmp_path)
    with Platform.open(home) as platform, ServerThread(platform) as server:
        yield tmp_path, home, keys, server.url, platform


def station(world, code: str, role: str = "village") -> Path:
    root, home, keys, url, _ = world
    return make_station(root, home, keys, code, role, url)


def test_village_cases_reach_the_township_and_its_decision_comes_back(world) -> None:
    village, township = station(world, VILLAGE), station(world, TOWNSHIP, "township")
    with Store.open(village) as store:
        numbers = file_cases(store, 3)
        assert {c.sync_state for c in CaseReader(store).list()} == {"pending"}
        summary = sync_now(store)
        assert summary.ok, summary.errors
        assert summary.batches_acknowledged == 1
        assert {c.sync_state for c in CaseReader(store).list()} == {"acknowledged"}
        assert store.meta_get("sync.acked_seq") == str(store.last_local_seq())
    with Store.open(township) as store:
        summary = sync_now(store)
        assert summary.ok and summary.applied == 3
        assert sorted(r[0] for r in store.conn.execute("SELECT number FROM cases")) == sorted(numbers)
        # the township sees the applicant's ID number: personal data crossed, sealed under its own key
        case = CaseReader(store).get(numbers[0])
        assert len(case.reveal_id(store.codec)) == 18
        store.append("case.accepted", {}, "赵审核", numbers[0])
        store.append("case.approved", {"reason": "", "certificate": "民证〔2026〕1号"}, "赵审核", numbers[0])
        assert sync_now(store).ok
    with Store.open(village) as store:
        summary = sync_now(store)
        assert summary.ok and summary.applied == 2
        case = CaseReader(store).get(numbers[0])
        assert case.status == "approved" and case.decision["certificate"] == "民证〔2026〕1号"
        assert sync_now(store).applied == 0  # nothing new: pulling again changes nothing
    platform = world[4]
    held = {c["number"]: c["status"] for c in platform.store.cases()}
    assert held[numbers[0]] == "approved" and held[numbers[1]] == "received"


def test_a_station_never_gets_another_jurisdictions_cases(world) -> None:
    v1, v2 = station(world, VILLAGE), station(world, OTHER_VILLAGE)
    t1, t2 = station(world, TOWNSHIP, "township"), station(world, OTHER_TOWNSHIP, "township")
    for home in (v1, v2):
        with Store.open(home) as store:
            file_cases(store, 2)
            assert sync_now(store).ok
    for home, own in ((t1, VILLAGE), (t2, OTHER_VILLAGE)):
        with Store.open(home) as store:
            assert sync_now(store).ok
            villages = {r[0] for r in store.conn.execute("SELECT village_code FROM cases")}
            assert villages == {own}
    with Store.open(v1) as store:
        assert sync_now(store).ok
        assert {r[0] for r in store.conn.execute("SELECT village_code FROM cases")} == {VILLAGE}


def test_township_enrolled_late_gets_the_cases_already_held(world) -> None:
    village = station(world, VILLAGE)
    with Store.open(village) as store:
        numbers = file_cases(store, 2)
        assert sync_now(store).ok
    township = station(world, TOWNSHIP, "township")
    with Store.open(township) as store:
        assert sync_now(store).applied == 2
        assert {r[0] for r in store.conn.execute("SELECT number FROM cases")} == set(numbers)


def test_business_conflicts_are_stored_and_routed_back_never_refused(world) -> None:
    village, township = station(world, VILLAGE), station(world, TOWNSHIP, "township")
    with Store.open(village) as store:
        numbers = file_cases(store, 2)
        assert sync_now(store).ok
    with Store.open(township) as store:
        assert sync_now(store).ok
        store.append("case.approved", {"reason": ""}, "赵审核", numbers[0])  # not accepted yet: illegal
        unknown = str(CaseNumber(VILLAGE, date(2026, 11, 25), 9999))
        store.append("case.accepted", {}, "赵审核", unknown)  # a case the platform does not hold
        store.append("case.accepted", {}, "赵审核", numbers[1])  # fine
        summary = sync_now(store)
        assert summary.ok and summary.batches_acknowledged == 1
        notices = [json.loads(b) for (b,) in store.conn.execute(
            "SELECT body FROM events WHERE type='sync.conflict'")]
        assert {n["code"] for n in notices} == {"illegal_transition", "unknown_case"}
    conflicts = world[4].store.conflicts()
    assert {c["reason"] for c in conflicts} == {"illegal_transition"}  # a business conflict, stored
    # a decision on a case the platform does not hold is refused by authority, before any effect
    assert [(r["case_number"], r["reason"]) for r in world[4].store.event_refusals()] == [(unknown, "unknown_case")]
    with Store.open(village) as store:
        assert sync_now(store).ok
        assert CaseReader(store).get(numbers[1]).status == "accepted"


def test_calendar_published_reaches_every_station(world, tmp_path: Path) -> None:
    village, township = station(world, VILLAGE), station(world, TOWNSHIP, "township")
    table = tmp_path / "holidays-2031.json"
    table.write_text(json.dumps({"year": 2031, "holidays": ["2031-01-01"], "workdays": ["2031-01-05"],
                                 "source": "国务院办公厅通知（测试）"}, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(main, ["platform", "publish-calendar", "--home", str(world[1]), str(table), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["stations"] == 2
    for home in (village, township):
        with Store.open(home) as store:
            assert sync_now(store).ok
            days = dict(store.conn.execute("SELECT day, kind FROM holidays WHERE year=2031"))
            assert days == {"2031-01-01": "holiday", "2031-01-05": "workday"}
    late = station(world, OTHER_VILLAGE)  # enrolled after publishing: still gets it
    with Store.open(late) as store:
        assert sync_now(store).ok
        assert store.conn.execute("SELECT COUNT(*) FROM holidays WHERE year=2031").fetchone()[0] == 2


def test_unreachable_platform_leaves_the_outbox_intact_and_says_why(world, tmp_path: Path) -> None:
    village = station(world, VILLAGE)
    configure(village, "http://127.0.0.1:9", sync_retries=0)  # nothing listens on the discard port
    with Store.open(village) as store:
        file_cases(store, 1)
        summary = sync_now(store)
        assert not summary.ok and summary.link == "down"
        assert "无法连接平台" in summary.errors[0]["message"]
        status = sync_status(store)
        assert status.link == "down" and status.pending_events == store.last_local_seq()
        # nothing is cut before the device has checked its chain with the platform (sync/catchup.py)
        assert status.batches["built"] == 0 and status.last_error
    configure(village, world[3])
    with Store.open(village) as store:
        assert sync_now(store).ok
        assert sync_status(store).pending_events == 0


def _sync_loop_until_the_platform_returns(village: Path, platform_home: Path, port: int) -> SyncLoop:
    """Run `sync run`'s loop while nothing listens on ``port`` (its first sync finds the link down), then
    start the gateway there and let the loop probe, find it back and sync; returns the finished loop."""
    loop = SyncLoop(village, interval_seconds=3600, probe_seconds=1, max_syncs=2)
    runner = threading.Thread(target=loop.run, daemon=True)
    runner.start()
    time.sleep(1.5)
    assert loop.state.syncs == 1 and loop.state.summaries[0].link == "down"
    with Platform.open(platform_home) as platform, ServerThread(platform, port=port):
        runner.join(timeout=20)
        assert not runner.is_alive()
    return loop


def test_scheduler_backs_off_while_unreachable_and_syncs_when_back(tmp_path: Path) -> None:
    home, keys = make_platform(tmp_path)
    village = make_station(tmp_path, home, keys, VILLAGE)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    configure(village, f"http://127.0.0.1:{port}", sync_retries=0)
    with Store.open(village) as store:
        file_cases(store, 2)
    loop = _sync_loop_until_the_platform_returns(village, home, port)
    assert loop.state.probes >= 1
    assert loop.state.summaries[-1].ok  # synced as soon as a probe found the platform back
    with Store.open(village) as store:
        assert sync_status(store).pending_events == 0


def test_when_the_link_comes_back_the_first_batch_rides_the_probes_connection(tmp_path: Path) -> None:
    """On an 800 ms link a new TCP connection costs a round trip: after a successful probe the sync's
    first batch goes on the connection the probe opened (and before the inbox pull takes one)."""
    home, keys = make_platform(tmp_path)
    village = make_station(tmp_path, home, keys, VILLAGE)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with FaultProxy(("127.0.0.1", port), FaultPlan(enabled=False)) as proxy:
        configure(village, proxy.url, sync_retries=0)
        with Store.open(village) as store:
            file_cases(store, 3)
        loop = _sync_loop_until_the_platform_returns(village, home, port)
        assert loop.state.summaries[-1].ok
        answered = [c for c in proxy.connections if c[:1] == ["GET /v1/health HTTP/1.1"] and len(c) > 1]
        assert len(answered) == 1, proxy.connections  # the successful probe's connection carried on
        # the process's first sync checks its chain with the platform first (sync/catchup.py), on that connection
        assert answered[0][1:3] == ["GET /v1/chain?after=0 HTTP/1.1", "POST /v1/batches HTTP/1.1"], answered[0]
    with Store.open(village) as store:
        assert sync_status(store).pending_events == 0


def test_cli_enrolment_configure_sync_and_status(tmp_path: Path, platform_store: str | None) -> None:
    runner = CliRunner(env=cli_login_env())

    def run(*args: str) -> dict:
        result = runner.invoke(main, [*args, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    pdir, vdir = tmp_path / "p", tmp_path / "v"
    database = ["--database", platform_store] if platform_store else []
    info = run("platform", "init", "--home", str(pdir), "--name", "测试省平台", *database)
    assert info["id"] == "platform"
    assert info["database"] == (platform_store or "sqlite")  # no password in this URL: shown whole
    run("platform", "keys", "--home", str(pdir), "--out", str(tmp_path / "platform.json"))
    init = runner.invoke(main, ["init", "--home", str(vdir), "--division-code", VILLAGE, "--name", "测试村便民服务站",
                                "--admin", TEST_ADMIN, "--password-stdin"], input=TEST_PASSWORD + "\n")
    assert init.exit_code == 0, init.output
    exported = run("keys", "export", "--home", str(vdir), "--out", str(tmp_path / "village.json"))
    assert (vdir / "keys" / "sync.key").stat().st_mode & 0o777 == 0o600
    enrolled = run("platform", "enroll", "--home", str(pdir), str(tmp_path / "village.json"))
    assert enrolled["fingerprint"] == exported["fingerprint"]
    with Platform.open(pdir) as platform, ServerThread(platform) as server:
        configured = run("sync", "configure", "--home", str(vdir), "--url", server.url, "--platform-keys",
                         str(tmp_path / "platform.json"), "--interval", "5")
        assert configured["platform_fingerprint"] == info["fingerprint"]
        assert (vdir / PLATFORM_KEYS_FILE).exists()
        with Store.open(vdir) as store:
            file_cases(store, 2)
        summary = run("sync", "now", "--home", str(vdir))
        assert summary["ok"] and summary["events_acknowledged"] > 0
        status = run("sync", "status", "--home", str(vdir))
        assert status["pending_events"] == 0 and status["link"] == "up"
        assert list(status) == ["station_id", "configured", "mode", "url", "pending_events", "unsent_events",
                                "pending_audit_events", "unbatched_events", "last_local_seq", "sent_seq", "acked_seq",
                                "batches", "held", "refused_pending", "inbox_cursor", "last_success", "last_attempt",
                                "last_error", "link", "platform_time_ms", "clock_warnings", "health"]  # the --json document
        cases = run("platform", "cases", "--home", str(pdir))
        assert cases["counts"]["cases"] == 2
    configure(vdir, sync_retries=0)
    bad = runner.invoke(main, ["sync", "now", "--home", str(vdir), "--json"])
    assert bad.exit_code == 2 and json.loads(bad.output)["link"] == "down"


def test_outbox_batches_are_bounded_and_recorded_before_sending(world) -> None:
    village = station(world, VILLAGE)
    configure(village, None, sync_batch_bytes=4096)
    with Store.open(village) as store:
        file_cases(store, 40)
        session_keys = __import__("sync.keys", fromlist=["x"])
        keys = session_keys.load_or_create(village, VILLAGE)
        platform = session_keys.platform_keys(village).keys
        made = outbox.cut(store, keys, platform, 4096)
        assert len(made) > 3
        rows = outbox.batches(store, (outbox.BUILT,))
        assert all(len(b.blob) <= 4096 for b in rows)
        assert [b.first_seq for b in rows][0] == 1
        assert all(a.last_seq + 1 == b.first_seq for a, b in zip(rows, rows[1:]))
        before = {b.seq: b.blob for b in rows}
        assert outbox.cut(store, keys, platform, 4096) == []  # nothing left: never re-cut
        assert sync_now(store).ok
        after = {b.seq: b.blob for b in outbox.batches(store, (outbox.ACKED,))}
        assert after == before  # the bytes sent are the bytes recorded
