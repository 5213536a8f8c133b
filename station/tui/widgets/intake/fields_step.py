"""Step 3 of 新建办件: the item's own form, built from its catalog definition."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static

from forms.schema import FieldDef, ServiceItem
from station.tui.widgets.intake.applicant_step import error_id
from station.tui.widgets.intake.messages import Edited, Left

PLACEHOLDERS = {"date": "YYYY-MM-DD", "number": "数字", "resident_id": "18位身份证号", "phone": "手机或固话",
                "bank_account": "银行卡号"}


class FieldsStep(VerticalScroll):
    def __init__(self) -> None:
        super().__init__(id="step-fields", classes="form")
        self.restoring = False  # values put back from a draft are not the operator's choice

    def build(self, item: ServiceItem, values: dict[str, Any]) -> None:
        self.remove_children()
        widgets: list[Widget] = []
        if not item.fields:
            widgets.append(Static("本事项没有需要填写的表单项，按 Ctrl+N 下一步。", classes="hint"))
        for fd in item.fields:
            widgets.append(Label(f"{fd.label}{'（必填）' if fd.required else ''}", classes="field-label"))
            widgets.append(self._widget(fd, values.get(fd.key, "")))
            if fd.help:
                widgets.append(Static(fd.help, classes="hint"))
            widgets.append(Static("", id=error_id(f"fields.{fd.key}"), classes="field-error"))
        self.mount_all(widgets)

    @staticmethod
    def _widget(fd: FieldDef, value: Any) -> Widget:
        wid = f"f-{fd.key}"
        if fd.type in ("choice", "yesno"):
            options = list(fd.options) if fd.type == "choice" else ["是", "否"]
            return Select([(o, o) for o in options], prompt="请选择", id=wid,
                          value=value if value in options else Select.NULL)
        return Input(value=str(value), placeholder=PLACEHOLDERS.get(fd.type, ""), id=wid)

    def focus_first(self) -> None:
        first = self.query("Input, Select")
        if first:
            first.first().focus()

    @on(Input.Changed, "#step-fields Input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(Edited("fields", (event.input.id or "")[2:], event.value))

    @on(Input.Blurred, "#step-fields Input")
    def _left(self, event: Input.Blurred) -> None:
        self.post_message(Left(f"fields.{(event.input.id or '')[2:]}"))

    @on(Select.Changed, "#step-fields Select")
    def _chosen(self, event: Select.Changed) -> None:
        event.stop()
        key = (event.select.id or "")[2:]
        self.post_message(Edited("fields", key, "" if event.value is Select.NULL else str(event.value)))
        if not self.restoring:
            self.post_message(Left(f"fields.{key}"))
