"""服务站日报 (A4): today's cases by item, the sync backlog, near-due and overdue cases."""

from __future__ import annotations

from datetime import date
from typing import Sequence

from reportlab.platypus import Flowable

from .formatting import fmt_date, fmt_due, group_case_number
from .layout import Ctx, data_table, gap, header, heading, para
from .model import DailyReport, DueInfo, DueRow


def _due_table(ctx: Ctx, rows: Sequence[DueRow]) -> list[Flowable]:
    t = ctx.texts
    if not rows:
        return [para(ctx, t("daily", "none"))]
    head = [t("common", "case_number"), t("common", "item"), t("common", "applicant"),
            t("daily", "due")]
    body = [[group_case_number(case_no), item, name, fmt_due(due, t) if isinstance(due, (DueInfo, date)) else str(due)]
            for case_no, item, name, due in rows]
    return [data_table(ctx, head, body, (0.34, 0.3, 0.14, 0.22))]


def build(rep: DailyReport, ctx: Ctx) -> list[Flowable]:
    t = ctx.texts
    out: list[Flowable] = header(ctx, rep.station.name, t("daily", "title"), rep.reprint_count)
    out.append(para(ctx, t("daily", "day", day=fmt_date(rep.day)), "center_small"))
    out += heading(ctx, t("daily", "by_item_title"))
    rows = [[name, str(n)] for name, n in rep.received_by_item]
    rows.append([t("daily", "total"), str(sum(n for _, n in rep.received_by_item))])
    out.append(data_table(ctx, [t("daily", "item"), t("daily", "count")], rows, (0.8, 0.2)))
    out.append(gap(ctx, 0.5))
    out.append(para(ctx, t("daily", "pending_sync", n=rep.pending_sync_events)
                    if rep.pending_sync_events else t("daily", "pending_sync_zero")))
    out += heading(ctx, t("daily", "near_due_title") + f"（{len(rep.near_due)}）")
    out += _due_table(ctx, rep.near_due)
    out += heading(ctx, t("daily", "overdue_title") + f"（{len(rep.overdue)}）")
    out += _due_table(ctx, rep.overdue)
    return out
