"""The figures officials are judged by: `station stats`."""

from __future__ import annotations


import click

from station.cli.options import Context, command, open_store, output_path, parse_day


COMMANDS: list[click.Command] = []


@command(COMMANDS, "stats", login="any")
@click.option("--from", "date_from", default=None, help="开始日期 YYYY-MM-DD（默认本月1日）")
@click.option("--to", "date_to", default=None, help="结束日期 YYYY-MM-DD（默认今天）")
@click.option("--by", type=click.Choice(["village", "item", "operator"]), default=None)
@click.option("--export", "export_path", default=None, help="导出为 .xlsx 或 .csv")
def stats_cmd(ctx: Context, date_from: str | None, date_to: str | None, by: str | None,
              export_path: str | None) -> None:
    """统计：收件、受理、办结、按时办结率、超期、满意率、差评整改。"""
    from station.clock_check import today as station_today
    from station.stats import compute, export

    export_file = output_path(ctx, export_path, "导出文件")
    with open_store(ctx) as store:
        today = station_today(store)
        report = compute(store, parse_day(date_from, today.replace(day=1)), parse_day(date_to, today), by=by)
    data = report.to_dict()
    if export_path:
        data["export"] = str(export(report, export_file))

    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v * 100:.1f}%"

    def text() -> str:
        lines = [f"统计期间 {report.date_from} 至 {report.date_to}"]
        for g in report.groups + [report.total]:
            lines.append(f"{g.label}：收件 {g.received}，受理 {g.accepted}，办结 {g.completed}，按时办结率 {pct(g.on_time_rate)}，"
                         f"当前超期 {g.overdue_now}，满意率 {pct(g.satisfaction_rate)}，差评 {g.bad_ratings}，"
                         f"补正逾期未补 {g.correction_overdue_now}")
        if export_path:
            lines.append(f"已导出：{export_path}")
        return "\n".join(lines)

    ctx.out(data, text)
