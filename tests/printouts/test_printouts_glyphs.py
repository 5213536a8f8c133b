"""Rare characters (生僻字) in names and addresses: every character printed is drawn by a font that has it.

Read back from the real PDFs: the text layer (pdftotext), the font each piece of text is shown in
(pypdf's content-stream visitor) checked against that font file's own character map, and ink on a
pdftoppm rendering. The test machine has WenQuanYi Micro Hei (the document font: no 䶮 or 㙟) and
Droid Sans Fallback (has them, but not the middle dot ·); neither has CJK Extension B (𠮷 𪚥).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics

from printouts import KINDS, render, resolve_font, samples
from printouts.fonts import MISSING, fallback_fonts, has_glyph
from printouts.layout import build_pdf, make_ctx, page_spec, para
from printouts.texts import load_texts
from tests.printouts.test_printouts_fonts import DROID, WQY
from tests.printouts.test_printouts_paper import assert_in_print_width

EXT_A = "䶮㙟"                       # U+4DAE, U+365F: in Droid Sans Fallback, not in WenQuanYi
EXT_B = "𠮷𪚥"                       # U+20BB7, U+2A6A5: in no font installed for the tests
DOTS = "·・•．"                      # the middle dot of minority names, and what people type instead
NAME = "买买提·艾" + EXT_A + "・古丽•阿依．Ａ"   # drawable with the installed fonts
ADDRESS = "某某县" + EXT_A + "镇䶮家村二组"


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    src = tmp_path / "g.pdf"
    src.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(src), "-"], capture_output=True, text=True,
                          check=True).stdout


def compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _font_by_ps_name() -> dict[str, str]:
    """PostScript name -> registered reportlab name, for the document font and every fallback."""
    out = {}
    for name in (resolve_font().name, *fallback_fonts()):
        face_name = pdfmetrics.getFont(name).face.name
        out[face_name.decode() if isinstance(face_name, bytes) else face_name] = name
    return out


def shown_text(pdf: bytes) -> list[tuple[str, str]]:
    """(text, registered font name) for every piece of text the content streams show."""
    fonts = _font_by_ps_name()
    pieces: list[tuple[str, str]] = []

    def visit(text: str, _cm: object, _tm: object, font: dict | None, _size: float) -> None:
        if text.strip() and font is not None:
            base = re.sub(r"-\d+$", "", str(font.get("/BaseFont", "")).lstrip("/").split("+", 1)[-1])
            pieces.append((text, fonts.get(base, base)))

    for page in PdfReader(BytesIO(pdf)).pages:
        page.extract_text(visitor_text=visit)
    return pieces


def assert_every_character_has_its_glyph(pdf: bytes) -> None:
    """No character is shown in a font without a glyph for it (a blank or a box on paper)."""
    pieces = shown_text(pdf)
    assert pieces
    registered = set(pdfmetrics.getRegisteredFontNames())
    for text, font in pieces:
        assert font in registered, f"{text!r} shown in an unknown font {font}"
        lacking = [f"U+{ord(ch):04X}" for ch in text if not ch.isspace() and not has_glyph(font, ch)]
        assert not lacking, f"{text!r} shown in {font}, which has no glyph for {lacking}"


def dark_pixels(pdf: bytes, tmp_path: Path) -> int:
    src = tmp_path / "ink.pdf"
    src.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-gray", "-singlefile", str(src), str(tmp_path / "ink")], check=True)
    data = (tmp_path / "ink.pgm").read_bytes()
    m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    assert m
    return sum(1 for b in data[m.end():] if b < 128)


def one_line(text: str) -> bytes:
    ctx = make_ctx(page_spec("roll80"), True, resolve_font().name, load_texts())
    return build_pdf(ctx, [para(ctx, text, "title")], title="t")


def test_the_fonts_are_as_described():
    assert resolve_font().path == WQY
    wqy, droid = pdfmetrics.getFont(resolve_font().name), pdfmetrics.getFont(resolve_font(DROID).name)
    for ch in EXT_A:
        assert ord(ch) not in wqy.face.charToGlyph and ord(ch) in droid.face.charToGlyph
    assert ord("·") not in droid.face.charToGlyph
    for ch in EXT_B:
        assert not any(has_glyph(f, ch) for f in fallback_fonts())


@pytest.mark.parametrize("ch", list(EXT_A + DOTS + "Ａ王"))
def test_each_character_leaves_ink(ch, tmp_path):
    """A character alone on a roll is really drawn: not the document font's empty .notdef."""
    pdf = one_line(ch)
    assert compact(pdf_text(pdf, tmp_path)) == ch
    assert dark_pixels(pdf, tmp_path) > 0, f"U+{ord(ch):04X} printed nothing"
    assert_every_character_has_its_glyph(pdf)


@pytest.mark.parametrize("kind,fmt", [(k, f) for k, (_, _, formats) in KINDS.items() for f in formats])
def test_rare_characters_in_name_and_address_are_printed_and_drawn(kind, fmt, tmp_path):
    station = replace(samples.station(), name="䶮家村便民服务站", address=ADDRESS)
    case = samples.case(applicant_name=NAME, station=station)
    docs = samples.documents(case)
    docs["inform"] = replace(docs["inform"], applicant_name=NAME, station=station)
    docs["application"] = replace(docs["application"], applicant_address=ADDRESS)
    docs["daily"] = replace(docs["daily"], station=station,
                            near_due=[(samples.SAMPLE_CASE, "高龄津贴申请", NAME, docs["daily"].near_due[0][3])])
    pdf = render(docs[kind], kind, fmt, large=fmt == "roll58")
    text = compact(pdf_text(pdf, tmp_path))
    if kind == "daily":              # a table cell: the name wraps between the other columns
        assert "买买提·艾" in text and EXT_A + "・古丽•阿依．Ａ" in text
    elif kind != "rating_card":      # the card names no one
        assert NAME in text
    assert "䶮家村便民服务站" in text
    assert MISSING not in text and "U+" not in text
    assert_every_character_has_its_glyph(pdf)
    if fmt != "a4":
        assert_in_print_width(pdf, fmt, tmp_path)


def test_footer_and_running_head_draw_rare_characters(tmp_path):
    """The A4 footer (station name) and the running head are drawn on the canvas, not in a paragraph."""
    station = replace(samples.station(), name="䶮家村便民服务站")
    mats = [replace(m, key=f"m{i}", name=f"材料{i}") for i, m in enumerate(samples.materials() * 12)]
    pdf = render(samples.case(station=station, materials=mats), "notice", "a4")
    pages = pdf_text(pdf, tmp_path).split("\f")
    assert len([p for p in pages if p.strip()]) > 1
    for page in pages:
        if page.strip():
            assert "䶮家村便民服务站电话" in compact(page)
    assert_every_character_has_its_glyph(pdf)


@pytest.mark.parametrize("fmt", ["a4", "roll58"])
def test_a_character_no_font_has_is_a_box_and_the_document_says_so(fmt, tmp_path):
    """𠮷 (Extension B) is in no installed font: never a silent blank. It prints as □ (text layer and
    drawing agree) and the document ends with a note naming the code point for the agent."""
    name = "𠮷" + EXT_A + "𪚥"
    pdf = render(samples.case(applicant_name=name), "notice", fmt, large=True)
    text = compact(pdf_text(pdf, tmp_path))
    assert "𠮷" not in text and "𪚥" not in text
    assert MISSING + EXT_A + MISSING in text
    assert "U+20BB7、U+2A6A5" in text and "本机字体缺少" in text
    assert_every_character_has_its_glyph(pdf)
    if fmt != "a4":
        assert_in_print_width(pdf, fmt, tmp_path)


def test_no_note_when_everything_is_drawn(tmp_path):
    text = compact(pdf_text(render(samples.case(applicant_name=NAME), "receipt"), tmp_path))
    assert "本机字体缺少" not in text


def test_fallback_runs_are_still_escaped(tmp_path):
    """A name that looks like markup stays literal when part of it is set in a fallback font."""
    name = '<b>䶮</b>&<font size=40>㙟</font><a href="x">·</a>'
    pdf = render(samples.case(applicant_name=name), "receipt", "roll58")
    assert name.replace(" ", "") in compact(pdf_text(pdf, tmp_path))
    assert_every_character_has_its_glyph(pdf)
