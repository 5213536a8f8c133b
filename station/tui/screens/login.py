"""Start: log in (operator name and password). Five wrong passwords lock the account for 15 minutes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Footer, Input, Label, Static

from station.operators import Operator, authenticate, list_operators
from forms.problems import StationError
from station.tui.screens.base import StationScreen


class LoginScreen(StationScreen):
    BINDINGS = [Binding("ctrl+q", "app.quit", "退出")]

    def __init__(self, hint: str = "", locked: str = ""):
        """``locked``: the operator whose idle session this screen locks (their name is filled in)."""
        super().__init__()
        self.hint = hint
        self.locked = locked

    def compose(self) -> ComposeResult:
        yield Static("村级便民服务站 · 登录", classes="screen-title")
        with Vertical(classes="login-box"):
            yield Static("", id="station-name", classes="station-name")
            yield Label("操作员", classes="field-label")
            yield Input(value=self.locked, placeholder="姓名", id="operator")
            yield Label("密码", classes="field-label")
            yield Input(password=True, id="password")
            yield Static(self.hint, id="message", classes="hint")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        # The boxes inside the login box may be mounted just after this screen: focus after a refresh.
        self.call_after_refresh(lambda: self.query_one("#password" if self.locked else "#operator", Input).focus())
        self.call_domain(self._load, self._loaded)

    def _load(self) -> tuple[str, list[str], str, bool]:
        store = self.session.open_store()
        demo_hint = str((store.config.extra or {}).get("demo_hint", ""))
        everyone = list_operators(store)
        return store.config.name, [op.name for op in everyone if not op.disabled], demo_hint, bool(everyone)

    def _loaded(self, result: tuple[str, list[str], str, bool]) -> None:
        name, operators, demo_hint, any_operator = result
        if not any_operator:  # a home made by `station init` without --admin: nobody could log in
            self.app.go("first_admin")
            return
        self.query_one("#station-name", Static).update(name)
        if demo_hint and not self.hint:
            self.query_one("#message", Static).update(demo_hint)
        box = self.query_one("#operator", Input)
        box.suggester = SuggestFromList(operators, case_sensitive=False)
        if len(operators) == 1 and not box.value:
            box.value = operators[0]
            self.query_one("#password", Input).focus()
        # Import the home screen while the operator types: its module loads printing (reportlab) and sync
        # (requests), 0.3–0.5 s on the bench machine, which would otherwise stall the UI thread at login.
        app = self.app
        self.call_domain(lambda: app.preload("home"), lambda _: None, group="warm", lock=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "operator":
            self.query_one("#password", Input).focus()
            return
        name = self.query_one("#operator", Input).value.strip()
        password = self.query_one("#password", Input).value
        message = self.query_one("#message", Static)
        if not name:
            message.update("请输入操作员姓名")
            self.query_one("#operator", Input).focus()
            return
        message.update("正在核对……")
        self.call_domain(lambda: authenticate(self.session.require_store(), name, password, face="tui"),
                         self._ok, failed=self._refused)

    def _refused(self, exc: StationError) -> None:
        self.query_one("#message", Static).update(exc.message)
        box = self.query_one("#password", Input)
        box.value = ""
        box.focus()

    def _ok(self, operator: Operator) -> None:
        self.app.logged_in(operator)
