"""Every screen's footer is Chinese (issue 15): the app's own bindings and Textual's built-in ones
(the select list's "Dismiss menu", the Ctrl+C hint), walked over every routed screen and the dialogs."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

from station.cases import CaseReader, file_case
from station.operators import os_account
from station.sample_data import make_submission
from station.setup import init_station
from station.store import Store
from station.testing import VILLAGE
from station.tui.app import StationApp
from station.tui.routes import ROUTES
from station.tui.screens.dialogs import ConfirmDialog
from tests.support.tui import ADMIN, TODAY, Clock, wait_for

ALLOWED = {"U", "Ctrl", "Esc", "Enter", "Tab", "PDF", "CSV", "Excel"}  # U盘, key names, file kinds


def english(text: str) -> set[str]:
    return {w for w in re.findall(r"[A-Za-z][A-Za-z]+", text) if w not in ALLOWED}


def footer_descriptions(app: StationApp) -> dict[str, str]:
    return {key: b.binding.description for key, b in app.screen.active_bindings.items() if b.binding.show}


async def shown_footer(pilot: Any, name: str, seen: dict[str, dict[str, str]]) -> None:
    await pilot.pause(0.3)
    seen[name] = footer_descriptions(pilot.app)


async def test_every_screens_footer_is_chinese(demo_home: Path, tmp_path: Path, catalog) -> None:
    from tests.support.tui import log_in

    with Store.open(demo_home, clock=Clock()) as store:
        numbers = [c.number for c in CaseReader(store, TODAY).list(limit=2)]
        item = catalog.get("MZ-GLJT-001")
        filed = file_case(store, catalog, item.code, make_submission(item, random.Random(3), TODAY), os_account())
    args: dict[str, dict[str, Any]] = {
        "case": {"number": numbers[0]}, "review_case": {"number": numbers[0]},
        "duplicates": {"number": numbers[0], "other": numbers[1]}, "result": {"filed": filed, "item_name": item.name},
        "search": {}, "intake": {}, "sync": {}, "settings": {}, "stats": {}, "review": {},
    }
    seen: dict[str, dict[str, str]] = {}
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: type(app.screen).__name__ == "LoginScreen")
        await shown_footer(pilot, "login", seen)
        await log_in(pilot, ADMIN)
        await shown_footer(pilot, "home", seen)
        for name, kwargs in args.items():
            app.open(name, **kwargs)
            await wait_for(pilot, lambda: type(app.screen).__name__ == ROUTES[name][1])
            await shown_footer(pilot, name, seen)
            if name == "search":  # Textual's select list, opened: its footer key too
                app.screen.query_one("#status").focus()
                await pilot.press("enter")
                await pilot.pause(0.3)
                seen["search: select list"] = footer_descriptions(app)
                await pilot.press("escape")
            app.back()
            await pilot.pause(0.1)
        app.push_screen(ConfirmDialog("丢弃？"))
        await shown_footer(pilot, "confirm dialog", seen)
        await pilot.press("escape")
        await pilot.press("ctrl+c")  # not a quit: a Chinese hint how to quit
        await pilot.pause(0.2)
        notes = [n.title + n.message for n in app._notifications]
        assert notes and not english(" ".join(notes)), notes
    for name, first_run in (("setup", tmp_path / "nothing-here"), ("first_admin", tmp_path / "no-operator")):
        if name == "first_admin":
            init_station(first_run, VILLAGE, "测试村便民服务站", "village")
        other = StationApp(first_run, clock=Clock(), catalog=catalog)
        async with other.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: type(other.screen).__name__ == ROUTES[name][1])
            await shown_footer(pilot, name, seen)
    assert set(ROUTES) <= set(seen), set(ROUTES) - set(seen)  # every routed screen was walked
    assert "关闭列表" in seen["search: select list"].values()
    assert sum(len(d) for d in seen.values()) >= 40  # the walk really read footers
    for name, descriptions in seen.items():
        for key, text in descriptions.items():
            assert re.search(r"[\u4e00-\u9fff]", text) and not english(text), (name, key, text)
