"""Step 5 of 新建办件: everything at a glance, what still stops the save, and an open case of the same
person for the same item (filing again needs a reason)."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Input, Label, Static

from forms.problems import Problem
from forms.schema import ServiceItem
from station.cases import CaseRecord
from station.tui.widgets.intake.materials_step import status_text
from station.tui.widgets.intake.messages import Edited
from station.tui.widgets.problems import ProblemPanel

SAVE_HINT = "核对无误后按 Ctrl+S 保存，保存后立即生成办件编号"
CANNOT_SAVE = ("还不能保存，请按 Ctrl+B 回到相应步骤改正；今天带不齐材料或不符合条件的，"
               "按 Ctrl+G 出具一次性告知书（告知件）：")


class ReviewStep(VerticalScroll):
    def __init__(self) -> None:
        super().__init__(id="step-review")

    def compose(self) -> ComposeResult:
        yield Static("", id="review")
        with Vertical(id="duplicate"):
            yield Static("", id="duplicate-warning", classes="warning")
            yield Label("确需再次申请的理由（保存时记入办件）", classes="field-label")
            yield Input(placeholder="如：上次申请材料遗失，重新申请", id="dup-reason", max_length=200)
        yield ProblemPanel(id="review-problems", classes="problems")

    def on_mount(self) -> None:
        self.query_one("#duplicate").display = False

    def show(self, item: ServiceItem, state: dict[str, Any], problems: list[Problem],
             duplicates: list[CaseRecord]) -> None:
        a = state["applicant"]
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        grid.add_row("事项", f"{item.name}（{item.code}）")
        grid.add_row("申请人", f"{a.get('name', '')}  {a.get('id_number', '')}  {a.get('phone', '')}")
        grid.add_row("住址", a.get("address", ""))
        if a.get("relationship"):
            grid.add_row("代办关系", a["relationship"])
        for fd in item.fields:
            grid.add_row(fd.label, str(state["fields"].get(fd.key, "")))
        mats = Text()
        for i, m in enumerate(item.materials):
            mats.append(("\n" if i else "") + f"{m.name}：")
            mats.append_text(status_text(state["materials"].get(m.key, "missing")))
        grid.add_row("材料", mats)
        if any(v == "waived" for v in state["materials"].values()):
            c = state["commitment"]
            grid.add_row("承诺书", f"{'已签署' if c.get('signed') else '未签署'} {c.get('signer', '')}"
                                 f" 补交日期 {c.get('due_date', '')}")
        self.query_one("#review", Static).update(grid)
        self.show_duplicates(duplicates)
        self.show_problems(problems)

    def show_duplicates(self, duplicates: list[CaseRecord]) -> None:
        box = self.query_one("#duplicate")
        box.display = bool(duplicates)
        if duplicates:
            listed = "；".join(f"{c.number}（{c.status_label}，{c.received_date}收件）" for c in duplicates)
            self.query_one("#duplicate-warning", Static).update(Text(
                f"注意：此人同一事项已有在办件：{listed}。请先核实是否重复申请；确需再次申请的，填写理由后再保存。",
                style="bold yellow"))

    def show_problems(self, problems: list[Problem] | list[str], title: str | None = None) -> None:
        panel = self.query_one("#review-problems", ProblemPanel)
        if title is not None:
            panel.show(problems, title)
        elif problems:
            panel.show(problems, CANNOT_SAVE)
        else:
            panel.show([SAVE_HINT], "")

    @property
    def duplicate_reason(self) -> str:
        return self.query_one("#dup-reason", Input).value.strip()

    @on(Input.Changed, "#dup-reason")
    def _reason(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(Edited("duplicate", "reason", event.value))
