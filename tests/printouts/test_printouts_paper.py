"""Paper: roll printouts stay inside the print head's width, and lines break by the Chinese rules.

Every check reads a real PDF back: glyph boxes from ``pdftotext -bbox``, lines from
``pdftotext -bbox-layout``, and ink from a ``pdftoppm`` greyscale rendering (the QR code and the
table rules are drawings, not text).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from hypothesis import given, settings
from pypdf import PdfReader
from hypothesis import strategies as st
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from printouts import KINDS, MaterialLine, render, samples
from printouts.fonts import resolve_font
from printouts.formats import PAPER_WIDTH_MM, PRINT_WIDTH_MM, ROLL_FORMATS
from printouts.layout import build_pdf, make_ctx, page_spec, para
from printouts.linebreak import CLOSING, OPENING, break_lines, measure_with
from printouts.texts import load_texts

ROLL_DOCS = [(k, f) for k, (_, _, formats) in KINDS.items() for f in formats if f in ROLL_FORMATS]


def _pdf(pdf: bytes, tmp_path: Path, name: str = "doc.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(pdf)
    return path


def glyph_boxes(pdf: bytes, tmp_path: Path) -> list[tuple[float, float, float, str]]:
    """(page width, xMin, xMax, word) for every word of every page."""
    html = subprocess.run(["pdftotext", "-bbox", str(_pdf(pdf, tmp_path)), "-"], capture_output=True,
                          text=True, check=True).stdout
    out = []
    for page in re.finditer(r'<page width="([\d.]+)" height="[\d.]+">(.*?)</page>', html, re.S):
        for x0, x1, word in re.findall(r'<word xMin="([\d.-]+)" yMin="[\d.-]+" xMax="([\d.-]+)" yMax="[\d.-]+">([^<]*)<',
                                       page.group(2)):
            out.append((float(page.group(1)), float(x0), float(x1), word))
    return out


def printed_lines(pdf: bytes, tmp_path: Path) -> list[str]:
    """Every line of text as drawn, in order, its words joined without spaces."""
    html = subprocess.run(["pdftotext", "-bbox-layout", str(_pdf(pdf, tmp_path)), "-"], capture_output=True,
                          text=True, check=True).stdout
    return ["".join(re.findall(r"<word [^>]*>([^<]*)</word>", line))
            for line in re.findall(r"<line [^>]*>(.*?)</line>", html, re.S)]


def ink_columns(pdf: bytes, tmp_path: Path, dpi: int = 150) -> tuple[int, int, int]:
    """(image width, first, last pixel column with any dark pixel) of page 1, from a real rendering."""
    src = _pdf(pdf, tmp_path, "ink.pdf")
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-f", "1", "-l", "1", "-singlefile", str(src),
                    str(tmp_path / "ink")], check=True)
    data = (tmp_path / "ink.pgm").read_bytes()
    m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    assert m, "not a PGM file"
    w, h = int(m.group(1)), int(m.group(2))
    pixels = data[m.end():]
    dark = [x for x in range(w) if any(pixels[y * w + x] < 160 for y in range(0, h))]
    assert dark, "nothing printed"
    return w, dark[0], dark[-1]


def assert_in_print_width(pdf: bytes, fmt: str, tmp_path: Path) -> None:
    margin = (PAPER_WIDTH_MM[fmt] - PRINT_WIDTH_MM[fmt]) / 2 * mm
    boxes = glyph_boxes(pdf, tmp_path)
    assert boxes
    for page_w, x0, x1, word in boxes:
        assert abs(page_w - PAPER_WIDTH_MM[fmt] * mm) < 0.01
        assert x0 >= margin - 0.01 and x1 <= page_w - margin + 0.01, \
            f"{word!r} at {x0:.1f}–{x1:.1f} pt, the head prints {margin:.1f}–{page_w - margin:.1f}"
    dpi = 150
    w, first, last = ink_columns(pdf, tmp_path, dpi)
    px = dpi / 25.4
    lo, hi = (PAPER_WIDTH_MM[fmt] - PRINT_WIDTH_MM[fmt]) / 2 * px, (PAPER_WIDTH_MM[fmt] + PRINT_WIDTH_MM[fmt]) / 2 * px
    assert first >= lo - 1 and last <= hi + 1, f"ink from column {first} to {last}, the head prints {lo:.0f}–{hi:.0f}"


# --- the print width --------------------------------------------------------------------------

def test_print_widths_are_the_heads():
    assert PRINT_WIDTH_MM == {"roll80": 72.0, "roll58": 48.0}
    for fmt in ROLL_FORMATS:
        spec = page_spec(fmt)
        assert abs(spec.width - PAPER_WIDTH_MM[fmt] * mm) < 0.01
        assert abs(spec.frame_width - PRINT_WIDTH_MM[fmt] * mm) < 0.01


@pytest.mark.parametrize("kind,fmt", ROLL_DOCS)
@pytest.mark.parametrize("large", [False, True])
def test_every_roll_document_stays_inside_the_head(kind, fmt, large, tmp_path):
    doc = samples.documents(samples.case(reprint_count=3))[kind]
    assert_in_print_width(render(doc, kind, fmt, large=large), fmt, tmp_path)


def _stress() -> object:
    from tests.printouts.test_printouts import stress_case
    return stress_case()


@pytest.mark.parametrize("kind", ["receipt", "notice", "correction", "refusal"])
@pytest.mark.parametrize("fmt", ROLL_FORMATS)
@pytest.mark.parametrize("large", [False, True])
def test_long_names_and_thirty_materials_stay_inside_the_head(kind, fmt, large, tmp_path):
    c = _stress()
    doc = samples.documents(c)[kind]  # type: ignore[arg-type]
    if kind == "correction":
        doc = replace(doc, materials=c.materials)  # type: ignore[attr-defined]
    assert_in_print_width(render(doc, kind, fmt, large=large), fmt, tmp_path)


# --- Chinese line breaking on paper -----------------------------------------------------------

#: Runs that must never be cut across lines (when they fit on a line at all).
PROTECTED = ("原件及复印件", "2026年3月20日（星期五）", "421381105201-261123-0001-1", "1101**********002X",
             "027-8888", "5个工作日", "第三十二条", "居民身份证", "12:30")


def adversarial_paragraphs() -> list[str]:
    """The protected runs and every closing / opening mark, shifted one character at a time, so that
    each lands at the end of a line at some width."""
    body = ("请带上居民身份证原件及复印件，于2026年3月20日（星期五）前补交；办件编号421381105201-261123-0001-1。"
            "申请人身份证号1101**********002X，电话027-8888！依据《行政许可法》第三十二条，5个工作日内“一次告知”"
            "（有则提供）、【注】：12:30前办结？好。")
    return ["甲" * k + body for k in range(0, 24)]


def _assert_broken_by_the_rules(lines: list[str], source: list[str], width: float, font: str, size: float) -> None:
    joined = "".join(lines)
    assert joined == "".join(p.replace(" ", "") for p in source), "text lost or changed by the line breaking"
    for a, b in zip(lines, lines[1:]):
        assert b[0] not in CLOSING, f"a line starts with {b[0]!r}: …{a[-6:]} | {b[:10]}…"
        assert a[-1] not in OPENING, f"a line ends with {a[-1]!r}: …{a[-10:]} | {b[:6]}…"
    bounds, pos = set(), 0
    for line in lines[:-1]:
        pos += len(line)
        bounds.add(pos)
    for token in PROTECTED:
        if stringWidth(token + "。", font, size) > width:
            continue   # wider than a line: it has to break somewhere
        start = 0
        while (i := joined.find(token, start)) >= 0:
            cut = [b for b in bounds if i < b < i + len(token)]
            assert not cut, f"{token} broken across lines"
            start = i + 1


@pytest.mark.parametrize("fmt", ["a4", *ROLL_FORMATS])
@pytest.mark.parametrize("large", [False, True])
def test_lines_follow_the_chinese_rules_on_paper(fmt, large, tmp_path):
    font = resolve_font(None)
    ctx = make_ctx(page_spec(fmt), large, font.name, load_texts(None))
    paragraphs = adversarial_paragraphs()
    pdf = build_pdf(ctx, [para(ctx, p) for p in paragraphs], title="linebreak")
    lines = printed_lines(pdf, tmp_path)
    _assert_broken_by_the_rules(lines, paragraphs, ctx.width, font.name, ctx.body_size)
    if fmt != "a4":
        assert_in_print_width(pdf, fmt, tmp_path)


@pytest.mark.parametrize("kind,fmt", [(k, f) for k, (_, _, fs) in KINDS.items() for f in fs])
def test_no_document_line_starts_with_a_closing_mark(kind, fmt, tmp_path):
    mats = samples.materials() + [MaterialLine("both", "村民委员会出具的居住证明", "原件及复印件", 2, True, "missing",
                                               date(2026, 3, 20), "须盖章，写明居住年限（五年以上）")]
    doc = samples.documents(samples.case(materials=mats))[kind]
    for large in (False, True):
        lines = printed_lines(render(doc, kind, fmt, large=large), tmp_path)
        for a, b in zip(lines, lines[1:]):
            assert b[:1] not in CLOSING, (kind, fmt, large, a, b)
            assert a[-1:] not in OPENING, (kind, fmt, large, a, b)
        text = "\n".join(lines)
        if kind in ("notice", "receipt"):
            assert "原件及复印件" in text


def test_a_receipt_keeps_its_dates_and_case_number_whole(tmp_path):
    number = "421381105201-261123-0001-1"
    for fmt in ("a4", *ROLL_FORMATS):
        for large in (False, True):
            lines = printed_lines(render(samples.case(case_number=number), "receipt", fmt, large=large), tmp_path)
            text = "\n".join(lines)
            for whole in ("2026年3月15日", "2026年4月10日（星期五）", "2026年3月20日", "1101**********002X"):
                assert whole in text, (fmt, large, whole)
            # the large number is printed as its village part and its day part, each whole
            assert "420102100201" not in text and "421381105201" in text and "261123-0001-1" in text


# --- the algorithm --------------------------------------------------------------------------

def test_break_lines_examples():
    m = measure_with(resolve_font(None).name, 10)
    lines = break_lines("请携带居民身份证原件及复印件，于2026年3月20日前补交。", 75, m)
    assert "原件及复印件，" in lines
    assert all(line[0] not in CLOSING for line in lines)
    assert break_lines("第一行\n\n　　第二段", 200, m) == ["第一行", "", "　　第二段"]
    # a run wider than the line breaks at its spaces, then at hyphens
    assert break_lines("4213 8110 5201 - 261123 - 0001 - 1", 60, m)[0] == "4213 8110"
    assert break_lines("421381105201-261123-0001-1", 70, m)[0] == "421381105201-"


_CJK = "村民身份证原件及复印件申请补交材料"
#: Realistic pieces of text: characters, a character with one mark after or before it, digits, spaces.
_PIECE = st.one_of(st.sampled_from(_CJK), st.sampled_from(_CJK).flatmap(lambda c: st.sampled_from(
    [c + m for m in "，。、；：？！）》」』】”"] + [m + c for m in "（《「『【“"])),
    st.text(alphabet="1234567890-AX*", min_size=1, max_size=8), st.sampled_from([" ", "　"]))


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(_PIECE, min_size=1, max_size=60), width=st.floats(min_value=40, max_value=300))
def test_break_lines_properties(pieces, width):
    text = "".join(pieces)
    m = measure_with(resolve_font(None).name, 10)
    lines = break_lines(text, width, m)
    # nothing lost but the spaces at the breaks
    assert "".join(lines).replace(" ", "").replace("　", "") == text.replace(" ", "").replace("　", "")
    for line in lines:
        assert m(line) <= width
    for a, b in zip(lines, lines[1:]):
        if a and b:
            assert b[0] not in CLOSING, (a, b)
            assert a[-1] not in OPENING, (a, b)


# --- A4: large print keeps what to bring on page 1; every page says whose it is; 12 pt at least -----

def page_texts(pdf: bytes, tmp_path: Path) -> list[str]:
    path = _pdf(pdf, tmp_path, "pages.pdf")
    n = len(PdfReader(BytesIO(pdf)).pages)
    return [re.sub(r"\s+", "", subprocess.run(["pdftotext", "-f", str(i), "-l", str(i), "-enc", "UTF-8", str(path), "-"],
                                              capture_output=True, text=True, check=True).stdout)
            for i in range(1, n + 1)]


def sized_text(pdf: bytes) -> list[tuple[int, float, float, str]]:
    """(page, font size, baseline y in points from the bottom, text) of every text drawn."""
    out: list[tuple[int, float, float, str]] = []
    for n, page in enumerate(PdfReader(BytesIO(pdf)).pages, 1):
        def visit(text, cm, tm, font, size, n=n):
            if text.strip():
                scale = (tm[2] ** 2 + tm[3] ** 2) ** 0.5 * (cm[2] ** 2 + cm[3] ** 2) ** 0.5
                y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
                out.append((n, round(size * scale, 1), y, text))
        page.extract_text(visitor_text=visit)
    return out


def test_large_print_receipt_has_the_materials_to_bring_on_page_1(tmp_path):
    case = samples.case()
    pages = page_texts(render(case, "receipt", "a4", large=True), tmp_path)
    assert len(pages) <= 2
    first = pages[0]
    assert "还要带来的材料" in first
    for m in case.materials:
        if m.status != "received":
            assert m.name in first and f"{m.due_date.month}月{m.due_date.day}日" in first, m.name
    assert "4201021002012026031500071K" in first.replace(" ", "") or "42010210020120260315" in first


def test_normal_a4_receipt_is_one_sheet(tmp_path):
    assert len(page_texts(render(samples.case(), "receipt", "a4"), tmp_path)) == 1


@pytest.mark.parametrize("kind", ["receipt", "notice", "correction"])
@pytest.mark.parametrize("large", [False, True])
def test_every_later_page_names_the_document_and_case_number_in_body_type(kind, large, tmp_path):
    c = _stress()
    doc = samples.documents(c)[kind]  # type: ignore[arg-type]
    if kind == "correction":
        doc = replace(doc, materials=c.materials)  # type: ignore[attr-defined]
    pdf = render(doc, kind, "a4", large=large)
    pages = page_texts(pdf, tmp_path)
    assert len(pages) > 1
    number = "4201021002012026031500071K"
    body = 16 if large else 12
    # the running head: the pieces drawn on one baseline at the top of each later page
    lines: dict[tuple[int, float], list[tuple[float, str]]] = {}
    for page, size, y, text in sized_text(pdf):
        lines.setdefault((page, round(y, 1)), []).append((size, text))
    heads = []
    for (page, y), parts in lines.items():
        joined = re.sub(r"\s", "", "".join(t for _, t in parts))
        if page > 1 and joined.startswith("办件编号：" + number):
            heads.append((min(s for s, _ in parts), y))
            assert len(pages) == 1 or "（续）" in joined or joined.endswith("…"), joined
    assert len(heads) == len(pages) - 1 and all(size >= body for size, _ in heads)
    # at the top of the page, above the text
    assert all(y > 841.89 - 18 * mm for _, y in heads)


def _a4_documents() -> list[tuple[str, object]]:
    from printouts.model import FigureRow, MonthlyReport
    from tests.printouts.test_printouts_monthly import _row
    docs = samples.documents(samples.case(reprint_count=1))
    out = [(k, docs[k]) for k, (_, _, fs) in KINDS.items() if "a4" in fs]
    monthly = MonthlyReport(station=samples.station(), month=date(2026, 10, 1), date_from=date(2026, 10, 1),
                            date_to=date(2026, 10, 31), made_on=date(2026, 11, 2), total=_row("", "合计", 9),
                            by_village=[_row(f"4213811052{i:02d}", f"第{i}村", i) for i in range(1, 4)],
                            by_item=[_row(f"ITEM-{i}", "高龄津贴申请", i) for i in range(1, 3)],
                            daily_received=[(date(2026, 10, d), d % 5) for d in range(1, 32)])
    assert isinstance(monthly.total, FigureRow)
    return out + [("monthly", monthly)]


#: The only type under 12 pt on A4: the page footer (in the bottom margin), and in the statistics
#: report (for officials, not citizens) its thirteen-column figure tables and the chart labels.
MONTHLY_SMALL = {8.0, 7.0, 6.0}


@pytest.mark.parametrize("kind,doc", _a4_documents(), ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("large", [False, True])
def test_a4_text_is_at_least_12_pt(kind, doc, large):
    small = [(size, text) for page, size, y, text in sized_text(render(doc, kind, "a4", large=large))
             if size < 12 and y > 18 * mm - 1]
    if kind == "monthly":
        small = [(s, t) for s, t in small if s not in MONTHLY_SMALL]
    assert not small, small[:5]
