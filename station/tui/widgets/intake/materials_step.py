"""Step 4 of 新建办件: tick each material received, missing or taken under 容缺 (with the 承诺书)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, DataTable, Input

from forms.schema import ServiceItem
from station.tui.widgets.intake.messages import Edited, Left, MaterialMarked
from station.tui.widgets.problems import ProblemPanel

STATUS_ZH = {"received": "已收", "missing": "缺", "waived": "容缺"}
STATUS_STYLE = {"received": "green", "missing": "red", "waived": "yellow"}


def status_text(status: str) -> Text:
    return Text(STATUS_ZH[status], style=STATUS_STYLE[status])


class MaterialsStep(Vertical):
    BINDINGS = [
        Binding("1", "mark('received')", "已收"),
        Binding("2", "mark('missing')", "缺"),
        Binding("3", "mark('waived')", "容缺"),
        Binding("a", "all_received", "全收"),
    ]

    def __init__(self) -> None:
        super().__init__(id="step-materials")
        self.item: ServiceItem | None = None

    def compose(self) -> ComposeResult:
        yield DataTable(id="materials", cursor_type="row")
        with Vertical(id="commitment"):
            yield Checkbox("申请人已签署容缺受理承诺书", id="c-signed")
            with Horizontal(classes="row"):
                yield Input(placeholder="承诺书签署人", id="c-signer")
                yield Input(placeholder="补交日期 YYYY-MM-DD", id="c-due_date")
        yield ProblemPanel(id="materials-problems", classes="problems")

    def on_mount(self) -> None:
        self.query_one("#commitment").display = False
        self.query_one(ProblemPanel).clear()
        table = self.query_one("#materials", DataTable)
        table.add_column("材料", width=30)
        table.add_column("份数/形式", width=14)
        table.add_column("可容缺", width=6)
        table.add_column("状态", width=6)

    # --- down ------------------------------------------------------------------------------

    def load(self, item: ServiceItem, statuses: dict[str, str]) -> None:
        self.item = item
        table = self.query_one("#materials", DataTable)
        table.clear()
        for m in item.materials:
            table.add_row(m.name + ("" if m.required else "（非必需）"), f"{m.copies}份 {m.form}",
                          "可" if m.waivable else "否", status_text(statuses.get(m.key, "missing")), key=m.key)

    def set_commitment(self, commitment: dict[str, Any]) -> None:
        for key in ("signer", "due_date"):
            self.query_one(f"#c-{key}", Input).value = str(commitment.get(key, ""))
        self.query_one("#c-signed", Checkbox).value = bool(commitment.get("signed"))

    def show_commitment(self, any_waived: bool, applicant_name: str) -> None:
        """The 承诺书 inputs only while a material is taken under 容缺; the signer defaults to the applicant."""
        self.query_one("#commitment").display = any_waived
        signer = self.query_one("#c-signer", Input)
        if any_waived and not signer.value and applicant_name:
            signer.value = applicant_name

    def show_problems(self, messages: list[str]) -> None:
        self.query_one(ProblemPanel).show(messages)

    def focus_table(self) -> None:
        self.query_one("#materials", DataTable).focus()

    # --- up --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("mark", "all_received"):
            return isinstance(self.screen.focused, DataTable)
        return True

    def action_mark(self, status: str) -> None:
        table = self.query_one("#materials", DataTable)
        if self.item is None or table.row_count == 0:
            return
        key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        m = self.item.material(key)
        if m is None:
            return
        if status == "waived" and not m.waivable:
            self.show_problems([f"「{m.name}」不允许容缺受理，须收取后才能受理"])
            return
        self.show_problems([])
        table.update_cell(key, table.ordered_columns[3].key, status_text(status))
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)
        self.post_message(MaterialMarked(key, status))

    def action_all_received(self) -> None:
        if self.item is None:
            return
        self.load(self.item, {m.key: "received" for m in self.item.materials})
        self.post_message(MaterialMarked(None, "received"))

    @on(Input.Changed, "#commitment Input")
    def _commitment_typed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(Edited("commitment", (event.input.id or "")[2:], event.value))

    @on(Checkbox.Changed, "#c-signed")
    def _signed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self.post_message(Edited("commitment", "signed", event.value))

    @on(Input.Blurred, "#commitment Input")
    def _commitment_left(self, event: Input.Blurred) -> None:
        self.post_message(Left("commitment"))
