"""受理通知书: the body that accepts (the township for township items) accepted the application.

Printed at the village when the township's acceptance arrives by sync: the village only received
(收件回执); acceptance is the accepting body's act and carries its own date. A case not told to
correct within five working days of receipt is accepted by law (行政许可法 §32): the notice says so.
"""

from __future__ import annotations

from reportlab.platypus import Flowable

from .formatting import fmt_date, fmt_due, group_case_number
from .layout import Ctx, gap, header, kv_table, para, signatures
from .model import AcceptanceDoc
from .receipt import case_rows, closing, where_now


def build(doc: AcceptanceDoc, ctx: Ctx) -> list[Flowable]:
    t = ctx.texts
    case, st = doc.case, doc.case.station
    out: list[Flowable] = header(ctx, st.name, t("acceptance", "title"), case.reprint_count)
    received = fmt_date(case.received_at.date())
    out.append(para(ctx, t("acceptance", "intro", applicant=case.applicant_name, item=case.item_name,
                           received_at=received, accepted_at=fmt_date(doc.accepted_at),
                           accepting_body=doc.accepting_body)))
    if doc.deemed:
        out.append(para(ctx, t("acceptance", "deemed", received_at=received, accepting_body=doc.accepting_body)))
    rows = [(t("common", "case_number"), group_case_number(case.case_number))]
    rows += case_rows(ctx, case)
    rows += [(t("common", "accepting_body"), doc.accepting_body),
             (t("common", "accepted_at"), fmt_date(doc.accepted_at)),
             (t("common", "promised"), fmt_due(case.promised, t, weekday=True))]
    out.append(kv_table(ctx, rows, wide=(t("common", "item"), t("common", "deciding_body"),
                                         t("common", "accepting_body"), t("common", "promised"))))
    promised = fmt_due(case.promised, t, weekday=True) if case.promised else t("receipt", "no_promise")
    out.append(para(ctx, t("acceptance", "promise", promised=promised, deciding_body=doc.deciding_body)))
    out += [para(ctx, line) for line in where_now(ctx, case)]
    if case.promised is not None and case.promised.estimate:
        out.append(para(ctx, t("common", "estimate_note"), "small"))
    out.append(para(ctx, t("acceptance", "legal"), "small"))
    out.append(gap(ctx, 0.6))
    out.append(para(ctx, t("acceptance", "seal", body=doc.accepting_body), "right"))
    out += signatures(ctx)
    out += closing(ctx, case)
    return out
