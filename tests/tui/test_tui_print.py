"""Printing from the TUI: every document the case's state allows, on any paper, large print, the daily
report; the toast is one short line and the details stay on the screen."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from pypdf import PdfReader

from station import lifecycle
from station.printing import KIND_TITLES, documents_for
from station.store import Store
from station.tui.app import StationApp
from station.tui.widgets.print_status import PrintStatus
from tests.support.tui import Clock, log_in, text_of, wait_for
from tests.tui.test_tui_case import find, open_case


def page_width_mm(path: Path) -> float:
    page = PdfReader(BytesIO(path.read_bytes())).pages[0]
    return round(float(page.mediabox.width) / 72 * 25.4, 1)


async def test_print_dialog_offers_every_document_on_any_paper(demo_home: Path, catalog) -> None:
    target = find(demo_home, status=lifecycle.APPROVED)
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        screen = await open_case(pilot, target.number)
        await pilot.press("p")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "PrintDialog")
        dialog = app.screen
        options = dialog.query_one("#kinds")
        offered = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert offered == documents_for(target) and len(offered) >= 4
        assert [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)] == \
            [KIND_TITLES[k] + ("（A4）" if k == "application" else "") for k in offered]
        # paper: the station's by default, any other on offer
        paper = dialog.query_one("#print-format")
        assert paper.value == "a4"
        assert {v for _, v in paper._options} >= {"a4", "roll80", "roll58"}
        paper.value = "roll80"
        await pilot.press("tab")                            # Tab reaches the paper and 大字版
        assert app.focused is paper
        await pilot.press("tab")
        assert app.focused is dialog.query_one("#print-large")
        await pilot.press("space")
        assert dialog.query_one("#print-large").value is True
        options.focus()
        await pilot.press("down", "enter")                  # the second document
        await wait_for(pilot, lambda: getattr(screen, "last_print", None) is not None, timeout=30)
        result = screen.last_print
        assert result.kind == offered[1]
        assert page_width_mm(result.path) == (210.0 if offered[1] == "application" else 80.0)  # 申请表: A4 only
        # the details on the screen; the toast a single short line
        status = screen.query_one(PrintStatus)
        assert status.display and str(result.path) in text_of(status) and "已存档" in text_of(status)
        last = list(app._notifications)[-1]
        assert "\n" not in last.message and len(last.message) <= 20
    with Store.open(demo_home) as store:
        body = [e.body for e in store.iter_events("type='notice.printed'")][-1]
    assert body["large"] is True


async def test_receipt_on_58mm_large(demo_home: Path, catalog) -> None:
    target = find(demo_home, status=lifecycle.RECEIVED)
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot)
        screen = await open_case(pilot, target.number)
        await pilot.press("p")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "PrintDialog")
        app.screen.query_one("#print-format").value = "roll58"
        app.screen.query_one("#print-large").value = True
        await pilot.press("enter")                          # the first: 收件回执
        await wait_for(pilot, lambda: getattr(screen, "last_print", None) is not None, timeout=30)
        assert screen.last_print.kind == "receipt" and page_width_mm(screen.last_print.path) == 58.0
    with Store.open(demo_home) as store:
        body = [e.body for e in store.iter_events("type='notice.printed'")][-1]
    assert body["format"] == "roll58" and body["large"] is True


async def test_daily_report_from_home(demo_home: Path, catalog) -> None:
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        home = app.screen
        await pilot.press("b")
        await wait_for(pilot, lambda: getattr(home, "last_print", None) is not None, timeout=30)
        result = home.last_print
        assert result.kind == "daily" and result.path.read_bytes().startswith(b"%PDF")
        assert page_width_mm(result.path) == 210.0
