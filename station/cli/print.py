"""Printing documents: `station print receipt|notice|acceptance|correction|result|refusal|application|
commitment|rating-card|inform|daily|monthly`."""

from __future__ import annotations

from datetime import date

import click

from forms.problems import StationError
from station.cli.options import Context, command, open_store, output_path, paper_format_option, parse_day


@click.group("print")
def print_group() -> None:
    """打印文书：收件回执、受理通知书、一次性告知书、补正/办结/不予告知书、申请表、承诺书、评价卡、日报。"""


def _print_command(kind: str, help_text: str) -> None:
    @command(print_group, kind.replace("_", "-"), login="handle", help=help_text)
    @click.argument("number")
    @paper_format_option
    @click.option("--large", is_flag=True, default=None, help="大字版（老年人）")
    @click.option("--out", type=click.Path(dir_okay=False), default=None, help="另存一份PDF到此文件")
    def _cmd(ctx: Context, number: str, fmt: str | None, large: bool | None, out: str | None) -> None:
        from station.printing import print_case_document

        out_file = output_path(ctx, out)
        with open_store(ctx) as store:
            result = print_case_document(store, number, kind, ctx.operator, fmt=fmt, large=large, out=out_file)
        ctx.out(result.to_dict(), f"{result.to_dict()['title']}：{result.path}\n{result.message}")


for _kind, _help in (("receipt", "收件回执（村站收件凭证）"), ("notice", "一次性告知书（缺或容缺的材料）"),
                     ("acceptance", "受理通知书（受理机关受理后）"), ("correction", "补正通知书"),
                     ("result", "办结通知书"), ("refusal", "不予受理/不予批准告知书"),
                     ("application", "申请表（按办件内容预先填好，供申请人签名或按手印）"),
                     ("commitment", "容缺受理承诺书"), ("rating_card", "办事评价卡（大字，随结果发放）")):
    _print_command(_kind, _help)


@command(print_group, "inform", login="handle", help="补打告知件的一次性告知书")
@click.argument("number")
@paper_format_option
@click.option("--large", is_flag=True, default=None, help="大字版（老年人）")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="另存一份PDF到此文件")
def print_inform_cmd(ctx: Context, number: str, fmt: str | None, large: bool | None, out: str | None) -> None:
    from station.printing import print_consultation

    out_file = output_path(ctx, out)
    with open_store(ctx) as store:
        result = print_consultation(store, number, ctx.operator, fmt=fmt, large=large, out=out_file)
    ctx.out(result.to_dict(), f"一次性告知书：{result.path}\n{result.message}")


@command(print_group, "daily", login="handle", help="本站日报")
@click.option("--date", "day", default=None, help="日期 YYYY-MM-DD（默认今天）")
@click.option("--out", type=click.Path(dir_okay=False), default=None)
def print_daily_cmd(ctx: Context, day: str | None, out: str | None) -> None:
    from station.printing import print_daily

    when = parse_day(day)
    out_file = output_path(ctx, out)
    with open_store(ctx) as store:
        result = print_daily(store, when or store.clock().date(), ctx.operator, out=out_file)
    ctx.out(result.to_dict(), f"日报：{result.path}\n{result.message}")


@command(print_group, "monthly", login="handle", help="政务服务统计月报（PDF）")
@click.option("--month", required=True, help="月份 YYYY-MM")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="另存一份PDF到此文件")
def print_monthly_cmd(ctx: Context, month: str, out: str | None) -> None:
    """打印某月的政务服务统计月报：合计、分村（含柱状图）、每日收件、分事项。"""
    from station.printing import print_monthly

    try:
        year, mon = (int(x) for x in month.split("-"))
        first = date(year, mon, 1)
    except ValueError:
        raise StationError("bad_month", f"月份格式应为 YYYY-MM，收到 {month}") from None
    out_file = output_path(ctx, out)
    with open_store(ctx) as store:
        result = print_monthly(store, first, ctx.operator, out=out_file)
    ctx.out({**result.to_dict(), "month": f"{first.year:04d}-{first.month:02d}"},
            f"{first.year}年{first.month}月统计月报：{result.path}\n{result.message}")


COMMANDS: list[click.Command] = [print_group]
