"""Creating station homes: `station init`, `station demo`."""

from __future__ import annotations

import click

from station.cli.options import Context, command


COMMANDS: list[click.Command] = []


@command(COMMANDS, "init")
@click.option("--division-code", required=True, help="12位统计用区划代码（乡镇以000结尾）")
@click.option("--name", required=True, help="站点名称")
@click.option("--role", type=click.Choice(["village", "township"]), default="village", show_default=True)
@click.option("--device", default=1, show_default=True, type=int, metavar="编号",
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


def _passphrase(ctx: Context, stdin: bool, confirm: bool) -> str:
    """The backup passphrase: the next line of standard input with --passphrase-stdin (after the login
    password when that is read from stdin too), else asked on the terminal."""
    import sys

    from forms.problems import Problem, StationError

    if stdin:
        line = sys.stdin.readline()
        if not line:
            raise StationError("passphrase_required", "标准输入中没有备份口令（--passphrase-stdin）",
                               [Problem("passphrase", "missing", "缺少备份口令")])
        return line.rstrip("\r\n")
    if sys.stdin.isatty():
        return click.prompt("备份口令", hide_input=True, confirmation_prompt=confirm, err=True)
    raise StationError("passphrase_required", "需要备份口令：在终端中运行时会提示输入；脚本中请用 --passphrase-stdin",
                       [Problem("passphrase", "missing", "缺少备份口令")])


@command(COMMANDS, "backup", login="handle", action="备份本站数据")
@click.option("--to", "to", required=True, metavar="PATH", help="备份文件，或U盘上的文件夹（自动按站点和时间命名）")
@click.option("--passphrase-stdin", "passphrase_stdin", is_flag=True,
              help="从标准输入读取备份口令（与 --password-stdin 同用时：先登录密码，再口令）")
def backup_cmd(ctx: Context, to: str, passphrase_stdin: bool) -> None:
    """把本站数据（数据库与密钥）加密备份到一个文件；站点运行时也可以备份。"""
    from pathlib import Path

    from station.backup import backup_station
    from station.cli.options import open_store, output_path

    output_path(ctx, to, "备份")
    passphrase = _passphrase(ctx, passphrase_stdin, confirm=True)
    with open_store(ctx) as store:
        info = backup_station(store, Path(to), passphrase, ctx.operator)
    ctx.out(info.to_dict(), f"已备份到 {info.path}（{info.bytes // 1024} KiB，办件 {info.cases} 件，事件 {info.events} 条）\n"
                            "请妥善保管备份口令：没有口令无法恢复")


@command(COMMANDS, "restore")
@click.option("--from", "source", required=True, metavar="PATH", help="备份文件")
@click.option("--passphrase-stdin", "passphrase_stdin", is_flag=True, help="从标准输入读取备份口令")
@click.option("--offline", is_flag=True, help="不连平台核对（之后第一次同步时再核对）")
def restore_cmd(ctx: Context, source: str, passphrase_stdin: bool, offline: bool) -> None:
    """从备份文件恢复出一个新的站点目录（--home 须为新目录或空目录），并向平台补回已上报的数据。"""
    from pathlib import Path

    from station.backup import restore_station

    passphrase = _passphrase(ctx, passphrase_stdin, confirm=False)
    info = restore_station(Path(source), ctx.home, passphrase)
    data: dict = {"home": str(ctx.home), "backup": info.to_dict()}
    lines = [f"已从备份恢复：{ctx.home}（备份时间 {info.made_at}，{info.station_id}，办件 {info.cases} 件）"]
    data["catchup"] = None
    if not offline:
        from sync.catchup import catch_up_home

        report = catch_up_home(ctx.home)
        data["catchup"] = report.to_dict()
        lines.append(report.text())
    else:
        lines.append("尚未与平台核对：联网后运行 station sync now，会先补回平台已收到的本机数据，再上报新数据")
    ctx.out(data, "\n".join(lines))
