"""办件详情: everything about one case, its timeline, and the actions its state allows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Static

from forms.identity import mask_phone
from forms.problems import StationError
from station import lifecycle, sync_state
from station.cases import CaseReader, CaseRecord, deliver, hand_over, record_materials, withdraw
from station.decisions import decision_lines, superseded
from station.printing import (PrintResult, documents_for, paper_for, print_case_document, print_title,
                              station_names)
from station.ratings import Rating, get_rating, rate, revisit
from station.void_notices import VoidNotice, record_recall, void_notices
from station.store import Store
from station.tui.screens.base import StationScreen
from station.tui.screens.dialogs import (DeliverDialog, MaterialsDialog, PrintChoice, PrintDialog, RatingDialog, ReasonDialog,
                                         RevisitDialog)
from station.tui.widgets.legal import legal_rows
from station.tui.widgets.print_status import PRINT_FORMATS as PAPER_CHOICES, PrintStatus, print_toast
from station.tui.widgets.case_tables import compose_case_tables, fill_case_tables, setup_case_tables
from station.tui.widgets.caselist import due_text


@dataclass(frozen=True)
class CaseView:
    case: CaseRecord
    masked_id: str
    phone: str
    rating: Rating | None
    documents: list[str]  # the documents that apply to the case in its state, receipt first
    superseded: frozenset[tuple[str, str]] = frozenset()  # (station, hlc) of timeline entries that lost
    station_names: dict[str, str] | None = None
    void: tuple[VoidNotice, ...] = ()  # notices printed here for a superseded decision, not yet recalled


def load_case(store: Store, number: str, today: date) -> CaseView:
    case = CaseReader(store, today).get(number)
    phone = case.reveal_phone(store.codec)
    return CaseView(case, case.masked_id(store.codec), mask_phone(phone) if phone else "",
                    get_rating(store, case.number), documents_for(case), frozenset(superseded(store, case.number)),
                    station_names(store), tuple(void_notices(store, case.number)))


class CaseScreen(StationScreen):
    BINDINGS = [
        Binding("escape", "back", "返回"),
        Binding("m", "materials", "补交材料"),
        Binding("p", "print", "打印"),
        Binding("d", "deliver", "送达"),
        Binding("r", "rate", "评价"),
        Binding("k", "revisit", "回访"),
        Binding("h", "handover", "移交乡镇"),
        Binding("w", "withdraw", "撤回"),
        Binding("v", "reveal", "完整信息"),
        Binding("x", "recall", "收回作废文书"),
    ]

    def __init__(self, number: str):
        super().__init__()
        self.number = number
        self.view: CaseView | None = None
        self.revealed: dict[str, Any] | None = None  # the applicant in full, after an audited reveal
        self._revealing = False  # a reveal asked and not yet answered

    def compose(self) -> ComposeResult:
        yield Static(f"办件详情 · {self.number}", id="title", classes="screen-title")
        yield PrintStatus(id="print-status", classes="print-status")
        with VerticalScroll(id="case-body"):
            yield Static("", id="void-notices", classes="void-notices")
            yield Static("", id="decision", classes="decision")
            yield Static("正在读取……", id="info")
            yield from compose_case_tables()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        setup_case_tables(self.query_one("#materials", DataTable), self.query_one("#timeline", DataTable))
        self.query_one("#void-notices", Static).display = False  # shown only when the case has void paper
        self.query_one("#case-body").focus()
        self.reload()

    def reload(self) -> None:
        today = self.session.today()
        self.call_domain(lambda: load_case(self.session.require_store(), self.number, today), self._show,
                         group="case", exclusive=True)

    def _show(self, view: CaseView) -> None:
        self.view = view
        c = view.case
        self.number = c.number
        self.query_one("#title", Static).update(f"办件详情 · {c.number}")
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        if c.legal.renumbered_from:
            grid.add_row("原编号", Text(f"{c.legal.renumbered_from}（已改号，群众手中的旧回执仍可查到本件）", style="yellow"))
        grid.add_row("事项", f"{c.item_name}（{c.item_code} 第{c.item_version}版）")
        status = Text(c.status_label, style="bold")
        if c.decision and c.decision.get("reason"):
            status.append(f"  {c.decision['reason']}")
        grid.add_row("状态", status)
        person = " ".join(x for x in (c.applicant_name, c.sex or "", c.birth_date or "") if x)
        grid.add_row("申请人", person)
        if self.revealed is not None:
            a = self.revealed["applicant"]
            grid.add_row("身份证", Text(a["id_number"] + (f"  电话 {a['phone']}" if a["phone"] else ""), style="bold"))
            for key, value in self.revealed["fields"].items():
                if key in self.revealed["sealed_fields"]:
                    grid.add_row(key, Text(str(value), style="bold"))
        else:
            grid.add_row("身份证", view.masked_id + (f"  电话 {view.phone}" if view.phone else ""))
        if c.address:
            grid.add_row("住址", c.address)
        if c.relationship:
            grid.add_row("代办关系", c.relationship)
        grid.add_row("收件", f"{c.received_at[:16].replace('T', ' ')}  {c.operator}")
        due = due_text(c)
        if c.promised_due:
            due = Text(c.promised_due + ("（估算）" if c.promised_estimate else "") + "  ").append_text(
                Text("已超期", style="bold red") if c.overdue else Text("临近到期", style="yellow") if c.near_due
                else Text(""))
        grid.add_row("承诺办结", due)
        for label, value in legal_rows(c):
            grid.add_row(label, value)
        grid.add_row("同步", sync_state.LABELS.get(c.sync_state, c.sync_state))
        if view.rating:
            grid.add_row("评价", f"{view.rating.level} {view.rating.label}（{view.rating.channel}）"
                         + (f"：{view.rating.detail}" if view.rating.detail else ""))
        self.query_one("#info", Static).update(grid)
        self._show_void(view)
        self._show_decision(view)
        fill_case_tables(self.query_one("#materials", DataTable), self.query_one("#timeline", DataTable), c,
                         view.superseded)
        self.refresh_bindings()

    def action_reveal(self) -> None:
        """Show the applicant's ID, phone and account in full (recorded as pii.revealed); again to hide."""
        if self.revealed is not None:
            self.revealed = None
            if self.view is not None:
                self._show(self.view)
            return
        if self._revealing:  # v pressed again before the first answered: one look, one record
            return
        self._revealing = True
        store, operator, number = self.session.require_store(), self.session.operator, self.number

        def reveal() -> dict[str, Any]:
            from station.reveal import reveal_case

            shown = reveal_case(store, number, operator, face="tui")
            return {**shown.data, "sealed_fields": {f.removeprefix("fields.") for f in shown.fields}}

        def shown(data: dict[str, Any]) -> None:
            self._revealing = False
            self.revealed = data
            self.notify("已显示完整个人信息，此次查看已记入办理记录；再按 v 隐藏", timeout=6)
            self.reload()

        def failed(exc: StationError) -> None:
            self._revealing = False
            self.show_error(exc)

        def crashed() -> None:
            self._revealing = False

        self.call_domain(reveal, shown, failed=failed, crashed=crashed, group="reveal")

    def _show_void(self, view: CaseView) -> None:
        """Paper printed here for a decision that lost at the platform: void, to be recovered (x)."""
        box = self.query_one("#void-notices", Static)
        box.display = bool(view.void)
        if view.void:
            lines = [f"⚠ {v.warning(view.station_names)}" for v in view.void]
            lines.append("收回或告知申请人后按 x 登记")
            box.update(Text("\n".join(lines), style="bold red"))

    def _show_decision(self, view: CaseView) -> None:
        """The township's decision, where the agent sees it first: type, reason, certificate, who, when."""
        box = self.query_one("#decision", Static)
        rows = decision_lines(view.case, view.station_names)
        box.display = bool(rows)
        if not rows:
            return
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        for label, value in rows:
            grid.add_row(label, Text(value, style="bold") if label == "审核结果" else value)
        box.update(grid)

    # --- which actions apply ------------------------------------------------------------------

    def _waiting(self) -> list[tuple[str, str]]:
        if self.view is None or self.view.case.status in lifecycle.CLOSED:
            return []
        return [(m.key, m.name) for m in self.view.case.materials if m.status in ("waived", "missing", "requested")]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        c = self.view.case if self.view else None
        if action == "materials":
            return bool(self._waiting())
        if action == "deliver":
            return c is not None and c.status in lifecycle.DECIDED
        if action == "rate":
            return c is not None and c.status == lifecycle.DELIVERED and self.view is not None and self.view.rating is None
        if action == "revisit":
            return c is not None and c.status in lifecycle.DECIDED | {lifecycle.DELIVERED}
        if action == "handover":
            return c is not None and c.legal.handover_due is not None and not c.legal.handed_over_at \
                and c.status in lifecycle.OPEN and c.village_code == self.session.require_store().division_code
        if action == "withdraw":
            return c is not None and c.status in lifecycle.OPEN
        if action == "print":
            return c is not None
        if action == "recall":
            return self.view is not None and bool(self.view.void)
        return True

    # --- actions ------------------------------------------------------------------------------

    def _operator(self) -> Any:
        return self.session.operator

    def _after(self, result: Any, message: str) -> None:
        if result is None:
            return
        self.app.notify(message, title="已保存")
        self.reload()

    def action_materials(self) -> None:
        store, op, number = self.session.require_store(), self._operator(), self.number
        self.app.push_screen(MaterialsDialog(self._waiting(), lambda keys: record_materials(store, number, keys, op)),
                             lambda r: self._after(r, "补交材料已登记"))

    def action_deliver(self) -> None:
        if self.view is None:
            return
        store, op, number = self.session.require_store(), self._operator(), self.number
        self.app.push_screen(DeliverDialog(self.view.case.applicant_name,
                                           lambda who, checked, trips: deliver(store, number, who, checked, op,
                                                                               trips=trips)),
                             lambda r: self._after(r, "结果送达已登记"))

    def action_rate(self) -> None:
        if self.view is None:
            return
        store, op, number = self.session.require_store(), self._operator(), self.number
        self.app.push_screen(
            RatingDialog(self.view.case.applicant_name,
                         lambda level, detail, rater, channel: rate(store, number, level, op, detail,
                                                                    rater_name=rater, channel=channel)),
            lambda r: self._after(r, "评价已登记" + ("，差评已转入整改" if r is not None and r.is_bad else "")))

    def action_revisit(self) -> None:
        store, op, number = self.session.require_store(), self._operator(), self.number
        self.app.push_screen(RevisitDialog(lambda method, result, ok: revisit(store, number, method, result, op,
                                                                              satisfied=ok)),
                             lambda r: self._after(r, "回访已登记"))

    def action_handover(self) -> None:
        store, op, number = self.session.require_store(), self._operator(), self.number
        self.call_domain(lambda: hand_over(store, number, op), lambda r: self._after(r, "已登记移交乡镇"),
                         group="handover")

    def action_withdraw(self) -> None:
        store, op, number = self.session.require_store(), self._operator(), self.number
        self.app.push_screen(ReasonDialog("撤回办件", "撤回原因（如：申请人本人要求撤回）",
                                          lambda reason: withdraw(store, number, reason, op)),
                             lambda r: self._after(r, "办件已撤回"))

    def action_recall(self) -> None:
        """Record that the void notices were recovered or the applicant told (case.notice_recalled)."""
        if self.view is None or not self.view.void:
            return
        store, op, number = self.session.require_store(), self._operator(), self.number
        titles = "、".join(f"《{v.title}》" for v in self.view.void)
        self.app.push_screen(ReasonDialog(f"登记作废文书已收回：{titles}",
                                          "收回情况（如：已收回原件；已电话告知申请人原文书作废）",
                                          lambda note: record_recall(store, number, op, note)),
                             lambda r: self._after(r, "作废文书收回已登记"))

    def action_print(self) -> None:
        if self.view is None:
            return
        kinds = [(k, print_title(k)) for k in self.view.documents]
        config = self.session.require_store().config
        self.app.push_screen(PrintDialog(kinds, config.paper_format or "a4", config.large_print, PAPER_CHOICES),
                             self.print_kind)

    def print_kind(self, choice: PrintChoice | None) -> None:
        if not choice:
            return
        store, op, number = self.session.require_store(), self._operator(), self.number
        self.app.notify("正在生成文书……", timeout=2)
        fmt = paper_for(choice.kind, choice.fmt)   # the 申请表 is A4 whatever the paper chosen
        self.call_domain(lambda: print_case_document(store, number, choice.kind, op, fmt=fmt,
                                                     large=choice.large), self._printed, group="print")

    def _printed(self, result: PrintResult) -> None:
        self.last_print = result
        title, line = print_toast(result)
        self.app.notify(line, title=title, timeout=4)
        self.query_one(PrintStatus).show(result)
        self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()
