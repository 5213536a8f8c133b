"""Printouts: the PDF documents a citizen takes home (and the station's daily report).

    from printouts import render, archive_pdf, send_to_printer
    pdf = render(case_doc, "receipt", fmt="roll80", large=True)

The names below load their module on first use (PEP 562), so ``printouts.formats`` (the paper
format names the settings rules use) does not pull in reportlab. (The renderer module is not called
``render``: importing it would bind the package attribute ``render`` to the module, not the function.)
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "archive_pdf": "archive", "BUILTIN": "fonts", "FontChoice": "fonts", "resolve_font": "fonts",
    "PrintOutcome": "printer", "send_to_printer": "printer", "KINDS": "renderer", "render": "renderer",
    **{name: "model" for name in ("HANDLING_TOWNSHIP", "HANDLING_VILLAGE", "CaseDoc", "CorrectionDoc", "DailyReport",
                                  "DueInfo", "MaterialLine", "RefusalDoc", "ResultDoc", "StationInfo")},
}

__all__ = ["render", "KINDS", "archive_pdf", "send_to_printer", "PrintOutcome", "resolve_font",
           "FontChoice", "BUILTIN", "StationInfo", "DueInfo", "MaterialLine", "CaseDoc",
           "CorrectionDoc", "ResultDoc", "RefusalDoc", "DailyReport", "HANDLING_VILLAGE",
           "HANDLING_TOWNSHIP"]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'printouts' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
