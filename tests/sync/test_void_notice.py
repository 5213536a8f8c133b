"""A notice printed for a decision that lost at the platform is void: listed, warned, recalled, replaced.

Two devices of one township decide one case offline (device 1: 要求补正; device 2: 办结（准予）, and device 2
prints its 办结通知书 and hands it out). Device 1 reaches the platform first. Over the real gateway on
127.0.0.1: device 2 lists the void notice (domain), `station case show` and the case screen warn in red,
the home screen lists the case, the recall is recorded (then nothing is listed), and the notice printed
for the decision in force says it replaces the void one. A notice whose decision stood is never listed.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from textual.widgets import DataTable

from forms.problems import StationError
from station import events as ev
from station.audit import check, rebuild
from station.cases import CaseReader
from station.cli import main
from station.decisions import arrivals
from station.operators import get_operator
from station.printing import print_case_document
from station.review import Decision, decide
from station.store import Store
from station.testing import TEST_ADMIN, TEST_PASSWORD, cli_login_env
from station.tui.app import StationApp
from station.tui.screens.case import CaseScreen
from station.tui.screens.home import HomeScreen
from station.void_notices import cases_with_void_notices, record_recall, void_notices
from sync.gateway.testing import file_cases, make_station
from sync.service import sync_now
from tests.support import TOWNSHIP, VILLAGE
from tests.support.tui import log_in, text_of, wait_for

WARNING_TAIL = "的决定先到平台），该文书作废，请联系申请人收回，并打印现行决定的文书"


def device(world, code: str, n: int, role: str = "village") -> Path:
    root, home, keys, url, _ = world
    return make_station(root, home, keys, code, role, url, device=n)


def synced(home: Path) -> None:
    with Store.open(home) as store:
        summary = sync_now(store)
        assert summary.ok, summary.errors


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def cli(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--home", str(home)], env=cli_login_env())
    return result.exit_code, result.output


def two_devices_decide(world) -> tuple[Path, Path, str]:
    """A case accepted by device 1; then, offline, device 1 asks for 补正 and device 2 approves and prints
    its 办结通知书; device 1 reaches the platform first. Returns (device 1, device 2, number)."""
    village = device(world, VILLAGE, 1)
    t1, t2 = device(world, TOWNSHIP, 1, "township"), device(world, TOWNSHIP, 2, "township")
    with Store.open(village) as store:
        number = file_cases(store, 1)[0]
    synced(village)
    synced(t1)
    with Store.open(t1) as store:
        decide(store, number, Decision("accept"), get_operator(store, TEST_ADMIN))
    synced(t1)
    synced(t2)
    with Store.open(t1) as store:
        key = CaseReader(store).get(number).materials[0].key
        decide(store, number, Decision("correct", reason="身份证复印件不清晰", materials=(key,)),
               get_operator(store, TEST_ADMIN))
    with Store.open(t2) as store:
        admin = get_operator(store, TEST_ADMIN)
        decide(store, number, Decision("approve"), admin)
        printed = print_case_document(store, number, "result", admin)  # handed to the citizen
        assert "办结通知书" in pdf_text(printed.path)
        assert void_notices(store, number) == []  # its decision is the record here, for now
    synced(t1)  # first to reach the platform
    synced(t2)  # the approval loses; the conflict notice comes back
    return t1, t2, number


async def test_the_loser_s_printed_notice_is_void_until_recalled_and_the_new_notice_replaces_it(world) -> None:
    t1, t2, number = two_devices_decide(world)
    with Store.open(t2) as store:
        case = CaseReader(store).get(number)
        assert case.status == "correction_requested"  # device 1's decision is in force
        [void] = void_notices(store, number)
        assert (void.kind, void.title, void.count) == ("result", "办结通知书", 1)
        assert void.carried.label == "办结（准予）" and void.carried.station == f"{TOWNSHIP}-d2"
        assert void.carried.by == TEST_ADMIN
        assert void.in_force is not None and void.in_force.label == "要求补正"
        assert void.in_force.station == TOWNSHIP and void.in_force.event == case.decision["event"]
        printed_on = void.printed_on
        assert void.last_at.startswith(printed_on) and len(printed_on) == 10
        assert cases_with_void_notices(store) == [number]
        listed = [a for a in arrivals(store, store.clock().date()) if a.case.number == number]
        assert len(listed) == 1 and listed[0].void == (void,) and listed[0].kind == "correction"
        assert "办结通知书" in listed[0].void_title

    # the CLI: the same warning on `case show`, and a new key in --json (the others kept)
    code, out = cli(t2, "case", "show", number)
    assert code == 0, out
    assert f"本机于 {printed_on} 打印的《办结通知书》所依据的决定未生效（{TEST_ADMIN}（" in out
    assert WARNING_TAIL in out
    code, out = cli(t2, "case", "show", number, "--json")
    data = json.loads(out)
    assert code == 0 and "applicant" in data and number in out
    assert [v["title"] for v in data["void_notices"]] == ["办结通知书"]
    assert data["void_notices"][0]["decision"]["label"] == "办结（准予）"
    assert data["void_notices"][0]["in_force"]["label"] == "要求补正"

    # the home screen lists the case; the case screen warns in red and records the recall (x)
    app = StationApp(t2)
    async with app.run_test(size=(100, 30)) as pilot:
        await log_in(pilot, (TEST_ADMIN, TEST_PASSWORD))
        home = app.screen
        assert isinstance(home, HomeScreen)
        await wait_for(pilot, lambda: any(a.case.number == number for a in home.arrivals))
        table = home.query_one("#arrivals", DataTable)
        row = [str(c) for c in table.get_row(number)]
        assert "作废" in row[-1]
        app.open_case(number)
        await wait_for(pilot, lambda: isinstance(app.screen, CaseScreen) and app.screen.view is not None)
        screen = app.screen
        box = screen.query_one("#void-notices")
        assert box.display
        shown = text_of(box)
        assert f"本机于 {printed_on} 打印的《办结通知书》所依据的决定未生效" in shown and WARNING_TAIL in shown
        assert "red" in str(box.content.style)
        assert screen.check_action("recall", ()) is True
        await pilot.press("x")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ReasonDialog")
        dialog = app.screen
        dialog.query_one("#reason").value = "已电话告知申请人原办结通知书作废，约定明日交回"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen and screen.view is not None and not screen.view.void)
        assert not screen.query_one("#void-notices").display
        assert screen.check_action("recall", ()) is False

    with Store.open(t2) as store:
        assert void_notices(store, number) == []  # recalled: no longer listed
        assert cases_with_void_notices(store) == []
        assert all(a.case.number != number or not a.void for a in arrivals(store, store.clock().date()))
        [kept] = void_notices(store, number, include_recalled=True)
        assert kept.recall is not None and kept.recall.operator == TEST_ADMIN
        assert "约定明日交回" in kept.recall.note
        [recalled] = [e for e in store.case_events(number) if e.type == ev.NOTICE_RECALLED]
        assert recalled.body["kind"] == "result" and recalled.body["decision"] == kept.carried.event
        # the notice of the decision in force names the void paper it replaces
        out = store.home / "replacement.pdf"
        print_case_document(store, number, "correction", get_operator(store, TEST_ADMIN), out=out)
        text = "".join(pdf_text(out).split())
        y, m, d = (int(p) for p in printed_on.split("-"))
        assert f"本文书取代{y}年{m}月{d}日所发《办结通知书》，原文书作废。" in text
        assert "补正" in text
        # the recall is a case event like any other: it folds the same on a rebuild
        before = store.conn.execute("SELECT * FROM notice_recalls").fetchall()
        rebuild(store)
        assert store.conn.execute("SELECT * FROM notice_recalls").fetchall() == before
        assert check(store).ok

    # the recall rides the sync like other case events: the platform takes it from a township device
    synced(t2)
    synced(t1)
    with Store.open(t1) as store:
        assert [e.type for e in store.case_events(number) if e.type == ev.NOTICE_RECALLED] == [ev.NOTICE_RECALLED]
        assert store.conn.execute("SELECT count(*) FROM notice_recalls WHERE case_number=?", (number,)).fetchone()[0] == 1
        assert void_notices(store, number) == []  # nothing was printed void on device 1


def test_a_notice_whose_decision_stood_is_never_listed(world) -> None:
    t1, t2, number = two_devices_decide(world)
    with Store.open(t1) as store:
        admin = get_operator(store, TEST_ADMIN)
        out = store.home / "correction.pdf"
        print_case_document(store, number, "correction", admin, out=out)  # the winner's notice
        assert "本文书取代" not in "".join(pdf_text(out).split())
        assert void_notices(store, number) == [] and void_notices(store, number, include_recalled=True) == []
        assert cases_with_void_notices(store) == []
        assert all(not a.void for a in arrivals(store, store.clock().date()))
    code, out = cli(t1, "case", "show", number)
    assert code == 0 and "作废" not in out
    with Store.open(t2) as store:
        # on the loser too: the notice printed for the decision in force is not void, only the old one is
        admin = get_operator(store, TEST_ADMIN)
        print_case_document(store, number, "correction", admin)
        assert [v.title for v in void_notices(store, number)] == ["办结通知书"]
    village = next(p for p in Path(t1).parent.iterdir() if p.name.startswith(f"village-{VILLAGE}"))
    synced(village)
    with Store.open(village) as store:
        # the village never saw the losing decision: nothing printed there is void
        admin = get_operator(store, TEST_ADMIN)
        print_case_document(store, number, "correction", admin)
        assert void_notices(store, number) == [] and cases_with_void_notices(store) == []


def test_a_recall_needs_a_note_and_a_void_notice(world) -> None:
    t1, t2, number = two_devices_decide(world)
    with Store.open(t2) as store:
        admin = get_operator(store, TEST_ADMIN)
        with pytest.raises(StationError) as refused:
            record_recall(store, number, admin, "  ")
        assert refused.value.code == "bad_recall" and refused.value.problems[0].field == "note"
        with pytest.raises(StationError):
            record_recall(store, number, admin, "已收回", kind="refusal")  # no void 不予…告知书 here
        assert len(void_notices(store, number)) == 1  # nothing recorded by the refusals
    code, out = cli(t2, "case", "recall", number, "--note", "已收回原件")
    assert code == 0 and "已登记收回" in out and "《办结通知书》" in out
    code, out = cli(t2, "case", "recall", number, "--note", "再次登记")
    assert code != 0 and "没有待收回的作废文书" in out
    with Store.open(t1) as store:
        # the winner's device has nothing to recall
        with pytest.raises(StationError):
            record_recall(store, number, get_operator(store, TEST_ADMIN), "已收回")
