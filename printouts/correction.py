"""补正材料通知书: what the reviewer asks to be corrected, all at once, and by when."""

from __future__ import annotations

from reportlab.platypus import Flowable

from .formatting import fmt_datetime, fmt_due, group_case_number
from .layout import Ctx, supersedes_note, gap, header, heading, kv_table, materials_block, para, signatures
from .model import CorrectionDoc
from .receipt import case_rows, closing


def build(doc: CorrectionDoc, ctx: Ctx) -> list[Flowable]:
    t = ctx.texts
    case, st = doc.case, doc.case.station
    out: list[Flowable] = header(ctx, st.name, t("correction", "title"), case.reprint_count)
    out += supersedes_note(ctx, case.supersedes)
    out.append(para(ctx, t("correction", "intro", applicant=case.applicant_name,
                           item=case.item_name, body=doc.reviewer,
                           requested_at=fmt_datetime(doc.requested_at))))
    rows = [(t("common", "case_number"), group_case_number(case.case_number))]
    rows += case_rows(ctx, case)
    out.append(kv_table(ctx, rows, wide=(t("common", "item"),)))
    out += heading(ctx, t("correction", "reason_title"))
    out.append(para(ctx, doc.reason))
    out += heading(ctx, t("correction", "materials_title"))
    out += materials_block(ctx, doc.materials)
    out.append(gap(ctx, 0.4))
    out.append(para(ctx, t("correction", "due", due=fmt_due(doc.due, t, weekday=True),
                           station_name=st.name, station_address=st.address,
                           station_phone=st.phone)))
    if doc.due.estimate:
        out.append(para(ctx, t("common", "estimate_note"), "small"))
    out.append(para(ctx, t("correction", "legal"), "small"))
    out += signatures(ctx)
    out += closing(ctx, case)
    return out
