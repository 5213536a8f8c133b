"""受理回执: the dated written receipt a citizen takes home when a case is filed."""

from __future__ import annotations

from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, Table, TableStyle

from forms.identity import mask_id, mask_phone

from .formatting import fmt_date, fmt_datetime, fmt_due, group_case_number
from .layout import Ctx, gap, header, heading, kv_table, materials_block, para, signatures
from .model import HANDLING_TOWNSHIP, HANDLING_VILLAGE, CaseDoc
from .qr import QRFlowable, qr_is_link, qr_payload


def case_rows(ctx: Ctx, case: CaseDoc, with_dates: bool = True) -> list[tuple[str, str]]:
    """Item / applicant rows shared by the case documents (ID and phone masked)."""
    t = ctx.texts
    rows = [(t("common", "item"), f"{case.item_name}（{case.item_code}）"),
            (t("common", "department"), case.department)]
    if case.deciding_body:
        rows.append((t("common", "deciding_body"), case.deciding_body))
    rows += [(t("common", "applicant"), case.applicant_name),
             (t("common", "id_number"), mask_id(case.applicant_id_number))]
    if case.applicant_phone:
        rows.append((t("common", "phone"), mask_phone(case.applicant_phone)))
    if with_dates:
        rows.append((t("common", "received_at"), fmt_datetime(case.received_at)))
    return rows


def number_block(ctx: Ctx, case: CaseDoc, qr: bool = True) -> list[Flowable]:
    """Case number in large type (spaced for reading aloud), query password, QR code."""
    t = ctx.texts
    text_part: list[Flowable] = [
        para(ctx, t("common", "case_number"), "label"),
        para(ctx, group_case_number(case.case_number, two_lines=True), "number"),
        gap(ctx, 0.3),
        para(ctx, t("common", "query_password"), "label"),
        para(ctx, case.query_password, "password") if case.query_password
        else para(ctx, t("common", "password_withheld"), "center_small"),
    ]
    if case.replaces_number:
        text_part += [gap(ctx, 0.3), para(ctx, t("receipt", "renumbered", old=case.replaces_number), "label")]
    if not qr:
        return text_part
    payload = qr_payload(case.case_number, case.query_password, case.station.query_url)
    # say what the code does: opens the progress page, or only shows the number
    caption = para(ctx, t("receipt", "qr_caption" if qr_is_link(case.station.query_url) else "qr_caption_text"),
                   "center_small")
    if ctx.spec.roll:
        size = min(ctx.width * 0.62, 48 * 2.835)
        code = QRFlowable(payload, size)
        code.hAlign = "CENTER"
        return [*text_part, gap(ctx, 0.3), code, caption]
    size = 40 * 2.835 if ctx.large else 30 * 2.835  # 40 / 30 mm
    caption_w = stringWidth(caption._plain, ctx.font, ctx.styles["center_small"].fontSize) + 2  # one line
    right_w = max(size + 8, caption_w)
    left_w = ctx.width - right_w
    t_ = Table([[text_part, [QRFlowable(payload, size), caption]]],
               colWidths=[left_w, right_w], hAlign="LEFT")
    t_.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                            ("LEFTPADDING", (0, 0), (-1, -1), 0),
                            ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    return [t_]


def next_steps(ctx: Ctx, case: CaseDoc) -> str:
    t = ctx.texts
    key = {HANDLING_VILLAGE: "next_village", HANDLING_TOWNSHIP: "next_township"}.get(
        case.handling_level, "next_default")
    promised = (fmt_due(case.promised, t, weekday=True) if case.promised
                else t("receipt", "no_promise"))
    deciding = case.deciding_body or case.department
    values = dict(station_phone=case.station.phone, promised=promised, agent=case.agent_name)
    if key == "next_village":
        values["deciding_body"] = deciding
    elif key == "next_township":
        handover = fmt_due(case.handover_due, t, weekday=True) if case.handover_due else "3个工作日内"
        values.update(deciding_body=deciding, accepting_body=case.accepting_body or "乡（镇）人民政府",
                      handover=handover)
    text = t("receipt", key, **values)
    return text + t("receipt", "scan_to_query") if qr_is_link(case.station.query_url) else text


def where_now(ctx: Ctx, case: CaseDoc) -> list[str]:
    """Where the case is now (转报, 公示), for the citizen's paper."""
    t = ctx.texts
    lines = []
    if case.posting:
        start, end, days = case.posting
        lines.append(t("common", "posting", start=fmt_date(start), end=fmt_date(end), days=days))
    if case.forwarded_to:
        lines.append(t("common", "forwarded", body=case.forwarded_to,
                       due=fmt_due(case.forward_due, t) if case.forward_due else "规定期限"))
    return lines


def build(case: CaseDoc, ctx: Ctx) -> list[Flowable]:
    t = ctx.texts
    out: list[Flowable] = header(ctx, case.station.name, t("receipt", "title"),
                                 case.reprint_count)
    out += number_block(ctx, case)
    out.append(gap(ctx, 0.4))
    # what the citizen still has to bring comes first, on the first sheet (large print included)
    received = [m for m in case.materials if m.status == "received"]
    to_bring = [m for m in case.materials if m.status != "received"]
    if to_bring:
        out += heading(ctx, t("receipt", "materials_to_bring"))
        out += materials_block(ctx, to_bring)
        out.append(gap(ctx, 0.4))
    rows = case_rows(ctx, case)
    rows.append((t("common", "agent"), case.agent_name))
    if case.statutory:
        rows.append((t("common", "statutory"), fmt_due(case.statutory, t)))
    rows += [(t("common", "status"), case.status_label),
             (t("common", "promised"), fmt_due(case.promised, t, weekday=True))]
    out.append(kv_table(ctx, rows, wide=(t("common", "item"), t("common", "promised"))))

    out += heading(ctx, t("receipt", "next_title"))
    out.append(para(ctx, next_steps(ctx, case)))
    now = where_now(ctx, case)
    if now:
        out += heading(ctx, t("common", "where_now"))
        out += [para(ctx, line) for line in now]
    if any(d is not None and d.estimate for d in (case.promised, case.statutory)):
        out.append(para(ctx, t("common", "estimate_note"), "small"))

    out += heading(ctx, t("receipt", "materials_received"))
    out += materials_block(ctx, received, show_status=False)

    out.append(gap(ctx, 0.4))
    out.append(para(ctx, t("receipt", "keep"), "small"))
    out += signatures(ctx)
    out += closing(ctx, case)
    return out


def closing(ctx: Ctx, case: CaseDoc) -> list[Flowable]:
    """Station name, phone and address at the end (A4 already has name and phone in the footer)."""
    st = case.station
    if ctx.spec.roll:
        return [gap(ctx, 0.5), para(ctx, ctx.texts("common", "footer", station_name=st.name,
                                                    station_phone=st.phone), "small"),
                para(ctx, st.address, "small")]
    return [para(ctx, f"{st.name}　{st.address}", "small")]
