"""新建办件: a five-step wizard (item, applicant, form fields, materials, review) that never loses work.

Everything typed is kept in ``self.state`` and written to the operator's draft file (sealed,
atomic) shortly after each change, in a worker; Esc leaves and the next 新建 resumes. Fields are
checked with the form engine as the operator leaves them: the engine checks the whole application
and the screen shows the problems of the field just left.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.css.query import NoMatches, WrongType
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Checkbox, ContentSwitcher, DataTable, Footer, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from forms.catalog import Catalog
from forms.engine import validate_submission
from forms.schema import FieldDef, ServiceItem
from station.applicants import KnownApplicant, RevealedApplicant, find_by_id, find_by_name, item_usage, reveal_known
from station.cases import FiledCase, file_case
from forms.identity import parse_resident_id
from forms.problems import Problem, StationError
from station.tui import drafts
from station.tui.screens.base import StationScreen
from station.tui.widgets.problems import ProblemPanel

STEPS = ["选择事项", "申请人", "表单内容", "材料清单", "核对保存"]
STEP_IDS = ["step-item", "step-applicant", "step-fields", "step-materials", "step-review"]
DRAFT_DELAY = 0.4
SAVED = 1 << 62  # draft sequence meaning "the case was saved: write no more drafts"
STATUS_ZH = {"received": "已收", "missing": "缺", "waived": "容缺"}
APPLICANT_FIELDS = [("name", "申请人姓名", ""), ("id_number", "身份证号（18位）", ""), ("phone", "联系电话", ""),
                    ("address", "住址", "如：示范村三组12号")]


def empty_state() -> dict[str, Any]:
    return {"step": 0, "item_code": None, "applicant": {}, "fields": {}, "materials": {},
            "commitment": {"signed": False, "signer": "", "due_date": ""}}


def submission_data(state: dict[str, Any]) -> dict[str, Any]:
    """The wizard's state in the form engine's input shape."""
    applicant = {k: v for k, v in state["applicant"].items() if v not in (None, "")}
    fields = {k: v for k, v in state["fields"].items() if v not in (None, "")}
    data: dict[str, Any] = {"applicant": applicant, "fields": fields, "materials": dict(state["materials"])}
    if any(v == "waived" for v in state["materials"].values()):
        c = state["commitment"]
        data["commitment"] = {"signed": bool(c.get("signed")), "signer": c.get("signer", ""),
                              "due_date": c.get("due_date", "")}
    return data


def check(item: ServiceItem, state: dict[str, Any], today: date) -> list[Problem]:
    try:
        validate_submission(item, submission_data(state), today)
    except StationError as exc:
        return list(exc.problems)
    return []


def _safe_id(path: str) -> str:
    return "err-" + path.replace(".", "-")


class IntakeScreen(StationScreen):
    BINDINGS = [
        Binding("escape", "leave", "返回(草稿保留)"),
        Binding("ctrl+b", "prev", "上一步"),
        Binding("ctrl+n", "next", "下一步"),
        Binding("ctrl+s", "save", "保存"),
        Binding("ctrl+g", "inform", "出具告知书"),
        Binding("f4", "use_known", "填入旧申请人"),
        Binding("1", "mark('received')", "已收", show=True),
        Binding("2", "mark('missing')", "缺", show=True),
        Binding("3", "mark('waived')", "容缺", show=True),
        Binding("a", "all_received", "全收"),
        Binding("f8", "discard", "丢弃草稿"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.state = empty_state()
        self.item: ServiceItem | None = None
        self.catalog: Catalog | None = None
        self.usage: dict[str, int] = {}
        self.known: list[KnownApplicant] = []
        self._restoring = False
        self._draft_timer: Timer | None = None
        self._saving = False
        self.draft_writes = 0
        self._draft_seq = 0
        self._draft_done = 0

    # --- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("新建办件", id="title", classes="screen-title")
        with ContentSwitcher(initial="step-item", id="steps"):
            with Horizontal(id="step-item"):
                with Vertical(id="item-pick"):
                    yield Input(placeholder="事项名称、编码或拼音首字母（如 gljt）", id="item-q")
                    yield OptionList(id="items")
                yield Static("正在载入事项目录……", id="item-summary")
            with VerticalScroll(id="step-applicant", classes="form"):
                for key, label, placeholder in APPLICANT_FIELDS:
                    yield Label(label, classes="field-label")
                    yield Input(placeholder=placeholder, id=f"a-{key}",
                                max_length=18 if key == "id_number" else 0)
                    if key == "id_number":
                        yield Static("", id="id-info", classes="hint")
                    yield Static("", id=_safe_id(f"applicant.{key}"), classes="field-error")
                yield Label("代办人与申请人的关系（本人办理可不填）", id="rel-label", classes="field-label")
                yield Input(placeholder="如：儿子、女儿、村干部", id="a-relationship")
                yield Static("", id=_safe_id("applicant.relationship"), classes="field-error")
                yield Static("", id="known", classes="hint")
            yield VerticalScroll(id="step-fields", classes="form")
            with Vertical(id="step-materials"):
                yield DataTable(id="materials", cursor_type="row")
                with Vertical(id="commitment"):
                    yield Checkbox("申请人已签署容缺受理承诺书", id="c-signed")
                    with Horizontal(classes="row"):
                        yield Input(placeholder="承诺书签署人", id="c-signer")
                        yield Input(placeholder="补交日期 YYYY-MM-DD", id="c-due_date")
                yield ProblemPanel(id="materials-problems", classes="problems")
            with VerticalScroll(id="step-review"):
                yield Static("", id="review")
                yield ProblemPanel(id="review-problems", classes="problems")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        for panel in self.query(ProblemPanel):
            panel.clear()
        self.query_one("#commitment").display = False
        table = self.query_one("#materials", DataTable)
        table.add_column("材料", width=30)
        table.add_column("份数/形式", width=14)
        table.add_column("可容缺", width=6)
        table.add_column("状态", width=6)
        self._set_step(0)
        session = self.session
        operator = session.operator.name if session.operator else ""

        def prepare() -> tuple[Catalog, dict[str, int], dict[str, Any] | None, str]:
            catalog = session.load_catalog()
            store = session.require_store()
            usage = item_usage(store)
            note = ""
            try:
                draft = drafts.load_draft(session.home, store.codec, operator)
            except drafts.DraftUnreadable as exc:
                draft, note = None, f"上次的草稿无法读取，已另存为 {exc.args[0]}"
            return catalog, usage, draft, note

        self.call_domain(prepare, self._prepared)

    def _prepared(self, result: tuple[Catalog, dict[str, int], dict[str, Any] | None, str]) -> None:
        self.catalog, self.usage, draft, note = result
        if note:
            self.app.notify(note, severity="warning")
        self._fill_items("")
        if draft and draft.get("item_code"):
            self._restore(draft)
            self.app.notify("已恢复上次未保存的办件草稿；按 F8 可丢弃", title="草稿")
        else:
            self.query_one("#item-q", Input).focus()

    # --- steps --------------------------------------------------------------------------------

    def _set_step(self, step: int) -> None:
        self.state["step"] = step
        self.query_one(ContentSwitcher).current = STEP_IDS[step]
        name = f" · {self.item.name}" if self.item and step else ""
        self.query_one("#title", Static).update(f"新建办件 · 第{step + 1}/5步 {STEPS[step]}{name}")
        if step == 1:
            self.query_one("#a-name", Input).focus()
        elif step == 2:
            first = self.query_one("#step-fields").query("Input, Select").first() \
                if self.query_one("#step-fields").query("Input, Select") else None
            if first is not None:
                first.focus()
        elif step == 3:
            self.query_one("#materials", DataTable).focus()
            self._show_commitment()
        elif step == 4:
            self._review()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        step = self.state["step"]
        if action in ("mark", "all_received"):
            return step == 3 and isinstance(self.focused, DataTable)
        if action == "use_known":
            return step == 1 and bool(self.known)
        if action == "save":
            return step == 4
        if action == "inform":  # the application cannot be taken: tell everything at once, in writing
            return step == 4 and self.item is not None and bool(self._problems()) \
                and bool(self.state["applicant"].get("name"))
        if action == "prev":
            return step > 0
        if action == "next":
            return step < 4 and self.item is not None
        return True

    def action_next(self) -> None:
        step = self.state["step"]
        if self.item is None or step >= 4:
            return
        if step in (1, 2):
            self._validate_prefix("applicant" if step == 1 else "fields", show_all=True)
        self._set_step(step + 1)
        self._draft_soon()

    def action_prev(self) -> None:
        if self.state["step"] > 0:
            self._set_step(self.state["step"] - 1)

    # --- step 1: the item ---------------------------------------------------------------------

    def _fill_items(self, query: str) -> None:
        if self.catalog is None:
            return
        if query.strip():
            items = self.catalog.search(query, limit=30)
        else:
            items = sorted(self.catalog.items, key=lambda i: (-self.usage.get(i.code, 0), i.code))
        options = self.query_one("#items", OptionList)
        options.clear_options()
        for item in items:
            used = self.usage.get(item.code, 0)
            label = Text(item.short_name or item.name)
            if used:
                label.append(f"  已办{used}件", style="dim")
            options.add_option(Option(label, id=item.code))
        if items:
            options.highlighted = 0
            self._summary(items[0])
        else:
            self.query_one("#item-summary", Static).update("没有找到事项。可输入名称、编码、拼音或拼音首字母。")

    def _summary(self, item: ServiceItem) -> None:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        grid.add_row("事项", item.name)
        grid.add_row("编码", f"{item.code}（第{item.version}版）")
        grid.add_row("部门", f"{item.department} · {item.handling_level_zh}")
        grid.add_row("时限", f"承诺{item.promised_limit} · 法定{item.statutory_limit}")
        grid.add_row("收费", item.fee)
        lines = Text()
        for i, m in enumerate(item.materials):
            lines.append(("\n" if i else "") + f"{i + 1}. {m.name}（{m.form}{m.copies}份）")
            if m.waivable:
                lines.append(" 可容缺", style="yellow")
            if not m.required:
                lines.append(" 非必需", style="dim")
        grid.add_row("材料", lines)
        if item.description:
            grid.add_row("说明", item.description)
        self.query_one("#item-summary", Static).update(grid)

    @on(Input.Changed, "#item-q")
    def _item_query(self, event: Input.Changed) -> None:
        self._fill_items(event.value)

    @on(Input.Submitted, "#item-q")
    def _item_entered(self, event: Input.Submitted) -> None:
        event.stop()
        options = self.query_one("#items", OptionList)
        if options.highlighted is not None and options.option_count:
            option = options.get_option_at_index(options.highlighted)
            if option.id:
                self.choose_item(option.id)

    @on(Input.Submitted)
    def _enter_moves_on(self, event: Input.Submitted) -> None:
        """Enter moves to the next field; on the step's last field, to the next step."""
        event.stop()
        step = self.query_one(f"#{STEP_IDS[self.state['step']]}")
        inputs = [w for w in step.query("Input, Select") if w.display]
        if inputs and event.input is inputs[-1]:
            self.action_next()
        else:
            self.focus_next()

    @on(OptionList.OptionHighlighted, "#items")
    def _item_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if self.catalog is not None and event.option.id:
            self._summary(self.catalog.get(event.option.id))

    @on(OptionList.OptionSelected, "#items")
    def _item_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.choose_item(event.option.id)

    def choose_item(self, code: str) -> None:
        if self.catalog is None:
            return
        item = self.catalog.get(code)
        if self.item is not None and self.item.code != item.code:
            self.state["fields"] = {}
            self.state["materials"] = {}
        self.item = item
        self.state["item_code"] = item.code
        for m in item.materials:
            self.state["materials"].setdefault(m.key, "missing")
        self._build_fields(item)
        self._build_materials()
        rel = "代办人与申请人的关系（代办时必填）" if item.agent_relationship else "代办人与申请人的关系（本人办理可不填）"
        self.query_one("#rel-label", Label).update(rel)
        self._draft_soon()
        self._set_step(1)

    # --- step 2: the applicant ----------------------------------------------------------------

    @on(Input.Changed, "#step-applicant Input")
    def _applicant_changed(self, event: Input.Changed) -> None:
        key = (event.input.id or "")[2:]
        self.state["applicant"][key] = event.value
        if key == "id_number":
            self._id_as_typed(event.value)
        self._draft_soon()

    def _id_as_typed(self, value: str) -> None:
        info = self.query_one("#id-info", Static)
        text = value.strip().upper()
        if not text:
            info.update("")
            return
        if len(text) < 18:
            info.update(f"已输入 {len(text)}/18 位")
            return
        try:
            rid = parse_resident_id(text, "applicant.id_number", self.session.today())
        except StationError as exc:
            info.update(Text("；".join(p.message for p in exc.problems) or exc.message, style="red"))
            return
        age = self.session.today().year - rid.birth_date.year - (
            (self.session.today().month, self.session.today().day) < (rid.birth_date.month, rid.birth_date.day))
        info.update(Text(f"✓ {rid.sex} · {rid.birth_date.isoformat()} 出生 · {age}周岁", style="green"))
        store = self.session.require_store()
        self.call_domain(lambda: find_by_id(store, rid.number), self._found_by_id, group="lookup", exclusive=True)

    def _found_by_id(self, known: KnownApplicant | None) -> None:
        if known is None:
            self.known = []
            self.query_one("#known", Static).update("本站没有此人的办件记录（新申请人）")
        else:
            self.known = [known]
            self._use_known(known, only_empty=True, fields=("phone",))  # the ID is the one just typed
            self.query_one("#known", Static).update(
                f"本站曾为 {known.name} 办理 {known.case_count} 件（上次 {known.last_case or '—'}），已填入空白项")
        self.refresh_bindings()

    @on(Input.Blurred, "#step-applicant Input")
    def _applicant_left(self, event: Input.Blurred) -> None:
        key = (event.input.id or "")[2:]
        self._show_field_problems(f"applicant.{key}")
        if key == "name" and not self.state["applicant"].get("id_number"):
            name = event.value.strip()
            store = self.session.require_store()
            self.call_domain(lambda: find_by_name(store, name), self._found_by_name, group="lookup", exclusive=True)

    def _found_by_name(self, found: list[KnownApplicant]) -> None:
        self.known = found
        box = self.query_one("#known", Static)
        if not found:
            box.update("")
        else:
            box.update("本站有同名申请人（按 F4 填入第一位）：\n" + "\n".join(
                f"{k.name} {k.masked_id} {k.address}（{k.case_count}件）" for k in found[:3]))
        self.refresh_bindings()

    def _use_known(self, known: KnownApplicant, only_empty: bool,
                   fields: tuple[str, ...] = ("id_number", "phone")) -> None:
        """Fill the applicant boxes from an earlier applicant: opening their ID/phone is an audited reveal."""
        if only_empty:
            fields = tuple(f for f in fields if not self.query_one(f"#a-{f}", Input).value.strip())
        if not fields and only_empty:
            self._fill_known(RevealedApplicant(known.name, "", "", known.address), only_empty)
            return
        store, operator = self.session.require_store(), self.session.operator
        self.call_domain(lambda: reveal_known(store, known, operator, "tui", fields),
                         lambda shown: self._fill_known(shown, only_empty), group="lookup", exclusive=True)

    def _fill_known(self, known: RevealedApplicant, only_empty: bool) -> None:
        values = {"name": known.name, "id_number": known.id_number, "phone": known.phone, "address": known.address}
        for key, value in values.items():
            box = self.query_one(f"#a-{key}", Input)
            if value and (not only_empty or not box.value.strip()):
                box.value = value

    def action_use_known(self) -> None:
        if self.known:
            self._use_known(self.known[0], only_empty=False)

    # --- step 3: the item's fields ------------------------------------------------------------

    def _build_fields(self, item: ServiceItem) -> None:
        box = self.query_one("#step-fields", VerticalScroll)
        box.remove_children()
        widgets: list[Widget] = []
        if not item.fields:
            widgets.append(Static("本事项没有需要填写的表单项，按 Ctrl+N 下一步。", classes="hint"))
        for fd in item.fields:
            mark = "（必填）" if fd.required else ""
            widgets.append(Label(f"{fd.label}{mark}", classes="field-label"))
            widgets.append(self._field_widget(fd))
            if fd.help:
                widgets.append(Static(fd.help, classes="hint"))
            widgets.append(Static("", id=_safe_id(f"fields.{fd.key}"), classes="field-error"))
        box.mount_all(widgets)

    def _field_widget(self, fd: FieldDef) -> Widget:
        value = self.state["fields"].get(fd.key, "")
        wid = f"f-{fd.key}"
        if fd.type in ("choice", "yesno"):
            options = list(fd.options) if fd.type == "choice" else ["是", "否"]
            return Select([(o, o) for o in options], prompt="请选择", id=wid,
                          value=value if value in options else Select.NULL)
        placeholder = {"date": "YYYY-MM-DD", "number": "数字", "resident_id": "18位身份证号",
                       "phone": "手机或固话", "bank_account": "银行卡号"}.get(fd.type, "")
        return Input(value=str(value), placeholder=placeholder, id=wid)

    @on(Input.Changed, "#step-fields Input")
    def _field_changed(self, event: Input.Changed) -> None:
        self.state["fields"][(event.input.id or "")[2:]] = event.value
        self._draft_soon()

    @on(Input.Blurred, "#step-fields Input")
    def _field_left(self, event: Input.Blurred) -> None:
        self._show_field_problems(f"fields.{(event.input.id or '')[2:]}")

    @on(Select.Changed, "#step-fields Select")
    def _choice_changed(self, event: Select.Changed) -> None:
        key = (event.select.id or "")[2:]
        self.state["fields"][key] = "" if event.value is Select.NULL else str(event.value)
        self._draft_soon()
        if not self._restoring:
            self._show_field_problems(f"fields.{key}")

    def _problems(self) -> list[Problem]:
        if self.item is None:
            return []
        return check(self.item, self.state, self.session.today())

    def _show_field_problems(self, path: str) -> None:
        if self._restoring or self.item is None:
            return
        found = [p.message for p in self._problems() if p.field == path]
        try:
            box = self.query_one(f"#{_safe_id(path)}", Static)
        except (NoMatches, WrongType):  # a field without an error slot (not shown on this step)
            return
        box.update("；".join(found))

    def _validate_prefix(self, prefix: str, show_all: bool) -> list[Problem]:
        problems = [p for p in self._problems() if p.field.startswith(prefix + ".")]
        if show_all:
            by_field: dict[str, list[str]] = {}
            for p in problems:
                by_field.setdefault(p.field, []).append(p.message)
            for err in self.query(f"#{STEP_IDS[1 if prefix == 'applicant' else 2]} .field-error"):
                path = (err.id or "")[4:].replace("-", ".")
                if isinstance(err, Static):
                    err.update("；".join(by_field.get(path, [])))
        return problems

    # --- step 4: materials --------------------------------------------------------------------

    def _build_materials(self) -> None:
        table = self.query_one("#materials", DataTable)
        table.clear()
        if self.item is None:
            return
        for m in self.item.materials:
            table.add_row(m.name + ("" if m.required else "（非必需）"), f"{m.copies}份 {m.form}",
                          "可" if m.waivable else "否", self._status_text(self.state["materials"][m.key]), key=m.key)

    @staticmethod
    def _status_text(status: str) -> Text:
        style = {"received": "green", "missing": "red", "waived": "yellow"}[status]
        return Text(STATUS_ZH[status], style=style)

    def action_mark(self, status: str) -> None:
        table = self.query_one("#materials", DataTable)
        if self.item is None or table.row_count == 0:
            return
        key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        m = self.item.material(key)
        if m is None:
            return
        panel = self.query_one("#materials-problems", ProblemPanel)
        if status == "waived" and not m.waivable:
            panel.show([f"「{m.name}」不允许容缺受理，须收取后才能受理"])
            return
        panel.clear()
        self.state["materials"][key] = status
        table.update_cell(key, table.ordered_columns[3].key, self._status_text(status))
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)
        self._show_commitment()
        self._draft_soon()

    def action_all_received(self) -> None:
        if self.item is None:
            return
        for m in self.item.materials:
            self.state["materials"][m.key] = "received"
        self._build_materials()
        self._show_commitment()
        self._draft_soon()

    def _show_commitment(self) -> None:
        waived = [m for m in (self.item.materials if self.item else ()) if self.state["materials"].get(m.key) == "waived"]
        box = self.query_one("#commitment")
        box.display = bool(waived)
        if waived and not self.state["commitment"].get("signer"):
            name = self.state["applicant"].get("name", "")
            if name:
                self.query_one("#c-signer", Input).value = name

    @on(Input.Changed, "#commitment Input")
    def _commitment_changed(self, event: Input.Changed) -> None:
        self.state["commitment"][(event.input.id or "")[2:]] = event.value
        self._draft_soon()

    @on(Checkbox.Changed, "#c-signed")
    def _signed_changed(self, event: Checkbox.Changed) -> None:
        self.state["commitment"]["signed"] = event.value
        self._draft_soon()

    @on(Input.Blurred, "#commitment Input")
    def _commitment_left(self, event: Input.Blurred) -> None:
        if self._restoring:
            return
        found = [p.message for p in self._problems() if p.field.startswith("commitment")]
        self.query_one("#materials-problems", ProblemPanel).show(found)

    # --- step 5: review and save --------------------------------------------------------------

    def _review(self) -> None:
        if self.item is None:
            return
        a = self.state["applicant"]
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        grid.add_row("事项", f"{self.item.name}（{self.item.code}）")
        grid.add_row("申请人", f"{a.get('name', '')}  {a.get('id_number', '')}  {a.get('phone', '')}")
        grid.add_row("住址", a.get("address", ""))
        if a.get("relationship"):
            grid.add_row("代办关系", a["relationship"])
        for fd in self.item.fields:
            grid.add_row(fd.label, str(self.state["fields"].get(fd.key, "")))
        mats = Text()
        for i, m in enumerate(self.item.materials):
            status = self.state["materials"].get(m.key, "missing")
            mats.append(("\n" if i else "") + f"{m.name}：")
            mats.append_text(self._status_text(status))
        grid.add_row("材料", mats)
        if any(v == "waived" for v in self.state["materials"].values()):
            c = self.state["commitment"]
            grid.add_row("承诺书", f"{'已签署' if c.get('signed') else '未签署'} {c.get('signer', '')}"
                                 f" 补交日期 {c.get('due_date', '')}")
        self.query_one("#review", Static).update(grid)
        problems = self._problems()
        panel = self.query_one("#review-problems", ProblemPanel)
        if problems:
            panel.show(problems, "还不能保存，请按 Ctrl+B 回到相应步骤改正；今天带不齐材料或不符合条件的，"
                                 "按 Ctrl+G 出具一次性告知书（告知件）：")
        else:
            panel.show(["核对无误后按 Ctrl+S 保存，保存后立即生成办件编号"], "")
        self.refresh_bindings()

    def action_save(self) -> None:
        if self.item is None or self._saving:
            return
        problems = self._problems()
        if problems:
            self._review()
            return
        self._saving = True
        self.query_one("#review-problems", ProblemPanel).show(["正在保存……"])
        session, item, data = self.session, self.item, submission_data(self.state)
        operator = session.operator

        def save() -> FiledCase:
            store = session.require_store()
            assert session.catalog is not None and operator is not None
            filed = file_case(store, session.catalog, item.code, data, operator)
            self._draft_done = SAVED
            drafts.clear_draft(session.home, store.codec, operator.name)
            return filed

        self.call_domain(save, self._saved, failed=self._save_failed, group="draft", exclusive=False)

    def action_inform(self) -> None:
        """Record a 告知件 and print its 一次性告知书: the application is not taken today, and the citizen
        leaves with everything missing or unmet in writing (行政许可法 §32)."""
        if self.item is None or self._saving:
            return
        self._saving = True
        self.query_one("#review-problems", ProblemPanel).show(["正在登记告知件……"])
        session, item, data = self.session, self.item, submission_data(self.state)
        operator = session.operator

        def inform() -> tuple[Any, Any]:
            from station.consultations import record

            store = session.require_store()
            assert session.catalog is not None and operator is not None
            consultation = record(store, session.catalog, item.code, data, operator)
            self._draft_done = SAVED
            drafts.clear_draft(session.home, store.codec, operator.name)
            from station.printing import print_consultation

            printed = print_consultation(store, consultation.number, operator)
            return consultation, printed

        self.call_domain(inform, self._informed, failed=self._save_failed, group="draft", exclusive=False)

    def _informed(self, result: tuple[Any, Any]) -> None:
        consultation, printed = result
        self._saving = False
        self.state = empty_state()
        if self._draft_timer is not None:
            self._draft_timer.stop()
        where = f"\n{printed.message}\n{printed.path}"
        self.last_consultation = consultation
        self.app.notify(f"已登记告知件 {consultation.number}，一次性告知书已出具。群众带齐材料回来后可一步转为办件。{where}",
                        title="告知件", timeout=10)
        self.app.pop_screen()

    def _save_failed(self, exc: StationError) -> None:
        self._saving = False
        self.query_one("#review-problems", ProblemPanel).show(exc.problems or [exc.message], exc.message)

    def _saved(self, filed: FiledCase) -> None:
        self._saving = False
        self.state = empty_state()
        if self._draft_timer is not None:
            self._draft_timer.stop()
        assert self.item is not None
        self.app.go("result", filed=filed, item_name=self.item.name)

    # --- drafts -------------------------------------------------------------------------------

    def _draft_soon(self) -> None:
        if self._restoring:
            return
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(DRAFT_DELAY, self.write_draft)

    def write_draft(self, owner: Any = None) -> None:
        session = self.session
        if session.operator is None or self.state.get("item_code") is None or self._saving:
            return
        snapshot = copy.deepcopy(self.state)
        operator = session.operator.name
        self._draft_seq += 1
        seq = self._draft_seq

        def write() -> None:
            # Runs under the session lock; a write older than the last one (or than the save that
            # cleared the draft) must not overwrite it.
            if seq <= self._draft_done:
                return
            store = session.require_store()
            drafts.save_draft(session.home, store.codec, operator, snapshot)
            self._draft_done = seq

        self.call_domain(write, self._draft_written, group="draft", exclusive=owner is None, owner=owner)

    def _draft_written(self, _: None) -> None:
        self.draft_writes += 1

    def _restore(self, draft: dict[str, Any]) -> None:
        self._restoring = True
        try:
            base = empty_state()
            base.update({k: draft[k] for k in base if k in draft})
            self.state = base
            step = int(base.get("step", 1))
            code = base["item_code"]
            materials = dict(base["materials"])
            self.choose_item(code)
            self.state["materials"].update(materials)
            self._build_materials()
            for key, value in base["applicant"].items():
                try:
                    self.query_one(f"#a-{key}", Input).value = str(value)
                except (NoMatches, WrongType):  # an applicant key this version no longer shows
                    continue
            for key in ("signer", "due_date"):
                self.query_one(f"#c-{key}", Input).value = str(base["commitment"].get(key, ""))
            self.query_one("#c-signed", Checkbox).value = bool(base["commitment"].get("signed"))
        finally:
            self.call_after_refresh(self._restored, step)

    def _restored(self, step: int) -> None:
        self._restoring = False
        self._set_step(max(1, min(step, 4)))

    def action_discard(self) -> None:
        session = self.session
        if session.operator is None:
            return
        operator = session.operator.name
        self.state = empty_state()
        if self._draft_timer is not None:
            self._draft_timer.stop()

        def discard() -> None:
            self._draft_done = SAVED
            drafts.clear_draft(session.home, session.require_store().codec, operator)

        self.call_domain(discard, lambda _: self.app.go("intake"), group="draft", exclusive=True)

    def action_leave(self) -> None:
        """Back to 首页; what was typed stays in the draft."""
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self.write_draft(owner=self.app)  # the app's worker outlives this screen
        self.app.pop_screen()
