"""QR code with the case number and query password, drawn as vector rectangles (no PIL).

The payload never carries personal data: only the case number and the query password (the same
two things printed in large type next to it), or the station's lookup URL with both as query
parameters.
"""

from __future__ import annotations

from urllib.parse import urlencode

import segno
from reportlab.platypus import Flowable

QUIET = 4  # modules of white border, as the standard asks


def qr_payload(case_number: str, query_password: str, lookup_url: str | None = None) -> str:
    """The QR text; an empty ``query_password`` (the archive copy) leaves the password out."""
    params = {"case": case_number, **({"pwd": query_password} if query_password else {})}
    if lookup_url:
        sep = "&" if "?" in lookup_url else "?"
        return lookup_url + sep + urlencode(params)
    return f"办件编号:{case_number}" + (f" 查询密码:{query_password}" if query_password else "")


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
