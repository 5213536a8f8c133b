"""Creating station homes: `station init`, `station demo`."""

from __future__ import annotations

import click

from station.cli.options import Context, command


COMMANDS: list[click.Command] = []


@command(COMMANDS, "init")
@click.option("--division-code", required=True, help="12位统计用区划代码（乡镇以000结尾）")
@click.option("--name", required=True, help="站点名称")
@click.option("--role", type=click.Choice(["village", "township"]), default="village", show_default=True)
@click.option("--device", default=1, show_default=True, type=int, metavar="N",
              help="本服务点的第几台电脑（1–9；同一服务点的每台电脑编号不同）")
@click.option("--admin", default=None, metavar="姓名", help="同时创建第一位管理员（不填则首次打开操作界面时创建）")
@click.option("--password-stdin", "password_stdin", is_flag=True, help="从标准输入读取管理员密码")
def init_cmd(ctx: Context, division_code: str, name: str, role: str, device: int, admin: str | None) -> None:
    """创建一个新的服务站目录（服务点的一台电脑；不会覆盖已有站点）。"""
    from station.setup import init_station

    first_admin = (admin, ctx.new_password("管理员密码")) if admin else None
    config = init_station(ctx.home, division_code, name, role, admin=first_admin, device=device)
    kind = "乡镇中心" if role == "township" else "村服务站"
    ctx.out({"home": str(ctx.home), "station_id": config.device_id, "division_code": config.division_code,
             "device": config.device, "name": config.name, "role": config.role, "admin": admin},
            f"已创建{kind}「{config.name}」（{config.division_code}，{config.device}号机，站点标识 {config.device_id}）："
            f"{ctx.home}"
            + (f"\n管理员：{admin}" if admin else "\n还没有操作员：首次打开操作界面（station）时创建管理员，"
                                                  "或运行 station operator add --name 姓名 --role admin"))


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
