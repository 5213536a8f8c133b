"""The store itself: `station db rebuild|check`."""

from __future__ import annotations

import sys

import click

from station.cli.options import EXIT_CHECK_FAILED, Context, command, open_store


@click.group("db")
def db_group() -> None:
    """数据库：重建、校验。"""


@command(db_group, "rebuild", login="admin", action="重建数据表")
def db_rebuild(ctx: Context) -> None:
    """从事件日志重建全部数据表。"""
    import time

    from station.audit import rebuild

    with open_store(ctx) as store:
        start = time.perf_counter()
        count = rebuild(store)
        seconds = time.perf_counter() - start
    ctx.out({"events": count, "seconds": round(seconds, 3)}, f"已从 {count} 条事件重建数据表（{seconds:.1f} 秒）")


@command(db_group, "check", login="admin", action="校验数据库")
def db_check(ctx: Context) -> None:
    """校验事件日志：序号缺失、审计链、数据表与日志是否一致。"""
    from station.audit import check

    with open_store(ctx) as store:
        report = check(store)
    if ctx.as_json:
        ctx.out(report.to_dict(), "")
    elif report.ok:
        click.echo(f"校验通过：{report.events} 条事件，审计链完整，数据表与日志一致")
    else:
        click.echo(f"校验发现 {len(report.problems)} 个问题：", err=True)
        for p in report.problems:
            click.echo(f"  - {p['message']}", err=True)
    if not report.ok:
        sys.exit(EXIT_CHECK_FAILED)


COMMANDS: list[click.Command] = [db_group]
