"""设置 (administrators only): station details, printer and paper, sync, and the operators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Checkbox, DataTable, Footer, Input, Label, Select, Static

from forms.problems import StationError
from station.home import StationConfig, read_config
from station.operators import Operator, add_operator, list_operators, set_disabled, set_password
from station.settings import (ADDRESS_HINTS, IDLE_LOCK_HELP, IDLE_LOCK_LABEL, PAPER_FORMATS, PAPER_LABELS,
                              PRINTER_KIND_LABELS, PRINTER_KINDS, save_local)
from station.tui.screens.base import StationScreen
from station.tui.screens.dialogs import OperatorDialog, PasswordDialog
from station.tui.widgets.problems import ProblemPanel

TEXT_SETTINGS = [("name", "站点名称"), ("phone", "站点电话（印在回执上）"), ("address", "站点地址"),
                 ("printer", "打印机：系统打印机名称，或热敏小票机地址（留空则只存档PDF）"), ("sync_url", "省平台同步地址"),
                 ("sync_interval_minutes", "自动同步间隔（分钟）"),
                 ("backup_reminder_days", "多少天没备份就在首页提醒（天）"),
                 ("idle_lock_minutes", IDLE_LOCK_LABEL)]
PAPER = [(label, name) for name, label in PAPER_LABELS.items()]
PRINTER_KIND_OPTIONS = [(label, kind) for kind, label in PRINTER_KIND_LABELS.items()]


class SettingsScreen(StationScreen):
    BINDINGS = [
        Binding("escape", "back", "返回"),
        Binding("ctrl+s", "save", "保存设置"),
        Binding("ctrl+l", "load_platform_keys", "载入平台公钥"),
        Binding("ctrl+o", "add_operator", "添加操作员"),
        Binding("ctrl+r", "reset_password", "重置密码"),
        Binding("ctrl+t", "toggle_operator", "停用/启用"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("设置（管理员）", classes="screen-title")
        with VerticalScroll(id="settings-body", classes="form"):
            yield ProblemPanel(id="settings-problems", classes="problems")
            for key, label in TEXT_SETTINGS:
                if key == "printer":
                    yield Label("打印机类型", classes="field-label")
                    yield Select(PRINTER_KIND_OPTIONS, allow_blank=False, value="cups", id="s-printer_kind")
                    yield Static("", id="err-s-printer_kind", classes="field-error")
                yield Label(label, classes="field-label")
                # Values arrive from a worker after focus; selecting all on focus would race the
                # load (and one stray key would then wipe the station name).
                yield Input(id=f"s-{key}", select_on_focus=False)
                if key == "printer":
                    yield Static(ADDRESS_HINTS["cups"], id="printer-hint", classes="hint")
                if key == "idle_lock_minutes":
                    yield Static(IDLE_LOCK_HELP, id="idle-lock-hint", classes="hint")
                yield Static("", id=f"err-s-{key}", classes="field-error")
            yield Label("纸张", classes="field-label")
            yield Select(PAPER, allow_blank=False, value="a4", id="s-paper_format")
            yield Static("", id="err-s-paper_format", classes="field-error")
            # on a row of its own: at 80 columns beside the paper choice its label was cut off
            yield Checkbox("默认大字打印（方便老年人）", id="s-large_print")
            # --- the platform's key file, from a USB stick (all a USB-only village needs) -----------
            yield Static("省平台公钥（填好位置后按 Enter 或 Ctrl+L 载入）", classes="section-title")
            yield Label("U盘上的平台公钥文件，或它所在的文件夹（如 /media/usb）", classes="field-label")
            yield Input(id="s-platform_keys", select_on_focus=False, placeholder="/media/usb/platform-keys.json")
            yield Static("", id="platform-keys-info", classes="hint")
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
        kind = config.printer_kind if config.printer_kind in PRINTER_KINDS else "cups"
        self.query_one("#s-printer_kind", Select).value = kind

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "s-printer_kind" and isinstance(event.value, str):
            self.query_one("#printer-hint", Static).update(ADDRESS_HINTS.get(event.value, ""))

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
        values["printer_kind"] = self.query_one("#s-printer_kind", Select).value
        values["large_print"] = self.query_one("#s-large_print", Checkbox).value
        home, store, operator = self.session.home, self.session.require_store(), self.session.operator
        self.call_domain(lambda: save_local(home, values, store, operator), self._saved, failed=self._refused)

    def _field_errors(self, problems: Any) -> list[str]:
        """Each problem under its own field; what has no field goes to the panel at the top."""
        for err in self.query(".field-error"):
            if isinstance(err, Static):
                err.update("")
        elsewhere, first = [], None
        for p in problems:
            slots = self.query(f"#err-s-{p.field}")
            if slots:
                slots.first(Static).update(p.message)
                first = first or slots.first()
            else:
                elsewhere.append(p.message)
        if first is not None:
            self.query_one("#settings-body", VerticalScroll).scroll_to_widget(first, top=True)
        return elsewhere

    def _refused(self, exc: StationError) -> None:
        rest = self._field_errors(exc.problems)
        self.query_one(ProblemPanel).show(rest or ["请按各项下方的红字修改"], exc.message)

    def _saved(self, config: StationConfig) -> None:
        store = self.session.store
        if store is not None:
            store.config = config
        self._field_errors([])
        self.query_one(ProblemPanel).show(["设置已保存"])
        self.app.notify("设置已保存", title="设置")
        self.app.restart_autosync()  # a new address or interval takes effect now

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "s-platform_keys":
            event.stop()
            self.action_load_platform_keys()

    def action_load_platform_keys(self) -> None:
        source = self.query_one("#s-platform_keys", Input).value.strip()
        info = self.query_one("#platform-keys-info", Static)
        if not source:
            info.update("请先填写U盘上平台公钥文件（或其文件夹）的位置")
            return
        home = self.session.home

        def load() -> Any:
            from sync.keys import install_platform_keys

            return install_platform_keys(home, Path(source))

        def loaded(enrolment: Any) -> None:
            info.update(f"已载入平台公钥「{enrolment.name}」。核对码 {enrolment.keys.fingerprint()}，"
                        "请打电话与平台核对。只用U盘同步时，不需要填写平台同步地址。")
            self.app.notify("已载入平台公钥", title="设置")
            self.app.restart_autosync()

        self.call_domain(load, loaded, failed=lambda exc: info.update(exc.message))

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
