"""一次性告知书 of a 告知件: the application could not be taken today; everything it lacks, at once.

行政许可法 §32: materials incomplete or not in the legal form are told all at once, in writing; an
application outside the station's remit names where to apply. The paper has its own number (no case
number: nothing was received), by which the citizen's return turns it into a case in one step.
"""

from __future__ import annotations

from reportlab.platypus import Flowable

from forms.identity import mask_id

from .formatting import fmt_datetime
from .layout import Ctx, data_table, gap, header, heading, kv_table, para, signatures
from .model import InformDoc, MaterialLine


def _status(ctx: Ctx, m: MaterialLine) -> str:
    t = ctx.texts
    if m.status == "received":
        return t("inform", "status_brought")
    return t("inform", "status_waivable") if m.status == "waived" else t("inform", "status_missing")


def _materials(ctx: Ctx, materials: list[MaterialLine]) -> list[Flowable]:
    t = ctx.texts
    if ctx.spec.roll:
        out = []
        for i, m in enumerate(materials, 1):
            out.append(para(ctx, f"{i}. {m.name}（{m.form_text}，{t('common', 'copies', copies=m.copies)}）"
                                 f"\n→ {_status(ctx, m)}"))
        return out
    head = [t("common", k) for k in ("material_no", "material_name", "material_form", "material_copies",
                                     "material_status")]
    rows = [[str(i), m.name + ("" if m.required else t("common", "optional")), m.form_text,
             t("common", "copies", copies=m.copies), _status(ctx, m)] for i, m in enumerate(materials, 1)]
    return [data_table(ctx, head, rows, (0.07, 0.34, 0.24, 0.08, 0.27))]


def build(doc: InformDoc, ctx: Ctx) -> list[Flowable]:
    t = ctx.texts
    st = doc.station
    out: list[Flowable] = header(ctx, st.name, t("inform", "title"), doc.reprint_count)
    out.append(para(ctx, t("inform", "intro", applicant=doc.applicant_name, item=doc.item_name)))
    rows = [(t("inform", "number"), doc.number),
            (t("common", "item"), f"{doc.item_name}（{doc.item_code}）"),
            (t("common", "applicant"), doc.applicant_name)]
    if doc.applicant_id_number:
        rows.append((t("common", "id_number"), mask_id(doc.applicant_id_number)))
    rows += [(t("common", "accepting_body"), doc.accepting_body),
             (t("common", "deciding_body"), doc.deciding_body),
             (t("inform", "made_at"), fmt_datetime(doc.made_at)),
             (t("common", "agent"), doc.agent_name)]
    out.append(kv_table(ctx, rows, wide=(t("common", "item"), t("common", "accepting_body"),
                                         t("common", "deciding_body"))))
    if doc.apply_to:
        out.append(gap(ctx, 0.3))
        out.append(para(ctx, t("inform", "jurisdiction", apply_to=doc.apply_to)))
    out += heading(ctx, t("inform", "materials_title"))
    out += _materials(ctx, doc.materials)
    out += heading(ctx, t("inform", "unmet_title"))
    if doc.unmet:
        out += [para(ctx, f"{i}. {u.text}") for i, u in enumerate(doc.unmet, 1)]
    else:
        out.append(para(ctx, t("inform", "none_unmet")))
    if doc.legal_basis:
        out += heading(ctx, t("common", "legal_basis"))
        out += [para(ctx, b, "small") for b in doc.legal_basis]
    out += heading(ctx, t("inform", "where_title"))
    out.append(para(ctx, t("inform", "where", station_name=st.name, station_address=st.address,
                           station_phone=st.phone, number=doc.number)))
    out.append(para(ctx, t("inform", "promise")))
    out.append(gap(ctx, 0.3))
    out.append(para(ctx, t("inform", "legal"), "small"))
    out += signatures(ctx)
    return out
