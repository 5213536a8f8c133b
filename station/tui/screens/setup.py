"""Start, first run: create this station (name, division code, first administrator) or open the demo."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Input, Label, Static

from station.demo import create_demo
from forms.identity import division_problems
from forms.problems import ProblemList, StationError
from station.setup import init_station
from station.tui.screens.base import StationScreen
from station.tui.widgets.problems import ProblemPanel


class SetupScreen(StationScreen):
    """No station in this folder yet."""

    BINDINGS = [
        Binding("ctrl+s", "create", "创建站点"),
        Binding("ctrl+d", "demo", "打开演示站"),
        Binding("ctrl+q", "app.quit", "退出"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("村级便民服务站 · 首次使用", classes="screen-title")
        with VerticalScroll(classes="form"):
            yield Static("本机还没有服务站。请填写站点信息并设置第一位管理员；"
                         "只想先看看，按 Ctrl+D 打开演示站。", classes="hint")
            yield Label("站点名称", classes="field-label")
            yield Input(placeholder="如：示范镇示范村便民服务站", id="name")
            yield Label("村级区划代码（12位统计用区划代码）", classes="field-label")
            yield Input(placeholder="如：421381105201", id="division", max_length=12, restrict=r"[0-9]*")
            yield Label("管理员姓名", classes="field-label")
            yield Input(id="admin")
            yield Label("管理员密码（至少6位）", classes="field-label")
            yield Input(password=True, id="password")
            yield Label("再输一遍密码", classes="field-label")
            yield Input(password=True, id="password2")
            yield ProblemPanel(id="problems", classes="problems")
            with Horizontal(classes="buttons"):
                yield Button("创建站点", id="create", variant="primary")
                yield Button("打开演示站", id="demo")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(ProblemPanel).clear()
        self.query_one("#name", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "password2":
            self.action_create()
        else:
            self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "create":
            self.action_create()
        elif event.button.id == "demo":
            self.action_demo()

    def _value(self, key: str) -> str:
        return self.query_one(f"#{key}", Input).value.strip()

    def action_create(self) -> None:
        name, division, admin = self._value("name"), self._value("division"), self._value("admin")
        password, again = self.query_one("#password", Input).value, self.query_one("#password2", Input).value
        problems = ProblemList()
        if not name:
            problems.add("name", "required", "请填写站点名称")
        problems.extend(division_problems(division, "division_code", expect="village") if division else [])
        if not division:
            problems.add("division_code", "required", "请填写12位村级区划代码")
        if not admin:
            problems.add("admin", "required", "请填写管理员姓名")
        if len(password) < 6:
            problems.add("password", "too_short", "管理员密码至少6位")
        elif password != again:
            problems.add("password2", "mismatch", "两次输入的密码不一致")
        if problems:
            self.query_one(ProblemPanel).show(problems.items, "请先改正：")
            return
        self.query_one(ProblemPanel).show(["正在创建站点……"])
        home = self.session.home

        def create() -> None:
            init_station(home, division, name, "village", admin=(admin, password))

        self.call_domain(create, self._created, failed=self._failed)

    def action_demo(self) -> None:
        self.query_one(ProblemPanel).show(["正在创建演示站（约需十几秒）……"])
        home = self.session.home
        self.call_domain(lambda: create_demo(home, today=self.session.today()), self._created, failed=self._failed)

    def _failed(self, exc: StationError) -> None:
        self.query_one(ProblemPanel).show(exc.problems or [exc.message], exc.message if exc.problems else "")

    def _created(self, result: Any) -> None:
        hint = ""
        if isinstance(result, dict) and result.get("operators"):
            hint = "演示站操作员：" + "，".join(f"{o['name']}（密码 {o['password']}）" for o in result["operators"])
        self.app.go("login", hint=hint)
