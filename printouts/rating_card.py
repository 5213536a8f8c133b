"""办事评价卡 (好差评, 国办发〔2019〕51号): large type, five boxes to tick, a QR to rate by phone.

Handed out with the result; the citizen gives it to another operator, a box, or the township, so the
agent being rated never types the rating. Always printed in large type, whatever the station's
default, because it is meant for elderly citizens.
"""

from __future__ import annotations

from reportlab.lib import colors
from reportlab.platypus import Flowable, Table, TableStyle

from .formatting import group_case_number
from .layout import Ctx, gap, header, kv_table, para
from .model import RatingCardDoc
from .qr import QRFlowable


def build(doc: RatingCardDoc, ctx: Ctx) -> list[Flowable]:
    t = ctx.texts
    case, st = doc.case, doc.case.station
    out: list[Flowable] = header(ctx, st.name, t("rating_card", "title"), case.reprint_count)
    out.append(kv_table(ctx, [(t("common", "case_number"), group_case_number(case.case_number)),
                              (t("common", "item"), case.item_name)], wide=(t("common", "item"),)))
    out.append(gap(ctx, 0.3))
    out.append(para(ctx, t("rating_card", "intro", item=case.item_name)))
    size = ctx.styles["heading"].fontSize
    labels = t("rating_card", "levels").split("|")
    # five real boxes (drawn squares, not a glyph that shrinks with the font), one per level
    rows: list[list[object]] = []
    for label in labels:
        rows += [["", para(ctx, label, "heading")], ["", ""]]
    box = size * 1.5
    grid = Table(rows[:-1], colWidths=[box, ctx.width - box], rowHeights=[box, size * 0.5] * (len(labels) - 1) + [box],
                 hAlign="LEFT")
    style = [("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (1, 0), (1, -1), size * 0.8)]
    style += [("BOX", (0, 2 * i), (0, 2 * i), 1.5, colors.black) for i in range(len(labels))]
    grid.setStyle(TableStyle(style))
    out.append(grid)
    out.append(gap(ctx, 0.3))
    out.append(para(ctx, t("rating_card", "detail")))
    out.append(para(ctx, "＿" * (10 if ctx.spec.roll else 22)))
    out.append(para(ctx, "＿" * (10 if ctx.spec.roll else 22)))
    if doc.rating_url:   # a QR only where it opens a rating page: a card's text-only code would rate nothing
        qr_size = min(ctx.width * 0.5, 40 * 2.835)
        code = QRFlowable(doc.rating_url, qr_size)
        code.hAlign = "CENTER"
        out += [gap(ctx, 0.3), code, para(ctx, t("rating_card", "qr_caption"), "center_small")]
    out.append(para(ctx, t("rating_card", "independent"), "small"))
    out.append(para(ctx, t("rating_card", "thanks"), "center_small"))
    return out
