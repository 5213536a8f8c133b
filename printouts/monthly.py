"""政务服务统计月报 (A4): the month's figures in total, by village (table and bar charts), the daily
received counts as a chart, the figures by item, and the short form of the definitions.

The figures arrive computed (:class:`~printouts.model.MonthlyReport`); this module only lays them
out. Percentages print with one decimal (66.7%), undefined rates as "—". Tables repeat their header
row and split across pages; the village chart is drawn in parts of :data:`VILLAGES_PER_CHART`
villages, so 30 villages or 30 items never run off the paper. Charts use black, grey and white bars
with black outlines: most village printers are monochrome lasers.
"""

from __future__ import annotations

import calendar
import math
from datetime import date
from typing import Callable, Sequence

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import CondPageBreak, Flowable, Paragraph, Table

from .fonts import in_font
from .formatting import fmt_date
from .layout import Ctx, _grid, gap, heading, kv_table, para, reprint_mark
from .model import FigureRow, MonthlyReport

#: Villages per bar chart; more villages make more charts (each a part: 第1/3幅 …).
VILLAGES_PER_CHART = 8

#: Fill of the three series (received, completed, on time): readable on a black-and-white printer.
SERIES_FILLS = (colors.Color(0.15, 0.15, 0.15), colors.Color(0.55, 0.55, 0.55), colors.white)

_TABLE_FONT_SIZE = 8.0
_CHART_FONT_SIZE = 7.0
_VILLAGE_CHART_H = 200.0
_DAILY_CHART_H = 150.0


def pct(rate: float | None, undefined: str = "—") -> str:
    return undefined if rate is None else f"{rate * 100:.1f}%"


def num(value: float | None, digits: int, undefined: str = "—") -> str:
    return undefined if value is None else f"{value:.{digits}f}"


def month_label(d: date) -> str:
    return f"{d.year}年{d.month}月"


def _label(row: FigureRow) -> str:
    return f"{row.code}\n{row.name}" if row.name and row.name != row.code else row.code


def _figure_cells(row: FigureRow, t: Callable[..., str]) -> list[str]:
    u = t("monthly", "undefined")
    return [str(row.received), str(row.accepted), str(row.completed), str(row.on_time),
            pct(row.on_time_rate, u), str(row.overdue_now), num(row.avg_working_days, 1, u),
            num(row.corrections_per_case, 2, u), str(row.ratings), pct(row.satisfaction_rate, u),
            str(row.bad_ratings), f"{row.followups_open}/{row.followups_overdue}"]


_FIGURE_KEYS = ("received", "accepted", "completed", "on_time", "on_time_rate", "overdue_now",
                "avg_working_days", "corrections_per_case", "ratings", "satisfaction_rate",
                "bad_ratings", "followups")


def _totals(ctx: Ctx, total: FigureRow) -> Table:
    t = ctx.texts
    values = _figure_cells(total, t)
    return kv_table(ctx, [(t("monthly", k), v) for k, v in zip(_FIGURE_KEYS, values)])


def _measures(ctx: Ctx, total: FigureRow) -> Table:
    """The legal record and the seeds' measures of the total: 告知件, results by national code, 四办 …"""
    t = ctx.texts
    u = t("monthly", "undefined")
    rows = [(t("monthly", "consultations"), str(total.consultations)),
            (t("monthly", "deemed_accepted"), str(total.deemed_accepted)),
            (t("monthly", "not_accepted"), str(total.not_accepted)),
            (t("monthly", "forwarded"), str(total.forwarded)),
            (t("monthly", "second_corrections"), str(total.second_corrections)),
            (t("monthly", "handover_late"), str(total.handover_late)),
            (t("monthly", "correction_overdue_now"), str(total.correction_overdue_now)),
            (t("monthly", "early_rate"), pct(total.early_rate, u)),
            (t("monthly", "on_the_spot_rate"), pct(total.on_the_spot_rate, u)),
            (t("monthly", "one_trip_rate"), pct(total.one_trip_rate, u)),
            (t("monthly", "trips_per_case"), num(total.trips_per_case, 2, u)),
            (t("monthly", "revisit_rate"), pct(total.revisit_rate, u)),
            (t("monthly", "rectification_rate"), pct(total.rectification_rate, u))]
    rows += [(f"{label}{t('monthly', 'share')}", pct(share, u)) for label, share in total.label_shares]
    return kv_table(ctx, rows)


def _figure_table(ctx: Ctx, first_head: str, rows: Sequence[FigureRow], total: FigureRow) -> Table:
    """Label column plus the twelve figures, small type; the header repeats on every page."""
    t = ctx.texts
    style = ParagraphStyle("monthly_cell", parent=ctx.styles["cell"], fontSize=_TABLE_FONT_SIZE,
                           leading=_TABLE_FONT_SIZE * 1.3, rightIndent=1)
    num_style = ParagraphStyle("monthly_num", parent=style, alignment=2)

    def cell(text: str, st: ParagraphStyle = style) -> Paragraph:
        return para(ctx, text, st)

    head = [cell(first_head)] + [cell(t("monthly", k)) for k in _FIGURE_KEYS]
    body = [[cell(_label(r))] + [cell(v, num_style) for v in _figure_cells(r, t)] for r in rows]
    body.append([cell(t("daily", "total"))] + [cell(v, num_style) for v in _figure_cells(total, t)])
    label_w = ctx.width * 0.19
    widths = [label_w] + [(ctx.width - label_w) / len(_FIGURE_KEYS)] * len(_FIGURE_KEYS)
    table = Table([head] + body, colWidths=widths, hAlign="LEFT", repeatRows=1)
    grid = _grid(len(body) + 1, header_row=True)
    grid.add("LEFTPADDING", (0, 0), (-1, -1), 2)
    grid.add("RIGHTPADDING", (0, 0), (-1, -1), 2)
    grid.add("BACKGROUND", (0, len(body)), (-1, len(body)), colors.Color(0.95, 0.95, 0.95))
    table.setStyle(grid)
    return table


def _axis_step(top: int) -> tuple[int, int]:
    """(step, max) of a value axis with whole-number ticks and room above the highest bar."""
    raw = max(top, 1) / 5
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(int(step), 1)
    return step, step * (max(top, 0) // step + 1)


def fit_label(text: str, font: str, size: float, width: float) -> str:
    """Cut each line of a chart label with "…" so that it stays inside ``width`` points."""
    lines = []
    for line in text.split("\n"):
        if stringWidth(line, font, size) > width:
            while line and stringWidth(line + "…", font, size) > width:
                line = line[:-1]
            line += "…"
        lines.append(line)
    return "\n".join(lines)


def bar_chart(ctx: Ctx, categories: Sequence[str], series: Sequence[Sequence[int]],
              names: Sequence[str], height: float, label_angle: float = 0,
              label_space: float = 18, value_labels: bool = True, right_space: float = 4) -> Drawing:
    """A vertical bar chart as wide as the frame, legend on top, labels in the CJK font.

    Category labels are horizontal (text a reader and pdftotext can find) and cut to the width of
    their category; ``label_angle`` tilts them when the caller prefers.
    """
    width = ctx.width
    drawing = Drawing(width, height)
    legend_h = 16 if len(series) > 1 else 0
    chart = VerticalBarChart()
    chart.x, chart.y = 28, label_space
    chart.width, chart.height = width - chart.x - right_space, height - label_space - legend_h - 6
    slot = chart.width / max(len(categories), 1)
    # a label is one String in the document's font: a rare character it lacks is a box, not a blank
    # (the table prints the name whole, in the font that has it)
    categories = [in_font(c, ctx.font) for c in categories]
    if not label_angle:
        categories = [fit_label(c, ctx.font, _CHART_FONT_SIZE, slot - 2) for c in categories]
    chart.data = [list(s) for s in series]
    chart.barSpacing = 0.5
    chart.groupSpacing = 4 if len(categories) < 15 else 2
    chart.strokeColor = None
    cat = chart.categoryAxis
    cat.categoryNames = list(categories)
    cat.labels.fontName = ctx.font
    cat.labels.fontSize = _CHART_FONT_SIZE
    cat.labels.angle = label_angle
    if label_angle:
        cat.labels.boxAnchor = "ne"
        cat.labels.dx, cat.labels.dy = 3, -2
    else:
        cat.labels.boxAnchor = "n"
        cat.labels.dy = -2
    cat.labels.textAnchor = "middle" if not label_angle else "end"
    step, top = _axis_step(max((v for s in series for v in s), default=0))
    val = chart.valueAxis
    val.valueMin, val.valueMax, val.valueStep = 0, top, step
    val.labels.fontName = ctx.font
    val.labels.fontSize = _CHART_FONT_SIZE
    val.labelTextFormat = "%d"
    val.visibleGrid = True
    val.gridStrokeColor = colors.Color(0.85, 0.85, 0.85)
    val.gridStrokeWidth = 0.4
    for i in range(len(series)):
        chart.bars[i].fillColor = SERIES_FILLS[i % len(SERIES_FILLS)]
        chart.bars[i].strokeColor = colors.black
        chart.bars[i].strokeWidth = 0.4
    if value_labels:
        chart.barLabelFormat = lambda v: str(int(v)) if v else ""
        chart.barLabels.fontName = ctx.font
        chart.barLabels.fontSize = _CHART_FONT_SIZE - 1
        chart.barLabels.nudge = 5
    drawing.add(chart)
    if legend_h:
        legend = Legend()
        legend.fontName = ctx.font
        legend.fontSize = _CHART_FONT_SIZE + 1
        legend.alignment = "right"
        legend.columnMaximum = 1
        legend.boxAnchor = "ne"
        legend.x, legend.y = width - 4, height - 2
        legend.dx = legend.dy = 8
        legend.deltax = 0
        legend.dxTextSpace = 4
        legend.strokeColor = colors.black
        legend.strokeWidth = 0.4
        legend.colorNamePairs = [(SERIES_FILLS[i % len(SERIES_FILLS)], n) for i, n in enumerate(names)]
        drawing.add(legend)
    return drawing


def _village_charts(ctx: Ctx, rows: Sequence[FigureRow]) -> list[Flowable]:
    t = ctx.texts
    names = [t("monthly", "received"), t("monthly", "completed"), t("monthly", "on_time")]
    parts = [rows[i:i + VILLAGES_PER_CHART] for i in range(0, len(rows), VILLAGES_PER_CHART)]
    out: list[Flowable] = []
    for n, part in enumerate(parts, 1):
        title = t("monthly", "village_chart_title")
        if len(parts) > 1:
            title += t("monthly", "chart_part", part=n, parts=len(parts))
        out += _keep_space(ctx, _VILLAGE_CHART_H) + heading(ctx, title)
        labels = [_label(r) for r in part]
        series = [[r.received for r in part], [r.completed for r in part], [r.on_time for r in part]]
        out.append(bar_chart(ctx, labels, series, names, height=_VILLAGE_CHART_H, label_space=26))
    return out


def _daily_chart(ctx: Ctx, rep: MonthlyReport) -> Drawing:
    counts = {d: n for d, n in rep.daily_received}
    days = [date(rep.month.year, rep.month.month, i)
            for i in range(1, calendar.monthrange(rep.month.year, rep.month.month)[1] + 1)]
    drawing = bar_chart(ctx, [str(d.day) for d in days], [[counts.get(d, 0) for d in days]],
                        [ctx.texts("monthly", "received")], height=_DAILY_CHART_H, label_space=16,
                        right_space=14)
    drawing.add(String(ctx.width - 2, 8, ctx.texts("monthly", "day_axis"), fontName=ctx.font,
                       fontSize=_CHART_FONT_SIZE, textAnchor="end"))
    drawing.add(String(2, _DAILY_CHART_H - 8, ctx.texts("monthly", "count_axis"), fontName=ctx.font,
                       fontSize=_CHART_FONT_SIZE))
    return drawing


def _keep_space(ctx: Ctx, chart_height: float) -> list[Flowable]:
    """Move a chart's heading to the next page with the chart when both do not fit (a drawing does not split)."""
    return [CondPageBreak(chart_height + ctx.styles["heading"].leading * 2)]


def _title(ctx: Ctx, text: str) -> Paragraph:
    """The title on one line when it fits at 16 pt or more, else wrapped at 16 pt."""
    base = ctx.styles["title"]
    room = ctx.width - base.rightIndent - 2
    size = base.fontSize
    while size > 16 and stringWidth(text, ctx.font, size) > room:
        size -= 0.5
    style = ParagraphStyle("monthly_title", parent=base, fontSize=size, leading=size * 1.3)
    return para(ctx, text, style)


def build(rep: MonthlyReport, ctx: Ctx) -> list[Flowable]:
    t = ctx.texts
    out: list[Flowable] = reprint_mark(ctx, rep.reprint_count)
    out.append(_title(ctx, t("monthly", "title", station_name=rep.station.name, month=month_label(rep.month))))
    out.append(para(ctx, t("monthly", "period", date_from=fmt_date(rep.date_from), date_to=fmt_date(rep.date_to),
                           made_on=fmt_date(rep.made_on)), "center_small"))
    out += heading(ctx, t("monthly", "totals_title"))
    out.append(_totals(ctx, rep.total))
    out += heading(ctx, t("monthly", "measures_title"))
    out.append(_measures(ctx, rep.total))
    out += heading(ctx, t("monthly", "village_title"))
    if rep.by_village:
        out.append(_figure_table(ctx, t("monthly", "village"), rep.by_village, rep.total))
        out += _village_charts(ctx, rep.by_village)
    else:
        out.append(para(ctx, t("monthly", "none")))
    out += _keep_space(ctx, _DAILY_CHART_H) + heading(ctx, t("monthly", "daily_chart_title"))
    out.append(_daily_chart(ctx, rep))
    out += heading(ctx, t("monthly", "item_title"))
    if rep.by_item:
        out.append(_figure_table(ctx, t("monthly", "item"), rep.by_item, rep.total))
    else:
        out.append(para(ctx, t("monthly", "none")))
    out += heading(ctx, t("monthly", "definitions_title"))
    for line in t("monthly", "definitions").splitlines():
        out.append(para(ctx, line, "small"))
    out.append(gap(ctx, 0.3))
    out.append(para(ctx, t("monthly", "pointer"), "small"))
    return out
