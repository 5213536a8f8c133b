"""Start screens: first-run setup and login with lock-out messages, driven through the real app."""

from __future__ import annotations

from pathlib import Path


from station.home import is_station_home
from station.operators import list_operators
from station.store import Store
from station.tui.app import StationApp
from station.tui.screens.home import HomeScreen
from station.tui.screens.login import LoginScreen
from station.tui.screens.setup import SetupScreen
from tests.support.tui import AGENT, Clock, log_in, text_of, type_fields, wait_for


async def test_wrong_password_then_right(demo_home: Path, catalog) -> None:
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen))
        await type_fields(pilot, AGENT[0], "wrong-password")
        message = app.screen.query_one("#message")
        await wait_for(pilot, lambda: "还可尝试4次" in text_of(message))
        assert text_of(message) == "用户名或密码错误（还可尝试4次）"
        assert app.screen.query_one("#password").value == ""  # typed again, never kept
        await pilot.press(*AGENT[1], "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        assert app.session.operator is not None and app.session.operator.name == AGENT[0]


async def test_lock_out_after_five_failures(demo_home: Path, catalog) -> None:
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen))
        name = app.screen.query_one("#operator")
        await pilot.press(*AGENT[0], "enter")
        await wait_for(pilot, lambda: app.focused is not name)
        message = app.screen.query_one("#message")
        for attempt in range(5):
            await pilot.press(*f"bad{attempt}xx", "enter")
            await wait_for(pilot, lambda: "核对" not in text_of(message))
        assert "锁定" in text_of(message)
        await pilot.press(*AGENT[1], "enter")  # even the right password is refused while locked
        await wait_for(pilot, lambda: "之后再试" in text_of(message))
        assert isinstance(app.screen, LoginScreen)


async def test_first_run_setup_creates_station_and_admin(tmp_path: Path, catalog) -> None:
    home = tmp_path / "new-station"
    app = StationApp(home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SetupScreen))
        await pilot.press("ctrl+s")  # nothing typed: every problem listed at once
        problems = app.screen.query_one("#problems")
        await wait_for(pilot, lambda: "站点名称" in text_of(problems))
        for expected in ("请填写站点名称", "请填写12位村级区划代码", "请填写管理员姓名", "管理员密码至少6位"):
            assert expected in text_of(problems)
        await type_fields(pilot, "测试村便民服务站", "421381105201", "张管理", "secret123", "secret123")
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen), timeout=20)
        assert is_station_home(home)
        await log_in(pilot, ("张管理", "secret123"))
    with Store.open(home) as store:
        assert [(o.name, o.role) for o in list_operators(store)] == [("张管理", "admin")]
