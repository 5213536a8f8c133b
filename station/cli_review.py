"""Review and statistics commands: `station review list|decide|duplicates|mark`, `station stats`,
`station print monthly`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from station.cli_support import Context, command
from station.cli_commands import print_group
from station.problems import StationError

COMMANDS: list[click.Command] = []  # attached to the root group by station/cli.py


def _open(ctx: Context):
    from station.store import Store

    return Store.open(ctx.home)


@click.group("review")
def review_group() -> None:
    """审核：待办队列与审核决定。"""


@command(review_group, "list")
@click.option("--status", default=None, help="new / correction / near_due / overdue / duplicates / followups 或办件状态")
@click.option("--village", default=None, help="只看某村（12位区划代码）")
@click.option("--item", default=None, help="只看某事项编码")
def review_list(ctx: Context, status: str | None, village: str | None, item: str | None) -> None:
    """审核队列。"""
    from station.review import review_queue

    with _open(ctx) as store:
        cases = review_queue(store, status=status, village=village, item=item)
    ctx.out({"cases": [c.summary_dict() for c in cases], "count": len(cases)},
            lambda: "\n".join(f"{c.number}  {c.applicant_name}  {c.item_name}  {c.status_label}  到期 {c.promised_due or '—'}"
                              f"{'【超期】' if c.overdue else ''}" for c in cases) or "队列为空")


@command(review_group, "decide")
@click.argument("number")
@click.option("--action", type=click.Choice(["accept", "refuse", "correct", "approve", "reject", "forward"]), required=True)
@click.option("--reason", default="", help="理由（不予受理、补正、不予批准时必填）")
@click.option("--materials", default="", help="要求补正的材料编码，逗号分隔")
@click.option("--certificate", default="", help="证书/批准文书编号")
@click.option("--to", "to", default="", help="转报的部门")
@click.option("--due", default=None, help="补正期限 YYYY-MM-DD（默认10个工作日）")
@click.option("--operator", default=None)
def review_decide(ctx: Context, number: str, action: str, reason: str, materials: str, certificate: str, to: str,
                  due: str | None, operator: str | None) -> None:
    """作出审核决定。"""
    from station.operators import resolve_cli_operator
    from station.review import ACTION_LABELS, Decision, decide

    try:
        due_date = date.fromisoformat(due) if due else None
    except ValueError:
        raise StationError("bad_date", f"日期格式应为 YYYY-MM-DD，收到 {due}") from None
    decision = Decision(action=action, reason=reason, certificate=certificate, to=to, due_date=due_date,
                        materials=tuple(k.strip() for k in materials.split(",") if k.strip()))
    with _open(ctx) as store:
        case = decide(store, number, decision, resolve_cli_operator(store, operator))
    ctx.out({**case.summary_dict(), "decision": case.decision},
            f"已{ACTION_LABELS[action]}：{case.number}（{case.status_label}）")


@command(review_group, "duplicates")
def review_duplicates(ctx: Context) -> None:
    """同一申请人、同一事项的疑似重复件。"""
    from station.review import find_duplicates

    with _open(ctx) as store:
        pairs = find_duplicates(store)
    ctx.out({"pairs": [list(p) for p in pairs]}, lambda: "\n".join(f"{a}  ⇄  {b}" for a, b in pairs) or "没有疑似重复件")


@command(review_group, "mark")
@click.argument("number")
@click.option("--other", required=True, help="另一件的办件编号")
@click.option("--duplicate/--not-duplicate", required=True)
@click.option("--operator", default=None)
def review_mark(ctx: Context, number: str, other: str, duplicate: bool, operator: str | None) -> None:
    """标记疑似重复件：是重复 / 不是重复。"""
    from station.operators import resolve_cli_operator
    from station.review import mark_duplicate

    with _open(ctx) as store:
        case = mark_duplicate(store, number, other, duplicate, resolve_cli_operator(store, operator))
    ctx.out(case.summary_dict(), f"已标记：{number} {'与' if duplicate else '不与'} {other} 重复")


@command(COMMANDS, "stats")
@click.option("--from", "date_from", default=None, help="开始日期 YYYY-MM-DD（默认本月1日）")
@click.option("--to", "date_to", default=None, help="结束日期 YYYY-MM-DD（默认今天）")
@click.option("--by", type=click.Choice(["village", "item", "operator"]), default=None)
@click.option("--export", "export_path", default=None, help="导出为 .xlsx 或 .csv")
def stats_cmd(ctx: Context, date_from: str | None, date_to: str | None, by: str | None,
              export_path: str | None) -> None:
    """统计：收件、受理、办结、按时办结率、超期、满意率、差评整改。"""
    from station.stats import compute, export

    def parse(value: str | None, default: date) -> date:
        try:
            return date.fromisoformat(value) if value else default
        except ValueError:
            raise StationError("bad_date", f"日期格式应为 YYYY-MM-DD，收到 {value}") from None

    with _open(ctx) as store:
        today = store.clock().date()
        report = compute(store, parse(date_from, today.replace(day=1)), parse(date_to, today), by=by)
    data = report.to_dict()
    if export_path:
        data["export"] = str(export(report, Path(export_path)))

    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v * 100:.1f}%"

    def text() -> str:
        lines = [f"统计期间 {report.date_from} 至 {report.date_to}"]
        for g in report.groups + [report.total]:
            lines.append(f"{g.label}：收件 {g.received}，受理 {g.accepted}，办结 {g.completed}，按时办结率 {pct(g.on_time_rate)}，"
                         f"当前超期 {g.overdue_now}，满意率 {pct(g.satisfaction_rate)}，差评 {g.bad_ratings}")
        if export_path:
            lines.append(f"已导出：{export_path}")
        return "\n".join(lines)

    ctx.out(data, text)


@command(print_group, "monthly", help="政务服务统计月报（PDF）")
@click.option("--month", required=True, help="月份 YYYY-MM")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="另存一份PDF到此文件")
@click.option("--operator", default=None)
def print_monthly_cmd(ctx: Context, month: str, out: str | None, operator: str | None) -> None:
    """打印某月的政务服务统计月报：合计、分村（含柱状图）、每日收件、分事项。"""
    from station.operators import resolve_cli_operator
    from station.printing import print_monthly

    try:
        year, mon = (int(x) for x in month.split("-"))
        first = date(year, mon, 1)
    except ValueError:
        raise StationError("bad_month", f"月份格式应为 YYYY-MM，收到 {month}") from None
    with _open(ctx) as store:
        result = print_monthly(store, first, resolve_cli_operator(store, operator), out=Path(out) if out else None)
    ctx.out({**result.to_dict(), "month": f"{first.year:04d}-{first.month:02d}"},
            f"{first.year}年{first.month}月统计月报：{result.path}\n{result.message}")


COMMANDS += [review_group]
