"""Errors as values: every refusal names a field, a code and a Chinese message for the operator.

Each package raises one exception type derived from :class:`StationError`; the faces (CLI, TUI,
gateway) turn it into a screen message or a JSON error. ``message`` is always Simplified Chinese
because it is shown to the operator as is; ``code`` is a stable English identifier for scripts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: which field, a machine code, and what the operator reads."""

    field: str
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


class StationError(Exception):
    """The one exception type of the station domain.

    ``problems`` lists every problem found at once (the form engine reports all of them, not the
    first); ``code`` and ``message`` summarise the refusal.
    """

    def __init__(self, code: str, message: str, problems: Iterable[Problem] = (), **details: Any):
        super().__init__(message)
        self.code = code
        self.message = message
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message,
                                "problems": [p.to_dict() for p in self.problems]}
        if "candidates" in self.details:  # e.g. the cases a short case number could mean
            body["candidates"] = list(self.details["candidates"])
        return {"error": body}

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        lines = [self.message] + [f"  - {p.field}: {p.message}" for p in self.problems]
        return "\n".join(lines)


@dataclass
class ProblemList:
    """Collects problems while a validator walks an input; raise once at the end."""

    items: list[Problem] = field(default_factory=list)

    def add(self, field_name: str, code: str, message: str) -> None:
        self.items.append(Problem(field_name, code, message))

    def extend(self, problems: Iterable[Problem]) -> None:
        self.items.extend(problems)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self, code: str = "invalid_input", message: str = "输入有误，请按提示修改") -> None:
        if self.items:
            raise StationError(code, message, self.items)
