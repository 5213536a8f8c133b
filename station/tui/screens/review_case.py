"""审核详情: one case as the reviewer needs it, the decisions its state allows, duplicates side by side.

The screen shows the form data (personal data masked), the materials (received / 容缺 with the date
they are due), the timeline and the village agent who filed it. Each decision is a small form;
the domain (``station.review.decide``) checks it and its refusals are shown in Chinese in the form,
so nothing typed is lost. Writes run in thread workers under the session lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Input, Label, SelectionList, Static

from station import lifecycle
from station.cases import CaseReader, CaseRecord
from forms.identity import mask_phone
from station.operators import PERMISSIONS
from forms.problems import StationError
from station.ratings import Rating, close_followup, get_rating
from station.review import (ACTION_LABELS, ACTIONS, CORRECTION_WORKING_DAYS, MAX_CORRECTION_WORKING_DAYS, Decision,
                            decide, find_duplicates, mark_duplicate, may_decide)
from station.decisions import decision_lines, superseded
from station.printing import station_names
from station.tui.names import village_label
from station.tui.widgets.legal import legal_rows
from station.tui.screens.base import StationScreen
from station.tui.widgets.case_tables import compose_case_tables, fill_case_tables, setup_case_tables
from station.tui.screens.dialogs import FormDialog, ReasonDialog

#: Decision keys, in the order they are offered.
DECISION_KEYS: list[tuple[str, str, str]] = [("a", "accept", "受理"), ("n", "refuse", "不予受理"),
                                             ("b", "correct", "补正"), ("y", "approve", "办结"),
                                             ("j", "reject", "不予批准"), ("t", "forward", "转报"),
                                             ("p", "post", "公示")]
DONE_MESSAGES = {"accept": "已受理", "refuse": "已作出不予受理决定", "correct": "已要求补正",
                 "approve": "已办结（准予）", "reject": "已作出不予批准决定", "forward": "已转报",
                 "post": "已开始公示"}


@dataclass(frozen=True)
class ReviewView:
    case: CaseRecord
    masked_id: str
    phone: str
    fields: list[tuple[str, str]]  # (label, value), personal data masked
    why_not: str | None            # why this station may not decide (None: it may)
    rating: Rating | None
    duplicate_of: str | None       # the other case of an unmarked duplicate pair
    superseded: frozenset[tuple[str, str]]
    names: dict[str, str]


def _field_rows(catalog: Any, case: CaseRecord, values: dict[str, Any]) -> list[tuple[str, str]]:
    item = None
    if catalog is not None:
        try:
            item = catalog.get(case.item_code)
        except StationError:
            item = None
    rows = []
    for key, value in values.items():
        fd = item.field(key) if item is not None else None
        if value in (None, ""):
            continue
        text = "是" if value is True else "否" if value is False else str(value)
        rows.append((fd.label if fd is not None else key, text))
    return rows


def load_review(store: Any, number: str, today: date, catalog: Any) -> ReviewView:
    case = CaseReader(store, today).get(number)
    phone = case.reveal_phone(store.codec)
    other = next((b if a == case.number else a for a, b in find_duplicates(store) if case.number in (a, b)), None)
    return ReviewView(case, case.masked_id(store.codec), mask_phone(phone) if phone else "",
                      _field_rows(catalog, case, case.fields(store.codec, reveal=False)),
                      may_decide(store, case), get_rating(store, case.number), other,
                      frozenset(superseded(store, case.number)), station_names(store))


def allowed_actions(status: str) -> list[str]:
    """The decisions the case's state allows (the state machine decides, not the screen)."""
    return [action for action, event_type in ACTIONS.items() if status in lifecycle.TRANSITIONS[event_type][0]]


class ReviewCaseScreen(StationScreen):
    BINDINGS = [Binding("escape", "back", "返回")] + [
        Binding(key, f"decide('{action}')", label) for key, action, label in DECISION_KEYS] + [
        Binding("g", "followup", "整改办结"),
        Binding("u", "duplicate", "比对重复件"),
    ]

    def __init__(self, number: str):
        super().__init__()
        self.number = number
        self.view: ReviewView | None = None

    def compose(self) -> ComposeResult:
        yield Static(f"审核 · {self.number}", id="title", classes="screen-title")
        with VerticalScroll(id="case-body"):
            yield Static("", id="review-note", classes="hint")
            yield Static("", id="decision", classes="decision")
            yield Static("正在读取……", id="info")
            yield Static("表单内容", classes="section-title")
            yield Static("", id="form-data")
            yield from compose_case_tables()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        setup_case_tables(self.query_one("#materials", DataTable), self.query_one("#timeline", DataTable))
        self.query_one("#case-body").focus()
        self.reload()

    def reload(self) -> None:
        today = self.session.today()
        session = self.session
        self.call_domain(lambda: load_review(session.require_store(), self.number, today, session.load_catalog()),
                         self._show, group="review-case", exclusive=True)

    def _show(self, view: ReviewView) -> None:
        self.view = view
        c = view.case
        self.query_one("#title", Static).update(f"审核 · {c.number}")
        note = self.query_one("#review-note", Static)
        note.update(f"本站不能作出审核决定：{view.why_not}" if view.why_not else "")
        note.display = bool(view.why_not)
        box = self.query_one("#decision", Static)
        rows = decision_lines(c, view.names)
        box.display = bool(rows)
        if rows:
            box.update(_grid(rows))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        grid.add_row("事项", f"{c.item_name}（{c.item_code} 第{c.item_version}版）")
        grid.add_row("状态", Text(c.status_label, style="bold"))
        grid.add_row("申请人", " ".join(x for x in (c.applicant_name, c.sex or "", c.birth_date or "") if x))
        grid.add_row("身份证", view.masked_id + (f"  电话 {view.phone}" if view.phone else ""))
        if c.relationship:
            grid.add_row("代办关系", c.relationship)
        village = village_label(c.village_code, view.names)
        grid.add_row("村", f"{village}（{c.village_code}）" if village != c.village_code else c.village_code)
        grid.add_row("代办员", f"{c.operator}（{c.filed_by_station}）")
        grid.add_row("收件", c.received_at[:16].replace("T", " "))
        due = Text(c.promised_due or "—")
        if c.promised_due and c.promised_estimate:
            due.append("（估算）")
        if c.overdue:
            due.append("  已超期", style="bold red")
        elif c.near_due:
            due.append("  临近到期", style="yellow")
        grid.add_row("承诺办结", due)
        for label, value in legal_rows(c):
            grid.add_row(label, value)
        if c.corrections:
            grid.add_row("补正次数", str(c.corrections) + (f"（其中例外补正{c.legal.second_corrections}次）"
                                                       if c.legal.second_corrections else ""))
        if view.duplicate_of:
            grid.add_row("疑似重复", Text(f"与 {view.duplicate_of} 同一申请人、同一事项（按 u 比对）", style="yellow"))
        if view.rating:
            r = view.rating
            text = f"{r.level} {r.label}" + (f"：{r.detail}" if r.detail else "")
            if r.is_bad:
                text += f"（整改{'已办结 ' + r.followup_closed_at if r.followup_closed_at else '期限 ' + str(r.followup_due)}）"
            grid.add_row("评价", text)
        self.query_one("#info", Static).update(grid)
        self.query_one("#form-data", Static).update(_grid(view.fields) if view.fields else "（无）")
        fill_case_tables(self.query_one("#materials", DataTable), self.query_one("#timeline", DataTable), c,
                         view.superseded)
        self.refresh_bindings()

    # --- which actions apply ------------------------------------------------------------------

    def _may_decide(self) -> bool:
        op = self.session.operator
        return self.view is not None and self.view.why_not is None and op is not None \
            and op.role in PERMISSIONS["decide"]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "decide":
            if str(parameters[0]) == "post" and self.view is not None and not self.view.case.legal.posting_days:
                return False  # the item has no 公示
            return self._may_decide() and self.view is not None and \
                str(parameters[0]) in allowed_actions(self.view.case.status)
        if action == "followup":
            r = self.view.rating if self.view else None
            op = self.session.operator
            return r is not None and r.is_bad and not r.followup_closed_at and op is not None \
                and op.role in PERMISSIONS["decide"]
        if action == "duplicate":
            return self.view is not None and self.view.duplicate_of is not None
        return True

    # --- actions ------------------------------------------------------------------------------

    def action_decide(self, action: str) -> None:
        if self.view is None:
            return
        store, op, number = self.session.require_store(), self.session.operator, self.number
        assert op is not None
        materials = [(m.key, m.name) for m in self.view.case.materials]
        self.app.push_screen(DecisionDialog(action, materials, lambda d: decide(store, number, d, op),
                                            self.view.case, self.session.today()),
                             lambda r: self._after(r, DONE_MESSAGES[action]))

    def action_followup(self) -> None:
        if self.view is None or self.view.rating is None:
            return
        r = self.view.rating
        store, op, number = self.session.require_store(), self.session.operator, self.number
        self.app.push_screen(
            ReasonDialog(f"差评整改：{r.label}「{r.detail or ''}」", "整改情况（做了什么，如：已电话回访并说明原因）",
                         lambda note: close_followup(store, number, note, op)),
            lambda result: self._after(result, "差评整改已办结"))

    def action_duplicate(self) -> None:
        if self.view is not None and self.view.duplicate_of:
            self.app.open("duplicates", number=self.number, other=self.view.duplicate_of)

    def _after(self, result: Any, message: str) -> None:
        if result is None:
            return
        self.last_result = result
        self.app.notify(message, title="已保存")
        self.reload()

    def on_screen_resume(self) -> None:
        if self.view is not None:
            self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()


def _grid(rows: list[tuple[str, str]]) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for label, value in rows:
        grid.add_row(label, value)
    return grid


# --- the decision forms ------------------------------------------------------------------------

class DecisionDialog(FormDialog):
    """One decision as a small form: only the inputs the action needs. Ctrl+S records it."""

    OK_LABEL = "确定"
    SCROLLS = True
    EXTRA_CLASSES = "decision-form"

    def __init__(self, action: str, materials: list[tuple[str, str]], act: Callable[[Decision], Any],
                 case: CaseRecord | None = None, today: date | None = None):
        super().__init__()
        self.action = action
        self.materials = materials
        self.act = act
        self.case = case
        self.today = today
        self.TITLE_TEXT = f"{ACTION_LABELS[action]}（Ctrl+S 确定，Esc 取消）"

    def fields(self) -> ComposeResult:
        a = self.action
        if a == "correct":
            yield Label("需要补正的材料（空格勾选）", classes="field-label")
            yield SelectionList[str](*[(name, key) for key, name in self.materials], id="materials")
        if a == "approve":
            yield Label("证书/批准文书编号（没有可不填）", classes="field-label")
            yield Input(id="certificate", max_length=100)
        legal = self.case.legal if self.case is not None else None
        if a == "forward":
            bodies = "、".join(b for b, _ in legal.forward_bodies) if legal and legal.forward_bodies else "（目录中没有）"
            yield Label(f"转报机关（必填，从目录所列中选：{bodies}；可只写一部分）", classes="field-label")
            yield Input(id="to", max_length=100)
        reason = {"accept": "说明（选填）", "refuse": "不予受理的理由（必填，写入告知书）",
                  "correct": "补正理由（必填，写入补正通知书；一次列全，不能再补第二次）",
                  "reject": "不予批准的理由（必填，写入告知书）", "forward": "说明（选填）",
                  "post": "公示说明（选填）"}.get(a)
        if a == "post" and legal is not None:
            yield Label(f"公示{legal.posting_days}天，期满后才能办结", classes="hint")
        if reason:
            yield Label(reason, classes="field-label")
            yield Input(id="reason", max_length=500)
        if a == "refuse":
            yield Label("不属本机关职权范围的，写明应向哪个机关申请（选填，印在告知书上）", classes="field-label")
            yield Input(id="apply_to", max_length=100)
        if a == "correct":
            yield Label(f"补正期限（选填，默认{CORRECTION_WORKING_DAYS}个工作日，最长{MAX_CORRECTION_WORKING_DAYS}个工作日，"
                        "如 2026-10-20）", classes="field-label")
            yield Input(id="due", placeholder="YYYY-MM-DD")
            late = bool(legal and self.today and legal.correction_deadline
                        and self.today.isoformat() > legal.correction_deadline)
            if self.case is not None and (self.case.corrections or late):
                yield Label("已补正过一次或收件已超过5个工作日：只有管理员可以再要求补正，须写明例外理由",
                            classes="field-label")
                yield Input(id="exception_reason", max_length=500)

    def _value(self, selector: str) -> str:
        for widget in self.query(selector).results(Input):
            return widget.value
        return ""

    def work(self) -> Callable[[], Any]:
        due_text = self._value("#due").strip()
        due = None
        if due_text:
            try:
                due = date.fromisoformat(due_text)
            except ValueError:
                raise StationError("bad_date", "补正期限的格式应为 2026-10-20，请改正后再确定") from None
        materials: tuple[str, ...] = ()
        if self.action == "correct":
            materials = tuple(self.query_one("#materials", SelectionList).selected)
        decision = Decision(self.action, reason=self._value("#reason"), materials=materials,
                            certificate=self._value("#certificate"), to=self._value("#to"), due_date=due,
                            exception_reason=self._value("#exception_reason"), apply_to=self._value("#apply_to"))
        return lambda: self.act(decision)


# --- duplicates side by side -------------------------------------------------------------------

@dataclass(frozen=True)
class PairView:
    left: CaseRecord
    right: CaseRecord
    left_id: str
    right_id: str
    names: dict[str, str]


def load_pair(store: Any, a: str, b: str, today: date) -> PairView:
    reader = CaseReader(store, today)
    left, right = reader.get(a), reader.get(b)
    return PairView(left, right, left.masked_id(store.codec), right.masked_id(store.codec), station_names(store))


def _side(case: CaseRecord, masked_id: str, names: dict[str, str]) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_row("编号", case.number)
    grid.add_row("申请人", case.applicant_name)
    grid.add_row("身份证", masked_id)
    grid.add_row("事项", case.item_name)
    grid.add_row("村", f"{village_label(case.village_code, names)}")
    grid.add_row("代办员", case.operator)
    grid.add_row("收件", case.received_at[:16].replace("T", " "))
    grid.add_row("状态", case.status_label)
    lines = Text()
    for i, m in enumerate(case.materials):
        mark = {"received": "✓", "waived": "容缺", "missing": "缺", "requested": "待补正"}.get(m.status, m.status)
        lines.append(("\n" if i else "") + f"{mark} {m.name}" + (f"（{m.due_date}前）" if m.due_date else ""),
                     style="" if m.status == "received" else "yellow")
    grid.add_row("材料", lines)
    return grid


class DuplicateScreen(StationScreen):
    """Two cases of the same applicant and item, side by side; the reviewer says whether they are one."""

    BINDINGS = [Binding("escape", "back", "返回"), Binding("y", "mark(True)", "是重复"),
                Binding("n", "mark(False)", "不是重复")]

    def __init__(self, number: str, other: str):
        super().__init__()
        self.number = number
        self.other = other
        self.view: PairView | None = None
        self.marked: CaseRecord | None = None

    def compose(self) -> ComposeResult:
        yield Static("疑似重复件比对 · 同一申请人、同一事项", classes="screen-title")
        yield Static("两件都未办结。是同一申请重复提交的，按 y；确实是两次申请，按 n。", classes="hint")
        with Horizontal(id="pair"):
            with VerticalScroll(classes="pair-side"):
                yield Static("正在读取……", id="left")
            with VerticalScroll(classes="pair-side"):
                yield Static("", id="right")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        today = self.session.today()
        self.call_domain(lambda: load_pair(self.session.require_store(), self.number, self.other, today),
                         self._show, group="pair", exclusive=True)

    def _show(self, view: PairView) -> None:
        self.view = view
        self.query_one("#left", Static).update(_side(view.left, view.left_id, view.names))
        self.query_one("#right", Static).update(_side(view.right, view.right_id, view.names))

    def action_mark(self, duplicate: bool) -> None:
        store, op, a, b = self.session.require_store(), self.session.operator, self.number, self.other
        assert op is not None
        self.call_domain(lambda: mark_duplicate(store, a, b, duplicate, op),
                         lambda case: self._marked(case, duplicate))

    def _marked(self, case: CaseRecord, duplicate: bool) -> None:
        self.marked = case
        self.app.notify("已标记为重复件" if duplicate else "已标记为不是重复件", title="已保存")
        self.app.pop_screen()

    def action_back(self) -> None:
        self.app.pop_screen()
