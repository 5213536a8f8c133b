"""设置 (administrators only): station details, printer and paper, sync, and the operators."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Checkbox, DataTable, Footer, Input, Label, Select, Static

from forms.problems import StationError
from station.home import StationConfig, read_config
from station.operators import Operator, add_operator, list_operators, set_disabled, set_password
from station.settings import PAPER_FORMATS, save_local
from station.tui.screens.base import StationScreen
from station.tui.screens.dialogs import OperatorDialog, PasswordDialog
from station.tui.widgets.problems import ProblemPanel

TEXT_SETTINGS = [("name", "站点名称"), ("phone", "站点电话（印在回执上）"), ("address", "站点地址"),
                 ("printer", "打印机名称（留空则只存档PDF）"), ("sync_url", "省平台同步地址"),
                 ("sync_interval_minutes", "自动同步间隔（分钟）")]
PAPER = [("A4 纸", "a4"), ("80毫米热敏卷纸", "roll80")]


class SettingsScreen(StationScreen):
    BINDINGS = [
        Binding("escape", "back", "返回"),
        Binding("ctrl+s", "save", "保存设置"),
        Binding("ctrl+o", "add_operator", "添加操作员"),
        Binding("ctrl+r", "reset_password", "重置密码"),
        Binding("ctrl+t", "toggle_operator", "停用/启用"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("设置（管理员）", classes="screen-title")
        with VerticalScroll(id="settings-body", classes="form"):
            for key, label in TEXT_SETTINGS:
                yield Label(label, classes="field-label")
                # Values arrive from a worker after focus; selecting all on focus would race the
                # load (and one stray key would then wipe the station name).
                yield Input(id=f"s-{key}", select_on_focus=False)
            with Horizontal(classes="row"):
                yield Select(PAPER, allow_blank=False, value="a4", id="s-paper_format")
                yield Checkbox("默认大字打印（方便老年人）", id="s-large_print")
            yield ProblemPanel(id="settings-problems", classes="problems")
            yield Static("操作员（Ctrl+O 添加，Ctrl+R 重置密码，Ctrl+T 停用/启用）", classes="section-title")
            yield DataTable(id="operators", cursor_type="row")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(ProblemPanel).clear()
        self.query_one("#operators", DataTable).add_columns("姓名", "角色", "状态")
        home = self.session.home
        self.call_domain(lambda: read_config(home), self._show_config)
        self.load_operators()
        self.query_one("#s-name", Input).focus()

    def _show_config(self, config: StationConfig) -> None:
        for key, _ in TEXT_SETTINGS:
            self.query_one(f"#s-{key}", Input).value = str(getattr(config, key))
        self.query_one("#s-paper_format", Select).value = config.paper_format if config.paper_format in PAPER_FORMATS else "a4"
        self.query_one("#s-large_print", Checkbox).value = bool(config.large_print)

    def load_operators(self) -> None:
        store = self.session.require_store()
        self.call_domain(lambda: list_operators(store), self._show_operators, group="operators", exclusive=True)

    def _show_operators(self, operators: list[Operator]) -> None:
        table = self.query_one("#operators", DataTable)
        table.clear()
        for op in operators:
            table.add_row(op.name, op.role_label, "已停用" if op.disabled else "正常", key=op.name)
        self.operators = {op.name: op for op in operators}

    def action_save(self) -> None:
        values: dict[str, Any] = {key: self.query_one(f"#s-{key}", Input).value for key, _ in TEXT_SETTINGS}
        values["paper_format"] = self.query_one("#s-paper_format", Select).value
        values["large_print"] = self.query_one("#s-large_print", Checkbox).value
        home = self.session.home
        self.call_domain(lambda: save_local(home, values), self._saved, failed=self._refused)

    def _refused(self, exc: StationError) -> None:
        self.query_one(ProblemPanel).show(exc.problems or [exc.message], exc.message)

    def _saved(self, config: StationConfig) -> None:
        store = self.session.store
        if store is not None:
            store.config = config
        self.query_one(ProblemPanel).show(["设置已保存"])
        self.app.notify("设置已保存", title="设置")

    def _selected(self) -> str | None:
        table = self.query_one("#operators", DataTable)
        if table.row_count == 0:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def action_add_operator(self) -> None:
        store, me = self.session.require_store(), self.session.operator
        self.app.push_screen(OperatorDialog(lambda name, role, pw: add_operator(store, name, role, pw, me)),
                             self._operator_changed)

    def action_reset_password(self) -> None:
        name = self._selected()
        if not name:
            return
        store, me = self.session.require_store(), self.session.operator
        self.app.push_screen(PasswordDialog(name, lambda pw: set_password(store, name, pw, me)),
                             self._operator_changed)

    def action_toggle_operator(self) -> None:
        name = self._selected()
        if not name:
            return
        me = self.session.operator
        if me is not None and name == me.name:
            self.app.notify("不能停用自己正在使用的账户", severity="warning")
            return
        store = self.session.require_store()
        disable = not getattr(self, "operators", {}).get(name, Operator(name, "agent")).disabled
        self.call_domain(lambda: set_disabled(store, name, disable, me), lambda _: self._operator_changed(True))

    def _operator_changed(self, result: Any) -> None:
        if result is not None:
            self.app.notify("操作员已更新", title="设置")
            self.load_operators()

    def action_back(self) -> None:
        self.app.pop_screen()
