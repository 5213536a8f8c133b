"""不予受理 / 不予批准告知书: the decision, its reason, and the citizen's right to appeal.

The rights sentence names the reconsideration body (60 days, 行政复议法) and the court (six
months, 行政诉讼法第四十六条); the deciding authority signs with its seal.
"""

from __future__ import annotations

from reportlab.platypus import Flowable

from .formatting import fmt_date, group_case_number
from .layout import Ctx, gap, header, heading, kv_table, para
from .model import RefusalDoc
from .receipt import case_rows, closing


def build(doc: RefusalDoc, ctx: Ctx) -> list[Flowable]:
    t = ctx.texts
    case, st = doc.case, doc.case.station
    out: list[Flowable] = header(ctx, st.name, t("refusal", "title", kind=doc.kind),
                                 case.reprint_count)
    out.append(para(ctx, t("refusal", "intro", applicant=case.applicant_name,
                           item=case.item_name, received_at=fmt_date(case.received_at.date()),
                           authority=doc.authority, kind=doc.kind)))
    rows = [(t("common", "case_number"), group_case_number(case.case_number))]
    rows += case_rows(ctx, case)
    out.append(kv_table(ctx, rows, wide=(t("common", "item"),)))
    out += heading(ctx, t("refusal", "reason_title"))
    out.append(para(ctx, doc.reason))
    out.append(gap(ctx, 0.4))
    out.append(para(ctx, t("refusal", "rights", reconsideration_body=doc.reconsideration_body,
                           court=doc.court)))
    out.append(para(ctx, t("refusal", "help"), "small"))
    out.append(gap(ctx, 0.8))
    out.append(para(ctx, t("refusal", "seal", authority=doc.authority), "right"))
    out.append(para(ctx, f"{t('refusal', 'decided_at')}：{fmt_date(doc.decided_at.date())}　"
                         f"{t('refusal', 'decided_by')}：{doc.decided_by}", "right"))
    out += closing(ctx, case)
    return out
