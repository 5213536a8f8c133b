"""办结通知书: the case is finished; the result and where and how to collect it."""

from __future__ import annotations

from reportlab.platypus import Flowable

from .formatting import fmt_date, group_case_number
from .layout import Ctx, supersedes_note, gap, header, kv_table, para, signatures
from .model import ResultDoc
from .receipt import case_rows, closing


def build(doc: ResultDoc, ctx: Ctx) -> list[Flowable]:
    t = ctx.texts
    case, st = doc.case, doc.case.station
    out: list[Flowable] = header(ctx, st.name, t("result", "title"), case.reprint_count)
    out += supersedes_note(ctx, case.supersedes)
    out.append(para(ctx, t("result", "intro", applicant=case.applicant_name, item=case.item_name,
                           received_at=fmt_date(case.received_at.date()),
                           decided_at=fmt_date(doc.decided_at.date()))))
    rows = [(t("common", "case_number"), group_case_number(case.case_number))]
    rows += case_rows(ctx, case)
    rows.append((t("result", "result"), doc.result))
    if doc.certificate_no:
        rows.append((t("result", "certificate_no"), doc.certificate_no))
    rows += [(t("result", "decided_by"), f"{doc.decided_by}（{fmt_date(doc.decided_at.date())}）"),
             (t("result", "collect_where"), doc.collect_where),
             (t("result", "collect_how"), doc.collect_how)]
    wide = tuple(t(s, k) for s, k in (("common", "item"), ("result", "result"),
                                      ("result", "collect_where"), ("result", "collect_how"),
                                      ("result", "decided_by")))
    out.append(kv_table(ctx, rows, wide=wide + (t("common", "deciding_body"),)))
    if case.posting:
        start, end, days = case.posting
        out.append(para(ctx, t("result", "posted", start=fmt_date(start), end=fmt_date(end), days=days)))
    out.append(gap(ctx, 0.4))
    out.append(para(ctx, t("result", "bring")))
    out += signatures(ctx)
    out += closing(ctx, case)
    return out
