"""The case is saved: its number and query password in large type, and the papers to print."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from station.cases import FiledCase
from station.printing import PrintResult, print_case_document
from station.tui.screens.base import StationScreen
from station.tui.widgets.bigtext import BigText
from station.tui.widgets.print_status import PrintStatus, print_toast


class ResultScreen(StationScreen):
    BINDINGS = [
        Binding("p", "print('receipt')", "打印回执"),
        Binding("n", "print('notice')", "打印告知书"),
        Binding("a", "print('application')", "申请表"),
        Binding("c", "print('commitment')", "承诺书"),
        Binding("o", "open", "办件详情"),
        Binding("enter,escape", "done", "完成"),
    ]

    def __init__(self, filed: FiledCase, item_name: str):
        super().__init__()
        self.filed = filed
        self.item_name = item_name
        self.printed: list[Any] = []

    def compose(self) -> ComposeResult:
        f = self.filed
        village, rest = f.number.split("-", 1)
        yield Static(f"已保存 · {self.item_name}", classes="screen-title")
        yield PrintStatus(id="print-status", classes="print-status")
        with VerticalScroll(id="result-body"):
            yield Static("办件编号（请申请人记下或保留回执）", classes="section-title")
            yield BigText(village, id="number-1", classes="big")
            yield BigText(rest, id="number-2", classes="big")
            yield Static("查询密码", classes="section-title")
            yield BigText(f.query_password, id="password", classes="big")
            info = Text(f"办件编号 {f.number}  查询密码 {f.query_password}\n")
            if f.promised_due:
                info.append(f"承诺办结日期 {f.promised_due}{'（估算）' if f.promised_estimate else ''}\n")
            if f.waived or f.missing:
                info.append(f"容缺/缺少材料 {len(f.waived) + len(f.missing)} 项：请按 n 打印一次性告知书交给申请人\n",
                            style="yellow")
            if f.waived:
                info.append("有容缺材料：请按 c 打印容缺受理承诺书，由申请人签名\n", style="yellow")
            info.append("按 p 打印收件回执，按 a 打印申请表（申请人签名或按手印）；按 Enter 回到首页。")
            yield Static(info, id="result-info")
        yield Footer(compact=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "print" and parameters and parameters[0] == "notice":
            return bool(self.filed.waived or self.filed.missing)
        if action == "print" and parameters and parameters[0] == "commitment":
            return bool(self.filed.waived)
        return True

    def action_print(self, kind: str) -> None:
        store, op, number = self.session.require_store(), self.session.operator, self.filed.number
        self.app.notify("正在生成文书……", timeout=2)
        self.call_domain(lambda: print_case_document(store, number, kind, op), self._printed, group="print")

    def _printed(self, result: PrintResult) -> None:
        self.printed.append(result)
        title, line = print_toast(result)
        self.app.notify(line, title=title, timeout=4)
        self.query_one(PrintStatus).show(result)

    def action_open(self) -> None:
        self.app.go("case", number=self.filed.number)

    def action_done(self) -> None:
        self.app.pop_screen()
