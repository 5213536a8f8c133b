"""Several PCs per service point, over the real gateway on 127.0.0.1 (issue 12).

Two devices of one township and two of one village file offline on the same day, then sync: every case
arrives once, under distinct numbers, in the right queues; the devices of a service point see each
other's work; two township devices deciding one case: the platform keeps the first and tells the second.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from station import events as ev
from station.casenumber import parse
from station.cases import CaseReader
from station.cli import main
from station.decisions import decision_lines, superseded
from station.operators import get_operator
from station.review import Decision, decide, review_queue
from station.store import Store
from station.testing import TEST_ADMIN, cli_login_env
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.gateway.testing import file_cases, make_platform
from tests.support import TOWNSHIP, VILLAGE, VILLAGE_2
from tests.support.devices import device, synced

pytestmark = pytest.mark.usefixtures("platform_store")  # every test on both platform stores


@pytest.fixture
def world(tmp_path: Path):
    home, keys = make_platform(tmp_path)
    with Platform.open(home) as platform, ServerThread(platform) as server:
        yield tmp_path, home, keys, server.url, platform


def numbers_of(home: Path) -> set[str]:
    with Store.open(home) as store:
        return {r[0] for r in store.conn.execute("SELECT number FROM cases")}


def test_devices_of_a_township_and_a_village_file_offline_the_same_day_and_every_case_arrives_once(world) -> None:
    v1, v2 = device(world, VILLAGE, 1), device(world, VILLAGE, 2)
    other = device(world, VILLAGE_2, 1)
    t1, t2 = device(world, TOWNSHIP, 1, "township"), device(world, TOWNSHIP, 2, "township")
    filed: dict[Path, list[str]] = {}
    for home, count in ((v1, 4), (v2, 5), (other, 2)):  # all offline, all today
        with Store.open(home) as store:
            filed[home] = file_cases(store, count)
    # distinct numbers, each carrying the service point and its device in the serial's first digit
    assert [parse(n).sequence for n in filed[v1]] == [1, 2, 3, 4]
    assert [parse(n).sequence for n in filed[v2]] == [1001, 1002, 1003, 1004, 1005]
    assert {parse(n).device for n in filed[v2]} == {2} and {n[:12] for n in filed[v2]} == {VILLAGE}
    everything = {n for numbers in filed.values() for n in numbers}
    assert len(everything) == 11
    for home in (v1, v2, other, t1, t2, v1, v2):  # the villages twice: the second time they pull each other's
        synced(home)
    held = world[4].store.cases()
    assert sorted(c["number"] for c in held) == sorted(everything)  # each exactly once on the platform
    owners = {c["number"]: c["owner"] for c in held}
    assert {owners[n] for n in filed[v2]} == {f"{VILLAGE}-d2"}
    # both township devices hold every case of their villages, in their review queue
    for t in (t1, t2):
        with Store.open(t) as store:
            queue = {c.number for c in review_queue(store)}
            assert queue == everything
            assert {c.village_code for c in review_queue(store, village=VILLAGE)} == {VILLAGE}
    # the devices of one village see each other's cases; the other village sees only its own
    assert numbers_of(v1) == numbers_of(v2) == set(filed[v1]) | set(filed[v2])
    assert numbers_of(other) == set(filed[other])
    # the timeline says which device filed
    with Store.open(v1) as store:
        case = CaseReader(store).get(filed[v2][0])
        assert case.filed_by_station == f"{VILLAGE}-d2"
        assert case.timeline[0].device == 2 and case.timeline[0].to_dict()["service_point"] == VILLAGE


def test_two_township_devices_deciding_one_case_the_platform_keeps_the_first_and_tells_the_second(world) -> None:
    village = device(world, VILLAGE, 1)
    t1, t2 = device(world, TOWNSHIP, 1, "township"), device(world, TOWNSHIP, 2, "township")
    with Store.open(village) as store:
        number = file_cases(store, 1)[0]
    synced(village)
    synced(t1)
    synced(t2)
    for home, action, reason in ((t1, "accept", ""), (t2, "refuse", "材料不属于本事项")):
        with Store.open(home) as store:  # both decide offline
            decide(store, number, Decision(action, reason=reason), get_operator(store, TEST_ADMIN))
    synced(t1)  # first to reach the platform
    synced(t2)  # its decision loses: conflict notice comes back in the same sync
    held = {c["number"]: c["status"] for c in world[4].store.cases()}
    assert held[number] == "accepted"
    with Store.open(t2) as store:
        case = CaseReader(store).get(number)
        assert case.status == "accepted"  # the winner's decision, seen through the platform
        lost = [e for e in store.case_events(number) if e.type == ev.CASE_NOT_ACCEPTED]
        assert lost and (lost[0].station, lost[0].hlc) in superseded(store, number)
        notices = [e for e in store.case_events(number) if e.type == ev.SYNC_CONFLICT]
        assert notices and "同步冲突" in notices[0].body["reason"]
        rows = dict(decision_lines(case, {TOWNSHIP: "测试镇"}))
        assert rows["审核人"].endswith("（测试镇）")  # decided by device 1
    synced(t1)
    with Store.open(t1) as store:
        assert CaseReader(store).get(number).status == "accepted"
    synced(village)
    with Store.open(village) as store:
        case = CaseReader(store).get(number)
        assert case.status == "accepted"


def test_init_names_the_device_and_keys_export_says_which_device(tmp_path: Path) -> None:
    runner = CliRunner()
    home = tmp_path / "v2"
    result = runner.invoke(main, ["init", "--home", str(home), "--division-code", VILLAGE, "--name", "测试村",
                                  "--device", "2", "--admin", TEST_ADMIN, "--password-stdin", "--json"],
                           input="admin1234\n")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["station_id"] == f"{VILLAGE}-d2" and data["device"] == 2 and data["division_code"] == VILLAGE
    result = runner.invoke(main, ["keys", "export", "--home", str(home)], env=cli_login_env())
    assert result.exit_code == 0, result.output
    assert "2号机" in result.stderr
    assert json.loads(result.stdout)["station_id"] == f"{VILLAGE}-d2"
    bad = runner.invoke(main, ["init", "--home", str(tmp_path / "bad"), "--division-code", VILLAGE, "--name", "测试村",
                               "--device", "12"])
    assert bad.exit_code != 0 and "设备编号" in bad.output
    assert not (tmp_path / "bad").exists()
