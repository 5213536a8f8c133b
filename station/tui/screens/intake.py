"""新建办件: a five-step wizard (item, applicant, form fields, materials, review) that never loses work.

Each step is a widget of its own (station/tui/widgets/intake/) that reports what the operator did
through messages; this screen keeps the application in ``self.state``, checks it with the form engine,
calls the domain (lookups, saving, the 告知件) in workers, and writes the operator's draft file (sealed,
atomic) shortly after each change. Esc leaves and the next 新建 resumes; F8 discards, after asking.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any, Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches, WrongType
from textual.timer import Timer
from textual.widgets import ContentSwitcher, Footer, Input, Static

from forms.catalog import Catalog
from forms.engine import validate_submission
from forms.problems import Problem, StationError
from forms.schema import ServiceItem
from station.applicants import KnownApplicant, RevealedApplicant, find_by_id, find_by_name, item_usage, reveal_known
from station.cases import CaseRecord, FiledCase, file_case, open_duplicates
from station.tui import drafts
from station.tui.screens.base import StationScreen
from station.tui.screens.dialogs import ConfirmDialog
from station.tui.widgets.intake import messages as msg
from station.tui.widgets.intake.applicant_step import ApplicantStep, error_id
from station.tui.widgets.intake.fields_step import FieldsStep
from station.tui.widgets.intake.item_step import ItemStep
from station.tui.widgets.intake.materials_step import MaterialsStep
from station.tui.widgets.intake.review_step import ReviewStep

STEPS = ["选择事项", "申请人", "表单内容", "材料清单", "核对保存"]
STEP_IDS = ["step-item", "step-applicant", "step-fields", "step-materials", "step-review"]
DRAFT_DELAY = 0.4
SAVED = 1 << 62  # draft sequence meaning "the case was saved: write no more drafts"


def empty_state() -> dict[str, Any]:
    return {"step": 0, "item_code": None, "applicant": {}, "fields": {}, "materials": {},
            "commitment": {"signed": False, "signer": "", "due_date": ""}, "duplicate": {"reason": ""}}


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


class IntakeScreen(StationScreen):
    BINDINGS = [
        Binding("escape", "leave", "返回(草稿保留)"),
        Binding("ctrl+b", "prev", "上一步"),
        Binding("ctrl+n", "next", "下一步"),
        Binding("ctrl+s", "save", "保存"),
        Binding("ctrl+g", "inform", "出具告知书"),
        Binding("f8", "discard", "丢弃草稿"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.state = empty_state()
        self.item: ServiceItem | None = None
        self.catalog: Catalog | None = None
        self.duplicates: list[CaseRecord] = []
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
            yield ItemStep()
            yield ApplicantStep()
            yield FieldsStep()
            yield MaterialsStep()
            yield ReviewStep()
        yield Footer(compact=True)

    @property
    def known(self) -> list[KnownApplicant]:
        return self.query_one(ApplicantStep).known

    def on_mount(self) -> None:
        for box in self.query(Input):  # a reopened draft must not select a box's text: one key would wipe it
            box.select_on_focus = False
        self.query_one(ApplicantStep).today = self.session.today()
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
        self.catalog, usage, draft, note = result
        if note:
            self.app.notify(note, severity="warning")
        self.query_one(ItemStep).load(self.catalog, usage)
        if draft and draft.get("item_code"):
            self._restore(draft)
            self.app.notify("已恢复上次未保存的办件草稿；按 F8 可丢弃", title="草稿")
        else:
            self.query_one(ItemStep).focus_search()

    # --- steps --------------------------------------------------------------------------------

    def _set_step(self, step: int) -> None:
        self.state["step"] = step
        self.query_one(ContentSwitcher).current = STEP_IDS[step]
        name = f" · {self.item.name}" if self.item and step else ""
        self.query_one("#title", Static).update(f"新建办件 · 第{step + 1}/5步 {STEPS[step]}{name}")
        if step == 1:
            self.query_one(ApplicantStep).focus_first()
        elif step == 2:
            self.query_one(FieldsStep).focus_first()
        elif step == 3:
            materials = self.query_one(MaterialsStep)
            materials.focus_table()
            self._show_commitment()
        elif step == 4:
            self._review()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        step = self.state["step"]
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
            self._validate_prefix("applicant" if step == 1 else "fields")
        self._set_step(step + 1)
        self._draft_soon()

    def action_prev(self) -> None:
        if self.state["step"] > 0:
            self._set_step(self.state["step"] - 1)

    # --- what the steps report ----------------------------------------------------------------

    @on(msg.ItemChosen)
    def _item_chosen(self, event: msg.ItemChosen) -> None:
        self.choose_item(event.code)

    @on(msg.Edited)
    def _edited(self, event: msg.Edited) -> None:
        self.state.setdefault(event.section, {})[event.key] = event.value
        self._draft_soon()

    @on(msg.Left)
    def _left(self, event: msg.Left) -> None:
        if event.path == "commitment":
            if not self._restoring:
                found = [p.message for p in self._problems() if p.field.startswith("commitment")]
                self.query_one(MaterialsStep).show_problems(found)
            return
        self._show_field_problems(event.path)

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

    @on(msg.IdTyped)
    def _id_typed(self, event: msg.IdTyped) -> None:
        store = self.session.require_store()
        self.call_domain(lambda: find_by_id(store, event.id_number), self._found_by_id, group="lookup", exclusive=True)

    def _found_by_id(self, known: KnownApplicant | None) -> None:
        self.query_one(ApplicantStep).show_known([known] if known else [], by_id=True)
        if known is not None:
            self._use_known(known, only_empty=True, fields=("phone",))  # the ID is the one just typed

    @on(msg.NameLeft)
    def _name_left(self, event: msg.NameLeft) -> None:
        store = self.session.require_store()
        self.call_domain(lambda: find_by_name(store, event.name), self._found_by_name, group="lookup", exclusive=True)

    def _found_by_name(self, found: list[KnownApplicant]) -> None:
        self.query_one(ApplicantStep).show_known(found, by_id=False)

    @on(msg.UseKnown)
    def _use_first_known(self, event: msg.UseKnown) -> None:
        if self.known:
            self._use_known(self.known[0], only_empty=False)

    def _use_known(self, known: KnownApplicant, only_empty: bool,
                   fields: tuple[str, ...] = ("id_number", "phone")) -> None:
        """Fill the applicant boxes from an earlier applicant: opening their ID/phone is an audited reveal."""
        applicant = self.query_one(ApplicantStep)
        if only_empty:
            fields = applicant.empty_keys(fields)
            if not fields:
                applicant.fill(RevealedApplicant(known.name, "", "", known.address), only_empty)
                return
        store, operator = self.session.require_store(), self.session.operator
        self.call_domain(lambda: reveal_known(store, known, operator, "tui", fields),
                         lambda shown: applicant.fill(shown, only_empty), group="lookup", exclusive=True)

    @on(msg.MaterialMarked)
    def _marked(self, event: msg.MaterialMarked) -> None:
        if self.item is None:
            return
        for m in self.item.materials:
            if event.key is None or m.key == event.key:
                self.state["materials"][m.key] = event.status
        self._show_commitment()
        self._draft_soon()

    # --- the item -----------------------------------------------------------------------------

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
        fields = self.query_one(FieldsStep)
        fields.build(item, self.state["fields"])
        self.call_after_refresh(self._no_select_on_focus)
        self.query_one(MaterialsStep).load(item, self.state["materials"])
        self.query_one(ApplicantStep).for_item(item)
        self._draft_soon()
        self._set_step(1)

    def _no_select_on_focus(self) -> None:
        for box in self.query_one(FieldsStep).query(Input):
            box.select_on_focus = False

    # --- checking -----------------------------------------------------------------------------

    def _problems(self) -> list[Problem]:
        if self.item is None:
            return []
        return check(self.item, self.state, self.session.today())

    def _show_field_problems(self, path: str) -> None:
        if self._restoring or self.item is None:
            return
        found = [p.message for p in self._problems() if p.field == path]
        try:
            box = self.query_one(f"#{error_id(path)}", Static)
        except (NoMatches, WrongType):  # a field without an error slot (not shown on this step)
            return
        box.update("；".join(dict.fromkeys(found)))

    def _validate_prefix(self, prefix: str) -> list[Problem]:
        """Every problem of one step, each under its field (once)."""
        problems = [p for p in self._problems() if p.field.startswith(prefix + ".")]
        by_field: dict[str, list[str]] = {}
        for p in problems:
            by_field.setdefault(p.field, []).append(p.message)
        for err in self.query(f"#{STEP_IDS[1 if prefix == 'applicant' else 2]} .field-error"):
            path = (err.id or "")[4:].replace("-", ".")
            if isinstance(err, Static):
                err.update("；".join(dict.fromkeys(by_field.get(path, []))))
        return problems

    def _show_commitment(self) -> None:
        waived = any(self.state["materials"].get(m.key) == "waived" for m in (self.item.materials if self.item else ()))
        self.query_one(MaterialsStep).show_commitment(waived, self.state["applicant"].get("name", ""))

    # --- step 5: review, duplicates, save -----------------------------------------------------

    def _review(self) -> None:
        if self.item is None:
            return
        self.query_one(ReviewStep).show(self.item, self.state, self._problems(), self.duplicates)
        id_number = str(self.state["applicant"].get("id_number", "")).strip().upper()
        if len(id_number) == 18:
            store, code = self.session.require_store(), self.item.code
            self.call_domain(lambda: open_duplicates(store, id_number, code), self._duplicates_found,
                             group="duplicates", exclusive=True)
        self.refresh_bindings()

    def _duplicates_found(self, found: list[CaseRecord]) -> None:
        self.duplicates = found
        self.query_one(ReviewStep).show_duplicates(found)

    def action_save(self) -> None:
        if self.item is None or self._saving:
            return
        problems = self._problems()
        review = self.query_one(ReviewStep)
        if problems:
            self._review()
            return
        reason = review.duplicate_reason
        if self.duplicates and not reason:
            review.show_problems(["此人同一事项已有在办件：确需再次申请，请在上方填写理由"], "还不能保存：")
            self.query_one("#dup-reason", Input).focus()
            return
        self._saving = True
        review.show_problems(["正在保存……"], "")
        session, item, data = self.session, self.item, submission_data(self.state)
        operator = session.operator

        def save() -> FiledCase:
            store = session.require_store()
            assert session.catalog is not None and operator is not None
            filed = file_case(store, session.catalog, item.code, data, operator, duplicate_reason=reason or None)
            self._draft_done = SAVED
            drafts.clear_draft(session.home, store.codec, operator.name)
            return filed

        self.call_domain(save, self._saved, failed=self._save_failed, group="draft", exclusive=False,
                         crashed=self._save_crashed)

    def action_inform(self) -> None:
        """Record a 告知件 and print its 一次性告知书: the application is not taken today, and the citizen
        leaves with everything missing or unmet in writing (行政许可法 §32)."""
        if self.item is None or self._saving:
            return
        self._saving = True
        self.query_one(ReviewStep).show_problems(["正在登记告知件……"], "")
        session, item, data = self.session, self.item, submission_data(self.state)
        operator = session.operator

        def inform() -> tuple[Any, Any]:
            from station.consultations import record
            from station.printing import print_consultation

            store = session.require_store()
            assert session.catalog is not None and operator is not None
            consultation = record(store, session.catalog, item.code, data, operator)
            self._draft_done = SAVED
            drafts.clear_draft(session.home, store.codec, operator.name)
            printed = print_consultation(store, consultation.number, operator)
            return consultation, printed

        self.call_domain(inform, self._informed, failed=self._save_failed, group="draft", exclusive=False,
                         crashed=self._save_crashed)

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
        self.app.back()

    def _save_failed(self, exc: StationError) -> None:
        self._saving = False
        self.query_one(ReviewStep).show_problems(list(exc.problems) or [exc.message], exc.message)

    def _save_crashed(self) -> None:
        """An internal error (already reported): Esc, F8 and Ctrl+S work again."""
        self._saving = False
        self.query_one(ReviewStep).show_problems(["出现内部错误：请先在“查询”中核对是否已经登记，再决定是否重试"], "")

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

    def _draft_job(self) -> Callable[[], None] | None:
        """The write of the current form as the next draft (None when there is nothing to keep). Runs
        under the session lock; a write older than the last one (or than the save that cleared the
        draft) does not overwrite it."""
        session = self.session
        if session.operator is None or self.state.get("item_code") is None or self._saving:
            return None
        snapshot = copy.deepcopy(self.state)
        operator = session.operator.name
        self._draft_seq += 1
        seq = self._draft_seq

        def write() -> None:
            if seq <= self._draft_done:
                return
            drafts.save_draft(session.home, session.require_store().codec, operator, snapshot)
            self._draft_done = seq

        return write

    def write_draft(self, owner: Any = None) -> None:
        write = self._draft_job()
        if write is not None:
            self.call_domain(write, self._draft_written, group="draft", exclusive=owner is None, owner=owner)

    def flush_draft(self) -> None:
        """Write the draft now, on this thread (the app is quitting: a timer or a worker would not run)."""
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        write = self._draft_job()
        if write is not None:
            with self.session.lock:
                write()

    def _draft_written(self, _: None) -> None:
        self.draft_writes += 1

    def _restore(self, draft: dict[str, Any]) -> None:
        self._restoring = True
        self.query_one(FieldsStep).restoring = True
        try:
            base = empty_state()
            base.update({k: draft[k] for k in base if k in draft})
            self.state = base
            step = int(base.get("step", 1))
            materials = dict(base["materials"])
            self.choose_item(base["item_code"])
            self.state["materials"].update(materials)
            assert self.item is not None
            self.query_one(MaterialsStep).load(self.item, self.state["materials"])
            self.query_one(ApplicantStep).set_values({k: str(v) for k, v in base["applicant"].items()})
            self.query_one(MaterialsStep).set_commitment(base["commitment"])
            self.query_one("#dup-reason", Input).value = str(base["duplicate"].get("reason", ""))
        finally:
            self.call_after_refresh(self._restored, step)

    def _restored(self, step: int) -> None:
        self._restoring = False
        self.query_one(FieldsStep).restoring = False
        self._set_step(max(1, min(step, 4)))

    def action_discard(self) -> None:
        """F8: throw the draft away, after asking (a stray F8 must not cost the operator the form)."""
        if self._saving:
            return
        if self.session.operator is None or self.state.get("item_code") is None:
            return
        self.app.push_screen(ConfirmDialog("丢弃这份草稿？已填写的内容将全部删除，不能恢复。", "丢弃"), self._discard)

    def _discard(self, confirmed: Any) -> None:
        if not confirmed:
            return
        session = self.session
        operator = session.operator.name if session.operator else ""
        self.state = empty_state()
        if self._draft_timer is not None:
            self._draft_timer.stop()

        def discard() -> None:
            self._draft_done = SAVED
            drafts.clear_draft(session.home, session.require_store().codec, operator)

        self.call_domain(discard, lambda _: self.app.go("intake"), group="draft", exclusive=True)

    def action_leave(self) -> None:
        """Back to 首页; what was typed stays in the draft. Not while saving: the answer replaces this
        screen (with the result) or closes it, and would otherwise close 首页 instead."""
        if self._saving:
            self.app.notify("正在保存，请稍候", severity="warning", timeout=3)
            return
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self.write_draft(owner=self.app)  # the app's worker outlives this screen
        self.app.back()


