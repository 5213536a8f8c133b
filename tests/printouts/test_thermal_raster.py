"""Documents other than the receipt on a thermal printer: their roll PDF drawn at the head's resolution
(PDFium), checked against poppler's drawing of the same PDF, and sent as ESC/POS raster images."""

from __future__ import annotations

import io
import statistics
import subprocess
from pathlib import Path

import pytest
from escpos.printer import Dummy
from PIL import Image, ImageOps
from pypdf import PdfReader

from printouts import samples
from printouts.renderer import render
from printouts.thermal import send_document
from printouts.thermal_raster import DOTS_PER_MM, INK_THRESHOLD, head_dots, pdf_rasters, write_rasters
from printouts.formats import PAPER_WIDTH_MM
from tests.printouts.test_printouts_thermal import closed_port, fake_printer, target

KINDS = {"acceptance": samples.acceptance, "correction": samples.correction, "refusal": samples.refusal,
         "inform": samples.inform}


def _poppler(pdf: bytes, fmt: str, tmp_path: Path) -> list[Image.Image]:
    """The same pages drawn by poppler (an independent renderer) at the same resolution, cut to the head."""
    src = tmp_path / "doc.pdf"
    src.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-gray", "-r", str(DOTS_PER_MM * 25.4), str(src), str(tmp_path / "p")], check=True)
    head, out = head_dots(fmt), []
    for png in sorted(tmp_path.glob("p*.pgm")):
        grey = Image.open(png).convert("L")
        left = (grey.width - head) // 2
        out.append(grey.crop((left, 0, left + head, grey.height)).point(
            lambda v: 0 if v <= INK_THRESHOLD else 255, mode="1"))
    return out


@pytest.mark.parametrize("fmt", ["roll80", "roll58"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_roll_document_rasters_to_the_head_at_its_printed_size(kind: str, fmt: str, tmp_path: Path) -> None:
    pdf = render(KINDS[kind](), kind, fmt)
    pages = PdfReader(io.BytesIO(pdf)).pages
    images = pdf_rasters(pdf, fmt)
    assert len(images) == len(pages)
    assert head_dots(fmt) == {"roll80": 576, "roll58": 384}[fmt]
    for image, page in zip(images, pages):
        assert image.mode == "1" and image.width == head_dots(fmt)
        assert float(page.mediabox.width) / 72 * 25.4 == pytest.approx(PAPER_WIDTH_MM[fmt], abs=0.1)
        assert abs(image.height - float(page.mediabox.height) / 72 * 25.4 * DOTS_PER_MM) <= 2  # printed 1:1
        ink = ImageOps.invert(image.convert("L")).getbbox()
        assert ink is not None, "a blank page"
        left, _, right, _ = ink
        assert left > 0 and right < image.width, "ink at the edge of the head: part of the page is cut off"
    # what PDFium drew is what poppler draws: the document, not noise. Glyph edges differ between two
    # renderers, so compare the ink per square millimetre (8x8 dots): a page moved by 3 mm correlates ~0.
    for ours, theirs in zip(images, _poppler(pdf, fmt, tmp_path)):
        assert abs(ours.height - theirs.height) <= 2
        h = min(ours.height, theirs.height)
        assert statistics.correlation(_ink_per_mm2(ours, h), _ink_per_mm2(theirs, h)) > 0.9


def _ink_per_mm2(image: Image.Image, height: int) -> list[float]:
    size = (image.width // DOTS_PER_MM, height // DOTS_PER_MM)
    return [float(v) for v in image.crop((0, 0, image.width, height)).convert("L").resize(size, Image.BOX).tobytes()]


def test_the_pages_go_as_raster_images_then_the_paper_is_cut() -> None:
    fmt = "roll80"
    images = pdf_rasters(render(samples.inform(), "inform", fmt), fmt)
    dummy = Dummy()
    write_rasters(dummy, images)
    out = dummy.output
    rasters = _rasters(out)
    assert {width for width, _ in rasters} == {head_dots(fmt) // 8}  # each strip the head's width in bytes
    assert sum(height for _, height in rasters) == sum(image.height for image in images)  # every dot row sent
    assert out.index(b"\x1dV") > out.rindex(b"\x1dv0")  # cut after the last strip


def _rasters(stream: bytes) -> list[tuple[int, int]]:
    """(bytes across, rows) of every GS v 0 image in an ESC/POS stream, its data skipped."""
    found, at = [], stream.find(b"\x1dv0")
    while at >= 0:
        width = int.from_bytes(stream[at + 4:at + 6], "little")
        height = int.from_bytes(stream[at + 6:at + 8], "little")
        found.append((width, height))
        at = stream.find(b"\x1dv0", at + 8 + width * height)
    return found


def test_send_document_to_a_printer_that_is_off_and_then_on() -> None:
    pdf = render(samples.acceptance(), "acceptance", "roll58")
    off = send_document(target(closed_port()), pdf, "roll58", kept="受理通知书已存档（PDF）")
    assert not off.sent and "无法连接" in off.message_zh and "受理通知书已存档" in off.message_zh
    with fake_printer() as (port, received):
        on = send_document(target(port), pdf, "roll58")
    assert on.sent
    assert sum(h for _, h in _rasters(bytes(received))) == sum(i.height for i in pdf_rasters(pdf, "roll58"))
    a4 = send_document(target(closed_port()), render(samples.acceptance(), "acceptance", "a4"), "a4")
    assert not a4.sent and "只能打印卷纸" in a4.message_zh
