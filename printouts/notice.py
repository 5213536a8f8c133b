"""一次性告知书: every material the item needs, which are still missing, where and by when.

Administrative Licensing Law art. 32: everything to correct is told at once, in writing.
"""

from __future__ import annotations

from reportlab.platypus import Flowable

from .layout import Ctx, gap, header, heading, kv_table, materials_block, para, signatures
from .model import CaseDoc
from .receipt import case_rows, closing
from .formatting import group_case_number


def build(case: CaseDoc, ctx: Ctx) -> list[Flowable]:
    t = ctx.texts
    st = case.station
    out: list[Flowable] = header(ctx, st.name, t("notice", "title"), case.reprint_count)
    out.append(para(ctx, t("notice", "intro", applicant=case.applicant_name,
                           item=case.item_name)))
    rows = [(t("common", "case_number"), group_case_number(case.case_number))]
    rows += case_rows(ctx, case)
    out.append(kv_table(ctx, rows, wide=(t("common", "item"),)))
    out += heading(ctx, t("notice", "materials_title"))
    out += materials_block(ctx, case.materials)
    out += heading(ctx, t("notice", "where_title"))
    if any(m.status != "received" for m in case.materials):
        out.append(para(ctx, t("notice", "where", station_name=st.name,
                               station_address=st.address, station_phone=st.phone)))
    else:
        out.append(para(ctx, t("notice", "all_received")))
    out.append(gap(ctx, 0.3))
    out.append(para(ctx, t("notice", "legal"), "small"))
    out += signatures(ctx)
    out += closing(ctx, case)
    return out
