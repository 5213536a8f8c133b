"""Large type for what a citizen must copy down: the case number and the query password.

Three-row glyphs (Textual's ``Digits`` font plus an 'X' for the case number's check character).
"""

from __future__ import annotations

from rich.text import Text
from textual.renderables.digits import DIGITS, DIGITS3X3_BOLD
from textual.widgets import Static

_ROWS = list(DIGITS3X3_BOLD)
_GLYPHS: dict[str, tuple[str, str, str]] = {
    ch: tuple(row.ljust(3)[:3] for row in _ROWS[i * 3:i * 3 + 3]) for i, ch in enumerate(DIGITS)  # type: ignore[misc]
}
_GLYPHS["X"] = ("╲ ╱", " ╳ ", "╱ ╲")
_GLYPHS["-"] = ("   ", "╺━╸", "   ")


def big_lines(text: str) -> list[str]:
    rows = ["", "", ""]
    for ch in text.upper():
        glyph = _GLYPHS.get(ch, _GLYPHS[" "])
        for i in range(3):
            rows[i] += glyph[i] + " "
    return [r.rstrip() for r in rows]


class BigText(Static):
    """A line of text drawn three rows high; the plain text stays available as ``value``."""

    def __init__(self, value: str, **kwargs: object):
        self.value = value
        super().__init__(Text("\n".join(big_lines(value))), **kwargs)  # type: ignore[arg-type]
