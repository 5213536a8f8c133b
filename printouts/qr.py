"""QR codes: the query link the platform publishes, or plain text; drawn as vector rectangles (no PIL).

The platform publishes a query URL template (``https://zwfw.example/q?n={case_number}``, checked by
:func:`query_url_problems`); with one, the QR is a link to the case's progress page carrying the case
number and nothing else: no password (a link is kept in browser histories and server logs) and no
personal data. Without one, the QR is plain text: the case number and the query password (the same
two things printed in large type next to it), which a phone shows but cannot look up, so the
receipt then says only that (see ``receipt.number_block``).
"""

from __future__ import annotations

import segno
from reportlab.platypus import Flowable

from .query_url import query_url, query_url_problems

QUIET = 4  # modules of white border, as the standard asks


def qr_payload(case_number: str, query_password: str, query_url_template: str | None = None) -> str:
    """The QR text: the query link when the platform published a template, else plain text with the
    case number and the query password (an empty ``query_password``, the archive copy, leaves it out)."""
    if query_url_template and not query_url_problems(query_url_template):
        return query_url(query_url_template, case_number)
    return f"办件编号:{case_number}" + (f" 查询密码:{query_password}" if query_password else "")


def qr_is_link(query_url_template: str | None) -> bool:
    """Does the QR open the progress page (else it is text the phone only shows)?"""
    return bool(query_url_template) and not query_url_problems(query_url_template or "")


def qr_matrix(payload: str) -> tuple[tuple[int, ...], ...]:
    """Module matrix (1 = dark) without border; error level M survives a smudged thermal print."""
    code = segno.make(payload, error="m", boost_error=True, micro=False)
    return tuple(tuple(int(bool(v)) for v in row) for row in code.matrix)


class QRFlowable(Flowable):
    """Square QR code of ``size`` points, quiet zone included."""

    def __init__(self, payload: str, size: float):
        super().__init__()
        self.payload = payload
        self.matrix = qr_matrix(payload)
        self.size = size
        self.width = self.height = size

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        n = len(self.matrix)
        module = self.size / (n + 2 * QUIET)
        canv = self.canv
        canv.saveState()
        canv.setFillColorRGB(0, 0, 0)
        canv.setStrokeColorRGB(0, 0, 0)
        # one rectangle per horizontal run of dark modules keeps the PDF small
        for r, row in enumerate(self.matrix):
            y = self.size - (QUIET + r + 1) * module
            c = 0
            while c < n:
                if row[c]:
                    start = c
                    while c < n and row[c]:
                        c += 1
                    # a hair taller than a module: no white seams between rows on screen
                    canv.rect((QUIET + start) * module, y - 0.02 * module,
                              (c - start) * module, 1.02 * module, stroke=0, fill=1)
                else:
                    c += 1
        canv.restoreState()
