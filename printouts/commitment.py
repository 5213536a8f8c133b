"""容缺受理承诺书: which materials were accepted without, the date each is due, what if it is missed."""

from __future__ import annotations

from reportlab.platypus import Flowable

from .formatting import fmt_date, group_case_number
from .layout import Ctx, data_table, gap, header, heading, kv_table, para
from .model import CommitmentDoc


def build(doc: CommitmentDoc, ctx: Ctx) -> list[Flowable]:
    t = ctx.texts
    case, st = doc.case, doc.case.station
    body = case.accepting_body or case.deciding_body or "受理机关"
    out: list[Flowable] = header(ctx, st.name, t("commitment", "title"), case.reprint_count)
    out.append(kv_table(ctx, [(t("common", "case_number"), group_case_number(case.case_number)),
                              (t("common", "item"), f"{case.item_name}（{case.item_code}）")],
                        wide=(t("common", "item"),)))
    out.append(gap(ctx, 0.3))
    out.append(para(ctx, t("commitment", "intro", applicant=case.applicant_name, item=case.item_name,
                           accepting_body=body)))
    out += heading(ctx, t("commitment", "materials_title"))
    head = [t("common", "material_no"), t("common", "material_name"), t("common", "material_form"),
            t("common", "material_copies"), t("common", "sign_date").rstrip("：")]
    rows = [[str(i), m.name, m.form_text, t("common", "copies", copies=m.copies),
             fmt_date(m.due_date) if m.due_date else "—"] for i, m in enumerate(doc.materials, 1)]
    if ctx.spec.roll:
        out += [para(ctx, f"{r[0]}. {r[1]}（{r[2]}），{r[4]}前补交") for r in rows]
    else:
        out.append(data_table(ctx, head, rows, (0.07, 0.38, 0.25, 0.08, 0.22)))
    out.append(gap(ctx, 0.4))
    out.append(para(ctx, t("commitment", "consequence", accepting_body=body)))
    out.append(gap(ctx, 1.0))
    blank = "＿" * (8 if ctx.spec.roll else 12)
    out.append(para(ctx, t("commitment", "sign", signer=doc.signer) + blank))
    out.append(para(ctx, t("common", "sign_agent") + blank))
    out.append(para(ctx, t("common", "sign_date") + blank))
    return out
