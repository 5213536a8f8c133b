"""Printouts: the PDF documents a citizen takes home (and the station's daily report).

    from printouts import render, archive_pdf, send_to_printer
    pdf = render(case_doc, "receipt", fmt="roll80", large=True)
"""

from .archive import archive_pdf
from .fonts import BUILTIN, FontChoice, resolve_font
from .model import (HANDLING_TOWNSHIP, HANDLING_VILLAGE, CaseDoc, CorrectionDoc, DailyReport,
                    DueInfo, MaterialLine, RefusalDoc, ResultDoc, StationInfo)
from .printer import PrintOutcome, send_to_printer
from .render import KINDS, render

__all__ = ["render", "KINDS", "archive_pdf", "send_to_printer", "PrintOutcome", "resolve_font",
           "FontChoice", "BUILTIN", "StationInfo", "DueInfo", "MaterialLine", "CaseDoc",
           "CorrectionDoc", "ResultDoc", "RefusalDoc", "DailyReport", "HANDLING_VILLAGE",
           "HANDLING_TOWNSHIP"]
