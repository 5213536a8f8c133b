"""Page formats, type sizes and the building blocks every document is made of.

Three formats: ``a4``, ``roll80`` and ``roll58`` (thermal rolls: the page is as wide as the paper and
as tall as the content, measured with ``wrap`` before the page size is fixed; everything is drawn
inside the print head's width, 72 mm of an 80 mm roll and 48 mm of a 58 mm roll, centred on the
paper, because that is all a thermal head reaches). ``large`` is the
large-print option for elderly readers: bigger type, hence fewer characters per line. All text
goes through :func:`para`, which escapes it and breaks it into lines by the Chinese rules of
:mod:`printouts.linebreak`, so long names and material lists wrap inside the print width.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from io import BytesIO
from typing import Callable, Sequence

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (BaseDocTemplate, CondPageBreak, Flowable, Frame, PageTemplate, Paragraph,
                                Spacer, Table, TableStyle)

from forms.problems import StationError

from .formats import ALL_FORMATS, PAPER_WIDTH_MM, PRINT_WIDTH_MM, ROLL_FORMATS
from .fonts import cover, font_runs
from .formatting import material_status
from .linebreak import BrokenParagraph, measure_with
from .model import MaterialLine
from .texts import Texts

#: PDF viewers (Acrobat) refuse pages taller than 200 inches; a longer roll printout is split.
MAX_PAGE_HEIGHT = 14400.0


@dataclass(frozen=True)
class PageSpec:
    """A paper format: ``margin`` left and right (on a roll: the paper the head cannot reach),
    ``top_margin`` above and below (the margin when not given)."""

    name: str
    width: float
    height: float | None  # None: as tall as the content (roll)
    margin: float
    top_margin: float | None = None
    inset: float = 0.0   # kept free inside the frame: half of a table rule's stroke lies outside its cell


    @property
    def roll(self) -> bool:
        return self.height is None

    @property
    def frame_width(self) -> float:
        return self.width - 2 * self.margin

    @property
    def content_width(self) -> float:
        return self.frame_width - 2 * self.inset

    @property
    def vmargin(self) -> float:
        return self.margin if self.top_margin is None else self.top_margin


def _roll(name: str, top: float) -> PageSpec:
    """A roll as wide as its paper, the head's print width centred on it."""
    paper, head = PAPER_WIDTH_MM[name], PRINT_WIDTH_MM[name]
    return PageSpec(name, paper * mm, None, (paper - head) / 2 * mm, top, inset=1.0)


FORMATS: dict[str, PageSpec] = {
    "a4": PageSpec("a4", A4[0], A4[1], 18 * mm),
    "roll80": _roll("roll80", 3.5 * mm),   # 72 mm head: 4 mm either side never printed on
    "roll58": _roll("roll58", 3 * mm),     # 48 mm head: 5 mm either side
}


def page_spec(fmt: str) -> PageSpec:
    try:
        return FORMATS[fmt]
    except KeyError:
        raise StationError("bad_format",
                           f"不支持的纸张格式：{fmt}（可用：{'、'.join(FORMATS)}）") from None


#: (body, small, heading, title, station, number, password) in points
_SIZES: dict[tuple[str, bool], tuple[float, ...]] = {
    ("a4", False): (12, 12, 14, 22, 14, 22, 18),   # nothing a citizen reads on A4 under 12 pt
    ("a4", True): (16, 13, 18, 28, 18, 30, 24),
    ("roll80", False): (9, 8, 10.5, 14, 10, 15, 13),
    ("roll80", True): (12, 10, 13, 17, 12, 19, 16),
    ("roll58", False): (8.5, 7.5, 9.5, 12, 9, 13, 12),
    ("roll58", True): (11, 9, 12, 14, 11, 15, 14),
}


@dataclass(frozen=True)
class Ctx:
    """Everything a document builder needs besides its data."""

    spec: PageSpec
    large: bool
    font: str
    texts: Texts
    styles: dict[str, ParagraphStyle]
    #: characters of the document no installed font can draw (printed as ``□``), in order
    missing: list[str] = field(default_factory=list)

    def cover(self, text: str) -> str:
        """``text`` with every character no installed font draws replaced by ``□`` and remembered
        (the document then ends with a note naming them: :func:`missing_note`)."""
        covered, lost = cover(text, self.font)
        self.missing.extend(ch for ch in lost if ch not in self.missing)
        return covered

    @property
    def width(self) -> float:
        return self.spec.content_width

    @property
    def body_size(self) -> float:
        return self.styles["body"].fontSize


def make_ctx(spec: PageSpec, large: bool, font: str, texts: Texts) -> Ctx:
    body, small, heading, title, station, number, password = _SIZES[(spec.name, large)]

    def st(name: str, size: float, align: int = TA_LEFT, before: float = 0, after: float = 0,
           leading: float = 1.45, **kw: object) -> ParagraphStyle:
        return ParagraphStyle(name, fontName=font, fontSize=size, leading=size * leading,
                              alignment=align, spaceBefore=before, spaceAfter=after,
                              wordWrap="CJK", **kw)

    gap = body * 0.6
    styles = {
        "body": st("body", body, after=gap * 0.5),
        "cell": st("cell", body, leading=1.35),
        "small": st("small", small, after=gap * 0.3),
        "center_small": st("center_small", small, TA_CENTER),
        "heading": st("heading", heading, before=gap * 0.6, after=gap * 0.3, leading=1.3),
        "title": st("title", title, TA_CENTER, after=gap, leading=1.3),
        "station": st("station", station, TA_CENTER, leading=1.3),
        "number": st("number", number, TA_CENTER, leading=1.25),
        "password": st("password", password, TA_CENTER, leading=1.3),
        "label": st("label", body, TA_CENTER),
        "mark": st("mark", heading, TA_CENTER, leading=1.3),
        "right": st("right", body, TA_RIGHT),
        "item": st("item", body, leftIndent=body * 1.8, bulletIndent=0, leading=1.4,
                   after=gap * 0.4, bulletFontName=font, bulletFontSize=body),
    }
    return Ctx(spec, large, font, texts, styles)


def para(ctx: Ctx, text: str, style: str | ParagraphStyle = "body", bullet: str | None = None) -> Paragraph:
    """A paragraph of plain text (escaped, newlines kept), broken by the Chinese rules of
    :mod:`printouts.linebreak` at whatever width it is laid out in."""
    st = ctx.styles[style] if isinstance(style, str) else style
    return BrokenParagraph(None, st, bulletText=bullet, plain=ctx.cover(text))


def missing_note(ctx: Ctx) -> list[Flowable]:
    """The note a document ends with when some of its characters could not be drawn: which ones (by
    code point, as no font here shows them) and that the agent writes them into the boxes by hand."""
    if not ctx.missing:
        return []
    codes = "、".join(f"U+{ord(ch):04X}" for ch in ctx.missing)
    return [gap(ctx, 0.4), para(ctx, ctx.texts("common", "missing_glyphs", codes=codes), "small")]


def gap(ctx: Ctx, lines: float = 0.6) -> Spacer:
    return Spacer(1, ctx.body_size * lines)


def reprint_mark(ctx: Ctx, count: int) -> list[Flowable]:
    """A boxed "补打（第N次）" mark; nothing for an original print."""
    if count <= 0:
        return []
    text = ctx.texts("common", "reprint_mark", n=count)
    size = ctx.styles["mark"].fontSize
    w = min(ctx.width, size * (len(text) + 2))
    t = Table([[para(ctx, text, "mark")]], colWidths=[w], hAlign="RIGHT" if not ctx.spec.roll
              else "CENTER")
    t.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 1.5, colors.black),
                           ("TOPPADDING", (0, 0), (-1, -1), 2),
                           ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]))
    return [t, gap(ctx, 0.4)]


def supersedes_note(ctx: Ctx, replaced: tuple[tuple[date, str], ...]) -> list[Flowable]:
    """One boxed line per void notice this one replaces (a decision that lost to one that reached the
    platform first was printed and handed out): in the body size, bold, so it is not missed."""
    if not replaced:
        return []
    from .formatting import fmt_date

    lines = [[para(ctx, ctx.texts("common", "supersedes", date=fmt_date(day), title=title), "mark")]
             for day, title in replaced]
    t = Table(lines, colWidths=[ctx.width])
    t.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 1.5, colors.black),
                           ("TOPPADDING", (0, 0), (-1, -1), 2),
                           ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]))
    return [gap(ctx, 0.3), t, gap(ctx, 0.3)]


def header(ctx: Ctx, station_name: str, title: str, reprint_count: int) -> list[Flowable]:
    return [*reprint_mark(ctx, reprint_count), para(ctx, station_name, "station"),
            gap(ctx, 0.3), para(ctx, title, "title")]


def heading(ctx: Ctx, text: str) -> list[Flowable]:
    """A section heading; on A4 it goes to the next page when fewer than ~4 lines are left.

    (``keepWithNext`` would glue it to a whole multi-page table and push both to the next page;
    the roll is one page, so it needs neither.)
    """
    title = para(ctx, "■ " + text, "heading")
    if ctx.spec.roll:
        return [title]
    keep = ctx.styles["heading"].leading + 4 * ctx.styles["body"].leading
    return [CondPageBreak(keep), title]


_PAD = 3  # points of padding left and right in a table cell
#: Fewer characters than this to a line (large print on 58 mm): label/value tables stack.
NARROW_EMS = 14


def _grid(rows: int, header_row: bool = False) -> TableStyle:
    cmds = [("GRID", (0, 0), (-1, -1), 0.6, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), _PAD), ("RIGHTPADDING", (0, 0), (-1, -1), _PAD),
            ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]
    if header_row and rows:
        cmds.append(("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)))
    return TableStyle(cmds)


def kv_table(ctx: Ctx, rows: Sequence[tuple[str, str]], wide: Sequence[str] = ()) -> Table:
    """Label / value rows; the label column is as wide as the longest label, values wrap.

    On A4 the rows go two pairs to a line (label value label value), which keeps a receipt on one
    sheet (the large-print one with its materials to bring on the first); rows whose label is in ``wide``, and values too long for one line of a
    half-width cell, take a whole line.
    """
    size = ctx.styles["cell"].fontSize
    longest = max((stringWidth(k, ctx.font, size) for k, _ in rows), default=2 * size)
    label_w = min(ctx.width * 0.4, longest + 2 * _PAD + 1)
    if ctx.width / size < NARROW_EMS:
        # large print on a narrow roll: each label above its value, so an ID number fits on one line
        data = []
        for k, v in rows:
            data += [[para(ctx, k, "cell")], [para(ctx, v, "cell")]]
        t = Table(data, colWidths=[ctx.width], hAlign="LEFT")
        style = _grid(len(data))
        for i in range(0, len(data), 2):
            style.add("BACKGROUND", (0, i), (0, i), colors.Color(0.9, 0.9, 0.9))
        t.setStyle(style)
        return t
    if ctx.spec.roll:
        data = [[para(ctx, k, "cell"), para(ctx, v, "cell")] for k, v in rows]
        t = Table(data, colWidths=[label_w, ctx.width - label_w], hAlign="LEFT")
        t.setStyle(_grid(len(data)))
        return t
    value_w = (ctx.width - 2 * label_w) / 2
    data: list[list[object]] = []
    style = _grid(0)
    pending: list[object] = []

    def flush() -> None:
        if pending:
            if len(pending) == 2:
                style.add("SPAN", (1, len(data)), (3, len(data)))
                pending.extend(["", ""])
            data.append(list(pending))
            pending.clear()

    for k, v in rows:
        cells = [para(ctx, k, "cell"), para(ctx, v, "cell")]
        if k in wide or stringWidth(v, ctx.font, size) > value_w - 2 * _PAD:  # long values take a whole line
            flush()
            pending.extend(cells)
            flush()
        else:
            pending.extend(cells)
            if len(pending) == 4:
                flush()
    flush()
    t = Table(data, colWidths=[label_w, value_w, label_w, value_w], hAlign="LEFT")
    t.setStyle(style)
    return t


def data_table(ctx: Ctx, head: Sequence[str], rows: Sequence[Sequence[str]],
               fractions: Sequence[float]) -> Table:
    """A grid with a shaded header row; ``fractions`` of the frame width per column."""
    widths = [ctx.width * f for f in fractions]
    data = [[para(ctx, h, "cell") for h in head]]
    data += [[para(ctx, c, "cell") for c in row] for row in rows]
    t = Table(data, colWidths=widths, hAlign="LEFT", repeatRows=1)
    t.setStyle(_grid(len(data), header_row=True))
    return t


def material_desc(ctx: Ctx, m: MaterialLine) -> str:
    t = ctx.texts
    desc = m.name + ("" if m.required else t("common", "optional"))
    if m.note:
        desc += f"（{m.note}）"
    return desc


def materials_block(ctx: Ctx, materials: Sequence[MaterialLine],
                    show_status: bool = True) -> list[Flowable]:
    """The material list: a table on A4, a numbered list on the roll (tables are too narrow)."""
    t = ctx.texts
    if not materials:
        return [para(ctx, t("common", "none"))]
    if ctx.spec.roll:
        out: list[Flowable] = []
        for i, m in enumerate(materials, 1):
            line = f"{material_desc(ctx, m)}（{m.form_text}，{t('common', 'copies', copies=m.copies)}）"
            if show_status:
                line += "\n→ " + material_status(m, t)
            out.append(para(ctx, line, "item", bullet=f"{i}."))
        return out
    head = [t("common", k) for k in ("material_no", "material_name", "material_form",
                                     "material_copies")]
    if show_status:
        head.append(t("common", "material_status"))
        fractions = (0.07, 0.34, 0.17, 0.09, 0.33) if not ctx.large else (0.08, 0.28, 0.21, 0.10, 0.33)
    else:
        fractions = (0.08, 0.52, 0.28, 0.12)
    rows = []
    for i, m in enumerate(materials, 1):
        row = [str(i), material_desc(ctx, m), m.form_text, t("common", "copies", copies=m.copies)]
        if show_status:
            row.append(material_status(m, t))
        rows.append(row)
    return [data_table(ctx, head, rows, fractions)]


def signatures(ctx: Ctx, with_applicant: bool = True) -> list[Flowable]:
    t = ctx.texts
    blank = "＿" * 6
    parts = [t("common", "sign_agent") + blank]
    if with_applicant:
        parts.append(t("common", "sign_applicant") + blank)
    parts.append(t("common", "sign_date") + blank)
    if ctx.spec.roll:
        return [gap(ctx, 0.5)] + [para(ctx, p) for p in parts]
    return [gap(ctx, 1.0), para(ctx, "　　".join(parts))]


def _measure(flowables: Sequence[Flowable], width: float) -> float:
    total = 0.0
    for f in flowables:
        _, h = f.wrap(width, MAX_PAGE_HEIGHT)
        total += h + f.getSpaceBefore() + f.getSpaceAfter()
    return total


def _fit(text: str, font: str, size: float, width: float) -> str:
    """Cut a one-line text (the footer) with an ellipsis so it stays inside ``width``."""
    measure = measure_with(font, size)
    if measure(text) <= width:
        return text
    while text and measure(text + "…") > width:
        text = text[:-1]
    return text + "…"


def draw_line(canv: Canvas, x: float, y: float, text: str, font: str, size: float, centred: bool = False) -> None:
    """One line of text on the canvas, each character in the font that has its glyph."""
    if centred:
        x -= measure_with(font, size)(text) / 2
    for run, f in font_runs(text, font):
        canv.setFont(f, size)
        canv.drawString(x, y, run)
        x += stringWidth(run, f, size)


def build_pdf(ctx: Ctx, flowables: list[Flowable], title: str,
              footer: str | None = None, running_head: str | None = None) -> bytes:
    """Lay out ``flowables`` on the context's paper and return the PDF bytes.

    On A4 each page gets a footer line (``footer`` and the page number) inside the margin, and every
    page after the first the ``running_head`` (the document and its case number, in body type) at
    its top, so a second sheet that gets separated still says whose it is.
    """
    spec = ctx.spec
    buf = BytesIO()
    if spec.roll:
        content = _measure(flowables, spec.content_width) + ctx.body_size  # slack for rounding
        height = min(content + 2 * spec.vmargin, MAX_PAGE_HEIGHT)
    else:
        assert spec.height is not None
        height = spec.height
    doc = BaseDocTemplate(buf, pagesize=(spec.width, height), leftMargin=spec.margin,
                          rightMargin=spec.margin, topMargin=spec.vmargin,
                          bottomMargin=spec.vmargin, title=title, author="村级便民服务站",
                          creator="village-station printouts", pageCompression=1)
    frame = Frame(spec.margin, spec.vmargin, spec.frame_width, height - 2 * spec.vmargin,
                  leftPadding=spec.inset, rightPadding=spec.inset, topPadding=0, bottomPadding=0, id="body")
    on_page: Callable[[Canvas, BaseDocTemplate], None] | None = None
    if not spec.roll and footer is not None:
        size = ctx.styles["small"].fontSize * 0.9
        font = ctx.font

        head_size = ctx.body_size

        def on_page(canv: Canvas, d: BaseDocTemplate) -> None:
            page = canv.getPageNumber()
            text = _fit(footer + "　" + ctx.texts("common", "page", page=page),
                        font, size, spec.frame_width)
            canv.saveState()
            draw_line(canv, spec.width / 2, spec.margin / 2, text, font, size, centred=True)
            if running_head and page > 1:
                draw_line(canv, spec.margin, height - spec.margin + head_size * 0.6,
                          _fit(running_head, font, head_size, spec.frame_width), font, head_size)
                canv.setLineWidth(0.6)
                canv.line(spec.margin, height - spec.margin + head_size * 0.3,
                          spec.width - spec.margin, height - spec.margin + head_size * 0.3)
            canv.restoreState()

    doc.addPageTemplates([PageTemplate(id="page", frames=[frame],
                                       onPage=on_page or (lambda c, d: None))])
    doc.build(flowables)
    return buf.getvalue()
