"""What became of the last print, on a line of the screen itself, and the short toast that goes with it.

The toast used to carry the whole message and the archive path: four lines over the bottom right of
the screen, on top of the instructions of the result screen. Now the toast is one short line and the
details (the printer's answer, where the PDF is) stay on the screen, where nothing covers them.
"""

from __future__ import annotations

from textual.widgets import Static

from station.printing import KIND_TITLES, PrintResult
from station.settings import PAPER_LABELS

#: The paper a print dialog offers: every format (A4, 80 mm, 58 mm roll), whatever the station's default.
PRINT_FORMATS: list[tuple[str, str]] = [(label, name) for name, label in PAPER_LABELS.items()]


def print_toast(result: PrintResult) -> tuple[str, str]:
    """(title, one short line) for ``App.notify``."""
    again = f"（第{result.reprint_count}次补打）" if result.reprint_count else ""
    title = "已打印" if result.sent else "已存档"
    return title, f"{KIND_TITLES[result.kind]}{again}"


class PrintStatus(Static):
    """The last print's outcome and file, in full; hidden until something is printed."""

    def on_mount(self) -> None:
        self.display = False

    def show(self, result: PrintResult) -> None:
        title, line = print_toast(result)
        self.update(f"{title}：{line}。{result.message}\nPDF：{result.path}")
        self.display = True
