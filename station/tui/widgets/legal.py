"""Where a case stands in law, as rows for the case and review screens (one home for both)."""

from __future__ import annotations

from rich.text import Text

from station.cases import CaseRecord


def legal_rows(c: CaseRecord) -> list[tuple[str, Text]]:
    """Where the case is in law: deemed acceptance, paused days, hand-over, forwarding, 公示."""
    g = c.legal
    rows: list[tuple[str, Text]] = []
    if g.deciding_body:
        rows.append(("决定机关", Text(g.deciding_body)))
    if g.deemed_accepted:
        rows.append(("视为受理", Text(f"收件后5个工作日（至{g.correction_deadline}）内未告知补正", style="yellow")))
    if g.paused_days:
        rows.append(("暂停计时", Text(f"{g.paused_days}个工作日（补正、公示），到期日已顺延")))
    if g.handover_due:
        text = Text(f"已于{g.handed_over_at}移交" if g.handed_over_at else f"期限 {g.handover_due}")
        if g.handover_overdue:
            text.append("  移交超期", style="bold red")
        rows.append(("移交乡镇", text))
    if g.forwarded_to:
        text = Text(f"{g.forwarded_to}（{g.forwarded_at}；该机关期限 {g.forward_due}"
                    f"{'（估算）' if g.forward_estimate else ''}）")
        if g.forward_overdue:
            text.append("  转报超期", style="bold red")
        rows.append(("已转报", text))
    if g.posting_start:
        rows.append(("公示", Text(f"{g.posting_start} 至 {g.posting_end}（{g.posting_days}天）")))
    return rows
