"""Step 2 of 新建办件: who applies. The ID is checked as it is typed; earlier applicants are offered."""

from __future__ import annotations

from datetime import date

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Input, Label, Static

from forms.identity import parse_resident_id
from forms.problems import StationError
from forms.schema import ServiceItem
from station.applicants import KnownApplicant, RevealedApplicant
from station.tui.widgets.intake.messages import Edited, IdTyped, Left, NameLeft, UseKnown

APPLICANT_FIELDS = [("name", "申请人姓名", ""), ("id_number", "身份证号（18位）", ""), ("phone", "联系电话", ""),
                    ("address", "住址", "如：示范村三组12号")]
RELATIONSHIP_OPTIONAL = "代办人与申请人的关系（本人办理可不填）"
RELATIONSHIP_REQUIRED = "代办人与申请人的关系（必填；本人来办请填“本人”）"


def error_id(path: str) -> str:
    """The id of the error line under a field (``applicant.name`` → ``err-applicant-name``)."""
    return "err-" + path.replace(".", "-")


class ApplicantStep(VerticalScroll):
    BINDINGS = [Binding("f4", "use_known", "填入旧申请人")]

    def __init__(self) -> None:
        super().__init__(id="step-applicant", classes="form")
        self.known: list[KnownApplicant] = []
        self.today = date.today()

    def compose(self) -> ComposeResult:
        for key, label, placeholder in APPLICANT_FIELDS:
            yield Label(label, classes="field-label")
            yield Input(placeholder=placeholder, id=f"a-{key}", max_length=18 if key == "id_number" else 0)
            if key == "id_number":
                yield Static("", id="id-info", classes="hint")
            yield Static("", id=error_id(f"applicant.{key}"), classes="field-error")
        yield Label(RELATIONSHIP_OPTIONAL, id="rel-label", classes="field-label")
        yield Input(placeholder="如：本人、儿子、女儿、村干部", id="a-relationship")
        yield Static("", id=error_id("applicant.relationship"), classes="field-error")
        yield Static("", id="known", classes="hint")

    # --- down: the screen tells the step ---------------------------------------------------------

    def for_item(self, item: ServiceItem) -> None:
        self.query_one("#rel-label", Label).update(RELATIONSHIP_REQUIRED if item.agent_relationship
                                                   else RELATIONSHIP_OPTIONAL)

    def set_values(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            boxes = self.query(f"#a-{key}")
            if boxes:
                boxes.first(Input).value = str(value)

    def focus_first(self) -> None:
        self.query_one("#a-name", Input).focus()

    def show_known(self, known: list[KnownApplicant], by_id: bool) -> None:
        """What the station knows of this person (by the ID typed) or of namesakes (by the name)."""
        self.known = known
        box = self.query_one("#known", Static)
        if by_id:
            box.update(f"本站曾为 {known[0].name} 办理 {known[0].case_count} 件（上次 {known[0].last_case or '—'}），"
                       "已填入空白项" if known else "本站没有此人的办件记录（新申请人）")
        elif known:
            box.update("本站有同名申请人（按 F4 填入第一位）：\n" + "\n".join(
                f"{k.name} {k.masked_id} {k.address}（{k.case_count}件）" for k in known[:3]))
        else:
            box.update("")
        self.screen.refresh_bindings()

    def fill(self, person: RevealedApplicant, only_empty: bool) -> None:
        """Put an earlier applicant's details in; ``only_empty`` leaves alone every box that holds text
        or that the operator is typing in (a lookup landing late must not mix into their keystrokes)."""
        values = {"name": person.name, "id_number": person.id_number, "phone": person.phone,
                  "address": person.address}
        for key, value in values.items():
            box = self.query_one(f"#a-{key}", Input)
            if value and (not only_empty or not (box.value.strip() or box.has_focus)):
                box.value = value

    def empty_keys(self, keys: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(k for k in keys if not self.query_one(f"#a-{k}", Input).value.strip())

    # --- up: the step tells the screen ---------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return bool(self.known) if action == "use_known" else True

    def action_use_known(self) -> None:
        if self.known:
            self.post_message(UseKnown())

    @on(Input.Changed, "#step-applicant Input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        key = (event.input.id or "")[2:]
        self.post_message(Edited("applicant", key, event.value))
        if key == "id_number":
            self._id_as_typed(event.value)

    def _id_as_typed(self, value: str) -> None:
        """Progress while typing; at 18 characters either who it is (sex, birth date, age) or, once, under
        the field, what is wrong (never which digit the check wants: that invites a wrong "fix")."""
        info = self.query_one("#id-info", Static)
        error = self.query_one(f"#{error_id('applicant.id_number')}", Static)
        text = value.strip().upper()
        error.update("")
        if not text:
            info.update("")
            return
        if len(text) < 18:
            info.update(f"已输入 {len(text)}/18 位")
            return
        try:
            rid = parse_resident_id(text, "applicant.id_number", self.today)
        except StationError as exc:
            info.update("")
            error.update("；".join(p.message for p in exc.problems) or exc.message)
            return
        age = self.today.year - rid.birth_date.year - (
            (self.today.month, self.today.day) < (rid.birth_date.month, rid.birth_date.day))
        info.update(Text(f"✓ {rid.sex} · {rid.birth_date.isoformat()} 出生 · {age}周岁", style="green"))
        self.post_message(IdTyped(rid.number))

    @on(Input.Blurred, "#step-applicant Input")
    def _left(self, event: Input.Blurred) -> None:
        key = (event.input.id or "")[2:]
        self.post_message(Left(f"applicant.{key}"))
        if key == "name" and not self.query_one("#a-id_number", Input).value.strip():
            self.post_message(NameLeft(event.value.strip()))
