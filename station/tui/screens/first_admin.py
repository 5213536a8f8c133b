"""Start, on a home with no operator yet (`station init` without --admin): create the first administrator.

Never a login nobody can pass: the screen asks for a name and the password twice, creates the
administrator through the domain (which refuses once any operator exists) and returns to the login.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Input, Label, Static

from forms.problems import ProblemList, StationError
from station.operators import Operator, create_first_admin
from station.tui.screens.base import StationScreen
from station.tui.widgets.problems import ProblemPanel


class FirstAdminScreen(StationScreen):
    BINDINGS = [Binding("ctrl+s", "create", "创建管理员"), Binding("ctrl+q", "app.quit", "退出")]

    def compose(self) -> ComposeResult:
        yield Static("村级便民服务站 · 设置管理员", classes="screen-title")
        with VerticalScroll(classes="form"):
            yield Static("本站还没有操作员。请设置第一位管理员（之后由管理员添加代办员和审核员）。", classes="hint")
            yield Label("管理员姓名", classes="field-label")
            yield Input(id="admin")
            yield Label("管理员密码（至少6位）", classes="field-label")
            yield Input(password=True, id="password")
            yield Label("再输一遍密码", classes="field-label")
            yield Input(password=True, id="password2")
            yield ProblemPanel(id="problems", classes="problems")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(ProblemPanel).clear()
        self.query_one("#admin", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "password2":
            self.action_create()
        else:
            self.focus_next()

    def action_create(self) -> None:
        admin = self.query_one("#admin", Input).value.strip()
        password, again = self.query_one("#password", Input).value, self.query_one("#password2", Input).value
        problems = ProblemList()
        if not admin:
            problems.add("admin", "required", "请填写管理员姓名")
        if len(password) < 6:
            problems.add("password", "too_short", "管理员密码至少6位")
        elif password != again:
            problems.add("password2", "mismatch", "两次输入的密码不一致")
        if problems:
            self.query_one(ProblemPanel).show(problems.items, "请先改正：")
            return
        store = self.session.require_store()
        self.call_domain(lambda: create_first_admin(store, admin, password), self._created, failed=self._failed)

    def _failed(self, exc: StationError) -> None:
        self.query_one(ProblemPanel).show(exc.problems or [exc.message], exc.message if exc.problems else "")

    def _created(self, admin: Operator) -> None:
        self.app.go("login", hint=f"已创建管理员「{admin.name}」，请登录")
