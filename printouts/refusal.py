"""不予受理 / 不予批准告知书: the decision, its reason and legal basis, and the citizen's remedies.

Who speaks is a body, never a person: the accepting body for 不予受理, the deciding body for 不予批准.
The rights sentence (行政复议 within 60 days, 行政诉讼 within six months, 行政诉讼法第四十六条) is
printed only when the item is an administrative act (its type in the catalog); a public service
(人民调解, 社保卡…) gets a plain line on where to raise a complaint. A 不予受理 for want of
jurisdiction names the body to apply to (行政许可法 §32(1)(2)). The seal line is printed only for a
body that holds a seal. A 不予受理 carries no 受理时间: the application was received, never accepted.
"""

from __future__ import annotations

from reportlab.platypus import Flowable

from .formatting import fmt_date, group_case_number
from .layout import Ctx, supersedes_note, gap, header, heading, kv_table, para
from .model import RefusalDoc
from .receipt import case_rows, closing


def build(doc: RefusalDoc, ctx: Ctx) -> list[Flowable]:
    t = ctx.texts
    case, st = doc.case, doc.case.station
    out: list[Flowable] = header(ctx, st.name, t("refusal", "title", kind=doc.kind),
                                 case.reprint_count)
    out += supersedes_note(ctx, case.supersedes)
    out.append(para(ctx, t("refusal", "intro", applicant=case.applicant_name,
                           item=case.item_name, received_at=fmt_date(case.received_at.date()),
                           authority=doc.authority, kind=doc.kind)))
    rows = [(t("common", "case_number"), group_case_number(case.case_number))]
    rows += case_rows(ctx, case)
    out.append(kv_table(ctx, rows, wide=(t("common", "item"), t("common", "deciding_body"))))
    out += heading(ctx, t("refusal", "reason_title"))
    out.append(para(ctx, doc.reason))
    if doc.apply_to:
        out.append(para(ctx, t("refusal", "apply_to", apply_to=doc.apply_to)))
    basis = doc.legal_basis or case.legal_basis
    if basis:
        out += heading(ctx, t("refusal", "basis_title"))
        out += [para(ctx, b) for b in basis]
    out.append(gap(ctx, 0.4))
    if doc.rights:
        out.append(para(ctx, t("refusal", "rights", reconsideration_body=doc.reconsideration_body,
                               court=doc.court)))
    else:
        out.append(para(ctx, t("refusal", "no_rights")))
    out.append(para(ctx, t("refusal", "help"), "small"))
    out.append(gap(ctx, 0.8))
    if doc.seal:
        out.append(para(ctx, t("refusal", "seal", authority=doc.authority), "right"))
    else:
        out.append(para(ctx, f"{t('refusal', 'body')}：{doc.authority}", "right"))
    out.append(para(ctx, f"{t('refusal', 'decided_at')}：{fmt_date(doc.decided_at.date())}", "right"))
    out += closing(ctx, case)
    return out
