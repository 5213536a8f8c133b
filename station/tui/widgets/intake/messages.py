"""What the intake steps tell the intake screen (widgets talk up with messages, down with methods).

Each step widget owns its inputs and posts one of these when the operator does something; the screen
keeps the application's state, checks it with the form engine, saves drafts and calls the domain.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message


class ItemChosen(Message):
    """The operator picked a service item (Enter on the list or in the search box)."""

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code


class Edited(Message):
    """A value changed: ``section`` is ``applicant``, ``fields`` or ``commitment``."""

    def __init__(self, section: str, key: str, value: Any) -> None:
        super().__init__()
        self.section, self.key, self.value = section, key, value


class Left(Message):
    """The operator left a field: show that field's problems (``path`` as the form engine names it)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path


class StepDone(Message):
    """Enter on the step's last field: go on to the next step."""


class IdTyped(Message):
    """A complete, valid resident ID was typed: look the person up."""

    def __init__(self, id_number: str) -> None:
        super().__init__()
        self.id_number = id_number


class NameLeft(Message):
    """The name box was left with no ID typed yet: look namesakes up."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class UseKnown(Message):
    """F4: fill the form from the first earlier applicant found (an audited reveal)."""


class MaterialMarked(Message):
    """A material's status was set (``received`` / ``missing`` / ``waived``); ``key`` None = all received."""

    def __init__(self, key: str | None, status: str) -> None:
        super().__init__()
        self.key, self.status = key, status
