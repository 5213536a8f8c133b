"""The paper formats by name, and how wide each prints: the one list every face offers.

Kept apart from ``layout`` (no reportlab import) so that the settings rules and the CLI can name the
formats without loading the PDF machinery.
"""

from __future__ import annotations

#: Roll formats by paper width; the print width (the head) is what a roll layout fills.
ROLL_FORMATS: tuple[str, ...] = ("roll80", "roll58")
#: Every format a case document can be printed in.
ALL_FORMATS: tuple[str, ...] = ("a4", *ROLL_FORMATS)
FORMAT_LABELS: dict[str, str] = {"a4": "A4 纸", "roll80": "80毫米热敏卷纸", "roll58": "58毫米热敏卷纸"}
#: Paper width and the width a thermal head prints on it, in mm (the head is narrower than the paper).
PAPER_WIDTH_MM: dict[str, float] = {"a4": 210.0, "roll80": 80.0, "roll58": 58.0}
PRINT_WIDTH_MM: dict[str, float] = {"roll80": 72.0, "roll58": 48.0}
