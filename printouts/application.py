"""申请表 pre-filled from the case: the applicant checks it and signs or puts a thumbprint.

It goes with the file to the accepting body, so the ID number is printed in full (the body needs it;
the archived copy stays under the station's protection like the rest of the file).
"""

from __future__ import annotations

from reportlab.platypus import Flowable

from .formatting import fmt_date, fmt_datetime, group_case_number
from .layout import Ctx, gap, header, heading, kv_table, materials_block, para
from .model import ApplicationDoc


def build(doc: ApplicationDoc, ctx: Ctx) -> list[Flowable]:
    t = ctx.texts
    case, st = doc.case, doc.case.station
    out: list[Flowable] = header(ctx, st.name, t("application", "title", item=case.item_name),
                                 case.reprint_count)
    out.append(para(ctx, t("application", "intro"), "small"))
    out.append(kv_table(ctx, [(t("common", "case_number"), group_case_number(case.case_number)),
                              (t("common", "received_at"), fmt_datetime(case.received_at)),
                              (t("common", "accepting_body"), case.accepting_body or "—"),
                              (t("common", "deciding_body"), case.deciding_body or "—")],
                        wide=(t("common", "accepting_body"), t("common", "deciding_body"))))
    out += heading(ctx, t("application", "applicant_title"))
    rows = [(t("common", "applicant"), case.applicant_name),
            (t("application", "sex"), doc.sex or "—"),
            (t("application", "birth_date"), fmt_date(doc.birth_date) if doc.birth_date else "—"),
            (t("common", "id_number"), case.applicant_id_number),
            (t("common", "phone"), case.applicant_phone or "—"),
            (t("application", "address"), doc.applicant_address or "—")]
    if doc.relationship:
        rows.append((t("application", "relationship"), doc.relationship))
    out.append(kv_table(ctx, rows, wide=(t("application", "address"), t("common", "id_number"))))
    out += heading(ctx, t("application", "fields_title"))
    out.append(kv_table(ctx, doc.fields or [(t("common", "none"), "")],
                        wide=tuple(label for label, value in doc.fields if len(value) > 12)))
    out += heading(ctx, t("application", "materials_title"))
    out += materials_block(ctx, [m for m in case.materials if m.status == "received"], show_status=False)
    out.append(gap(ctx, 0.5))
    out.append(para(ctx, t("application", "declaration")))
    out.append(gap(ctx, 1.0))
    blank = "＿" * (8 if ctx.spec.roll else 12)
    out.append(para(ctx, t("application", "sign") + blank))
    out.append(para(ctx, t("common", "sign_date") + blank))
    return out
