"""Dialogs over the case screen and the settings screen: each collects input and calls the domain.

A dialog dismisses with the domain's answer (a CaseRecord, Rating, …) when it succeeded, or None
when cancelled; refusals stay in the dialog as Chinese messages so nothing typed is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, Input, Label, OptionList, RadioButton, RadioSet, Select, \
    SelectionList, Static
from textual.widgets.option_list import Option

from forms.problems import Problem, StationError
from station.operators import ROLES
from station.tui.screens.base import StationDialog
from station.tui.widgets.problems import ProblemPanel


class FormDialog(StationDialog):
    """A titled box with a problem panel and OK / cancel buttons; subclasses add the fields."""

    TITLE_TEXT = ""
    OK_LABEL = "确定"
    SCROLLS = False          # a long form scrolls inside the dialog
    EXTRA_CLASSES = ""       # e.g. "decision-form" for its own width in the stylesheet
    BINDINGS = [Binding("escape", "dismiss_dialog", "取消"), Binding("ctrl+s", "submit", "确定")]

    def compose(self) -> ComposeResult:
        box = VerticalScroll if self.SCROLLS else Vertical
        with box(classes=f"dialog {self.EXTRA_CLASSES}".strip()):
            yield Static(self.TITLE_TEXT, classes="dialog-title")
            yield from self.fields()
            yield ProblemPanel(classes="problems")
            with Horizontal(classes="buttons"):
                yield Button(self.OK_LABEL, id="ok", variant="primary")
                yield Button("取消", id="cancel")

    def fields(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.query_one(ProblemPanel).clear()
        focusable = [w for w in self.query("Input, RadioSet, SelectionList, OptionList, Select, Checkbox")]
        if focusable:
            focusable[0].focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self.action_submit()
        else:
            self.action_dismiss_dialog()

    def action_dismiss_dialog(self) -> None:
        if self._busy:  # closing now would hide whether it was saved
            self.app.notify("正在保存，请稍候", severity="warning", timeout=3)
            return
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(Input))
        if inputs and event.input is inputs[-1]:
            self.action_submit()
        else:
            self.focus_next()

    _busy = False  # a save is under way: Ctrl+S, Enter or 确定 again must not record it twice

    def action_submit(self) -> None:
        if self._busy:
            return
        try:
            fn = self.work()
        except StationError as exc:
            self.refused(exc)
            return
        self._busy = True
        self.query_one(ProblemPanel).show(["正在保存……"])
        self.call_domain(fn, self._done, failed=self.refused, crashed=self._not_busy)

    def _not_busy(self) -> None:
        self._busy = False

    def _done(self, result: Any) -> None:
        self._busy = False
        if self.is_current:  # dismissing a dialog that is no longer on top would pop the screen under it
            self.dismiss(result)

    def work(self) -> Callable[[], Any]:
        raise NotImplementedError

    def refused(self, exc: StationError) -> None:
        self._busy = False
        self.query_one(ProblemPanel).show(exc.problems or [exc.message], exc.message if exc.problems else "")


class MaterialsDialog(FormDialog):
    TITLE_TEXT = "登记补交材料（空格勾选）"

    def __init__(self, waiting: list[tuple[str, str]], record: Callable[[list[str]], Any]):
        super().__init__()
        self.waiting = waiting
        self.record = record

    def fields(self) -> ComposeResult:
        yield SelectionList[str](*[(name, key) for key, name in self.waiting], id="materials")

    def work(self) -> Callable[[], Any]:
        keys = list(self.query_one(SelectionList).selected)
        if not keys:
            raise StationError("nothing_selected", "请用空格勾选带来的材料")
        return lambda: self.record(keys)


@dataclass(frozen=True)
class PrintChoice:
    """What the print dialog answers: the document (or another choice such as "open"), paper, large print."""

    kind: str
    fmt: str
    large: bool


class PrintDialog(StationDialog):
    """Choose the document, and the paper and large print for this print (the station's by default);
    the screen that opened it does the printing."""

    def __init__(self, kinds: list[tuple[str, str]], fmt: str = "a4", large: bool = False,
                 formats: list[tuple[str, str]] | None = None):
        super().__init__()
        self.kinds = kinds
        self.fmt = fmt
        self.large = large
        self.formats = formats or [("A4 纸", "a4")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog print-dialog"):
            yield Static("打印哪份文书？↑↓ 选择，Enter 打印；Tab 换纸张或大字；Esc 取消", classes="dialog-title")
            yield OptionList(*[Option(label, id=kind) for kind, label in self.kinds], id="kinds")
            with Horizontal(classes="print-options"):
                yield Label("纸张", classes="field-label")
                yield Select(self.formats, allow_blank=False, value=self.fmt, id="print-format")
                yield Checkbox("大字版", value=self.large, id="print-large")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        fmt = self.query_one("#print-format", Select).value
        large = self.query_one("#print-large", Checkbox).value
        self.dismiss(PrintChoice(str(event.option.id), str(fmt) if isinstance(fmt, str) else self.fmt, bool(large)))


class DeliverDialog(FormDialog):
    TITLE_TEXT = "登记结果送达"

    def __init__(self, applicant: str, deliver: Callable[[str, bool, int | None], Any]):
        super().__init__()
        self.applicant = applicant
        self.deliver = deliver

    def fields(self) -> ComposeResult:
        yield Label("领取人姓名（本人领取即申请人）", classes="field-label")
        yield Input(value=self.applicant, id="to_whom")
        yield Checkbox("已核验领取人身份证件", value=True, id="id_checked")
        yield Label("群众为这件事跑了几次（含今天；上门、代办送达填0）", classes="field-label")
        yield Input(value="1", id="trips", max_length=2)

    def work(self) -> Callable[[], Any]:
        to_whom = self.query_one("#to_whom", Input).value
        checked = self.query_one("#id_checked", Checkbox).value
        text = self.query_one("#trips", Input).value.strip()
        if text and not text.isdigit():
            raise StationError("bad_trips", "跑动次数应填数字（如 1）",
                               [Problem("trips", "invalid_number", "跑动次数应填数字")])
        trips = int(text) if text else None
        return lambda: self.deliver(to_whom, checked, trips)


LEVELS = [(5, "非常满意"), (4, "满意"), (3, "基本满意"), (2, "不满意"), (1, "非常不满意")]


RATING_CHANNELS = ["纸质", "窗口", "代办", "电话回访"]


class RatingDialog(FormDialog):
    """好差评 as the citizen gave it. Nothing is chosen in advance: a level or a channel nobody chose would
    be counted as the citizen's (a pre-selected 5 = 非常满意 made the satisfaction rate whatever the
    operator did not change)."""

    TITLE_TEXT = "录入好差评（按 1–5 选择，5=非常满意；经办人不能录入自己的评价）"
    SCROLLS = True
    BINDINGS = [Binding("escape", "dismiss_dialog", "取消"), Binding("ctrl+s", "submit", "确定")] + [
        Binding(str(n), f"level({n})", label, show=False) for n, label in LEVELS]

    def __init__(self, applicant: str, rate: Callable[[int, str, str, str], Any]):
        super().__init__()
        self.applicant = applicant
        self.rate = rate

    def fields(self) -> ComposeResult:
        with RadioSet(id="level"):
            for n, label in LEVELS:
                yield RadioButton(f"{n} {label}", value=False, id=f"level-{n}")
        yield Label("评价渠道（评价卡选“纸质”）", classes="field-label")
        yield Select([(c, c) for c in RATING_CHANNELS], prompt="请选择评价渠道", id="channel")
        yield Label("具体意见（不满意、非常不满意时必填）", classes="field-label")
        yield Input(id="detail", max_length=500)
        yield Label("评价人（代办的，记录实际评价的人）", classes="field-label")
        yield Input(value=self.applicant, id="rater")

    def action_level(self, n: int) -> None:
        self.query_one(f"#level-{n}", RadioButton).value = True

    def level(self) -> int | None:
        pressed = self.query_one(RadioSet).pressed_button
        return int(pressed.id.rsplit("-", 1)[1]) if pressed and pressed.id else None

    def work(self) -> Callable[[], Any]:
        level = self.level()
        detail = self.query_one("#detail", Input).value
        rater = self.query_one("#rater", Input).value
        channel = self.query_one("#channel", Select).value
        problems = []
        if level is None:
            problems.append(Problem("level", "required", "请按群众的评价选择等级（1–5）"))
        if not isinstance(channel, str):  # Select.BLANK: nothing chosen
            problems.append(Problem("channel", "required", "请选择评价渠道"))
        if problems:
            raise StationError("rating_incomplete", "评价等级和评价渠道都要按群众实际的选择填写", problems)
        return lambda: self.rate(level, detail, rater, channel)


REVISIT_METHODS = ["电话", "上门", "短信", "其他"]


class RevisitDialog(FormDialog):
    """回访 as a record: how, what the citizen said, whether satisfied."""

    TITLE_TEXT = "登记回访（Ctrl+S 确定，Esc 取消）"

    def __init__(self, act: Callable[[str, str, bool | None], Any]):
        super().__init__()
        self.act = act

    def fields(self) -> ComposeResult:
        yield Label("回访方式", classes="field-label")
        yield Select([(m, m) for m in REVISIT_METHODS], value="电话", allow_blank=False, id="method")
        yield Label("回访结果（群众怎么说，必填）", classes="field-label")
        yield Input(id="result", max_length=500)
        yield Checkbox("群众对处理满意", value=False, id="satisfied")

    def work(self) -> Callable[[], Any]:
        method = str(self.query_one("#method", Select).value)
        result = self.query_one("#result", Input).value
        satisfied = self.query_one("#satisfied", Checkbox).value
        return lambda: self.act(method, result, satisfied)


class ReasonDialog(FormDialog):
    """One line of text with a reason (withdraw)."""

    def __init__(self, title: str, label: str, act: Callable[[str], Any], value: str = ""):
        super().__init__()
        self.TITLE_TEXT = title
        self.label = label
        self.act = act
        self.value = value

    def fields(self) -> ComposeResult:
        yield Label(self.label, classes="field-label")
        yield Input(value=self.value, id="reason")

    def work(self) -> Callable[[], Any]:
        reason = self.query_one("#reason", Input).value
        return lambda: self.act(reason)


class OperatorDialog(FormDialog):
    TITLE_TEXT = "添加操作员"

    def __init__(self, add: Callable[[str, str, str], Any]):
        super().__init__()
        self.add = add

    def fields(self) -> ComposeResult:
        yield Label("姓名", classes="field-label")
        yield Input(id="name")
        yield Label("角色", classes="field-label")
        yield Select([(label, role) for role, label in ROLES.items()], value="agent",
                     allow_blank=False, id="role")
        yield Label("初始密码（至少6位）", classes="field-label")
        yield Input(password=True, id="password")

    def work(self) -> Callable[[], Any]:
        name = self.query_one("#name", Input).value
        role = str(self.query_one("#role", Select).value)
        password = self.query_one("#password", Input).value
        return lambda: self.add(name, role, password)


class PasswordDialog(FormDialog):
    OK_LABEL = "重置"

    def __init__(self, name: str, reset: Callable[[str], Any]):
        super().__init__()
        self.TITLE_TEXT = f"重置「{name}」的密码"
        self.reset = reset

    def fields(self) -> ComposeResult:
        yield Label("新密码（至少6位）", classes="field-label")
        yield Input(password=True, id="password")

    def work(self) -> Callable[[], Any]:
        password = self.query_one("#password", Input).value
        return lambda: self.reset(password) or True


class FolderDialog(FormDialog):
    """Ask for a folder (USB export / import)."""

    def __init__(self, title: str, act: Callable[[str], Any], value: str = ""):
        super().__init__()
        self.TITLE_TEXT = title
        self.act = act
        self.value = value

    def fields(self) -> ComposeResult:
        yield Label("U盘上的文件夹（如 /media/usb/同步 或 E:\\同步）", classes="field-label")
        yield Input(value=self.value, id="folder")

    def work(self) -> Callable[[], Any]:
        folder = self.query_one("#folder", Input).value.strip()
        if not folder:
            raise StationError("folder_required", "请填写文件夹路径")
        return lambda: folder

    def action_submit(self) -> None:
        try:
            fn = self.work()
        except StationError as exc:
            self.refused(exc)
            return
        self.dismiss(fn())


class ConfirmDialog(StationDialog):
    """Ask before something that cannot be undone (e.g. discarding a draft): Enter/y confirms, Esc/n keeps."""

    BINDINGS = [Binding("escape,n", "dismiss_dialog", "不，保留"), Binding("y", "confirm", "是")]

    def __init__(self, question: str, yes_label: str = "确定"):
        super().__init__()
        self.question, self.yes_label = question, yes_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="dialog-title")
            with Horizontal(classes="buttons"):
                yield Button(self.yes_label, id="yes", variant="error")
                yield Button("取消", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_confirm(self) -> None:
        self.dismiss(True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(True if event.button.id == "yes" else None)


class BackupDialog(FormDialog):
    """Back up to a USB folder: the folder and the passphrase (twice), then ``act(folder, passphrase)``."""

    TITLE_TEXT = "备份到U盘"
    OK_LABEL = "备份"

    def __init__(self, act: Callable[[str, str], Any], value: str = ""):
        super().__init__()
        self.act = act
        self.value = value

    def fields(self) -> ComposeResult:
        yield Label("U盘上的文件夹（如 /media/usb 或 E:\\）", classes="field-label")
        yield Input(value=self.value, id="folder")
        yield Label("备份口令（至少8个字符，恢复时要用，请另行记下保管）", classes="field-label")
        yield Input(password=True, id="passphrase")
        yield Label("再输一遍口令", classes="field-label")
        yield Input(password=True, id="passphrase2")

    def work(self) -> Callable[[], Any]:
        folder = self.query_one("#folder", Input).value.strip()
        first = self.query_one("#passphrase", Input).value
        second = self.query_one("#passphrase2", Input).value
        if not folder:
            raise StationError("folder_required", "请填写U盘上的文件夹", [Problem("folder", "required", "请填写文件夹")])
        if first != second:
            raise StationError("passphrase_mismatch", "两次输入的口令不一样", [Problem("passphrase", "mismatch", "两次输入的口令不一样")])
        return lambda: self.act(folder, first)
