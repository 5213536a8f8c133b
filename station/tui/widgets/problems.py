"""A panel listing problems (every one, in Chinese) under a form."""

from __future__ import annotations

from typing import Iterable

from rich.text import Text
from textual.widgets import Static

from forms.problems import Problem


class ProblemPanel(Static):
    """Shows a list of problems, or nothing (hidden) when there are none."""

    def show(self, problems: Iterable[Problem | str], title: str = "") -> None:
        lines = [p.message if isinstance(p, Problem) else p for p in problems]
        if not lines:
            self.update("")
            self.display = False
            return
        text = Text()
        if title:
            text.append(title + "\n", style="bold")
        for i, line in enumerate(lines):
            text.append(("\n" if i else "") + "• " + line)
        self.update(text)
        self.display = True

    def clear(self) -> None:
        self.show([])
