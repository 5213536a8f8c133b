"""Creating station homes: `station init`, `station demo`."""

from __future__ import annotations

import click

from station.cli.options import Context, command


COMMANDS: list[click.Command] = []


@command(COMMANDS, "init")
@click.option("--division-code", required=True, help="12位统计用区划代码（乡镇以000结尾）")
@click.option("--name", required=True, help="站点名称")
@click.option("--role", type=click.Choice(["village", "township"]), default="village", show_default=True)
def init_cmd(ctx: Context, division_code: str, name: str, role: str) -> None:
    """创建一个新的服务站目录（不会覆盖已有站点）。"""
    from station.setup import init_station

    config = init_station(ctx.home, division_code, name, role)
    ctx.out({"home": str(ctx.home), "station_id": config.station_id, "name": config.name, "role": config.role},
            f"已创建{'乡镇中心' if role == 'township' else '村服务站'}「{config.name}」（{config.station_id}）：{ctx.home}")


@command(COMMANDS, "demo")
@click.option("--cases", "case_count", default=40, show_default=True, help="示例办件数量")
def demo_cmd(ctx: Context, case_count: int) -> None:
    """创建一个带示例数据的演示站点，不需要服务器。"""
    from station.demo import create_demo

    info = create_demo(ctx.home, case_count)
    ctx.out(info, lambda: (f"演示站点已创建：{ctx.home}\n"
                           f"站点：{info['name']}（{info['station_id']}），示例办件 {info['cases']} 件\n"
                           f"操作员：{_operator_lines(info['operators'])}"))


def _operator_lines(operators: list[dict[str, str]]) -> str:
    return "，".join(f"{o['name']}（{o['role']}，密码 {o['password']}）" for o in operators)
