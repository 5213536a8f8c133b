"""Any roll-format document to a thermal printer as a raster image (ESC/POS ``GS v 0``).

The receipt has its own ESC/POS layout in the printer's font (:mod:`printouts.thermal`); every other
document (受理通知书, 一次性告知书, 补正通知, 不予受理决定, 申请表 …) is laid out as a roll PDF already.
That PDF is drawn at the head's resolution (8 dots per mm, 203 dpi) with PDFium (pypdfium2), cut to
the head's width (the paper either side is never printed on: the roll layouts keep it blank), turned
into black and white by a threshold (text stays crisp; dithering would fray the strokes of small
Chinese characters), and sent page by page as raster images, then the paper is cut. The printed size
is the PDF's size, so a roll document's 12-point text prints at 12 points.
"""

from __future__ import annotations

from typing import Any

from .formats import PAPER_WIDTH_MM, PRINT_WIDTH_MM

DOTS_PER_MM = 8  # 203 dpi: the head of every common 58 and 80 mm thermal printer
#: Grey level (0 black … 255 white) at and below which a dot is printed.
INK_THRESHOLD = 160


def head_dots(fmt: str) -> int:
    """Dots across the head of a roll format (576 on 80 mm paper, 384 on 58 mm)."""
    return int(PRINT_WIDTH_MM[fmt] * DOTS_PER_MM)


def pdf_rasters(pdf: bytes, fmt: str) -> list[Any]:
    """Each page of a roll PDF as a 1-bit PIL image exactly the head's width, at the head's resolution."""
    import pypdfium2 as pdfium

    paper_dots = PAPER_WIDTH_MM[fmt] * DOTS_PER_MM
    head = head_dots(fmt)
    images = []
    document = pdfium.PdfDocument(pdf)
    try:
        for index in range(len(document)):
            page = document[index]
            width_pt, _ = page.get_size()
            scale = paper_dots / width_pt  # the page is the paper's width: one dot per 1/8 mm
            grey = page.render(scale=scale, grayscale=True).to_pil().convert("L")
            page.close()
            left = max(0, (grey.width - head) // 2)
            grey = grey.crop((left, 0, left + head, grey.height))
            images.append(grey.point(lambda level: 0 if level <= INK_THRESHOLD else 255, mode="1"))
    finally:
        document.close()
    return images


def write_rasters(printer: Any, images: list[Any], cut: bool = True) -> None:
    """Send the pages to a python-escpos printer as raster images (``GS v 0``), then cut."""
    for image in images:
        printer.image(image, impl="bitImageRaster", center=False)
    if cut:
        printer.cut()
