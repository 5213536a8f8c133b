"""This PC as a device of its service point: `station device show|split`."""

from __future__ import annotations

import click

from station.cli.options import Context, command, open_store


@click.group("device")
def device_group() -> None:
    """本机是服务点的第几台电脑：查看，或改为新设备（目录被复制到另一台电脑时）。"""


@command(device_group, "show", login="any")
def device_show(ctx: Context) -> None:
    """显示本机的服务点、设备编号和站点标识。"""
    import json

    with open_store(ctx) as store:
        fork = json.loads(store.meta_get("catchup.fork", "") or "{}")
        data = {"division_code": store.division_code, "device": store.device, "station_id": store.station_id,
                "name": store.config.name, "role": store.config.role, "forked": bool(fork)}
    ctx.out(data, f"服务点 {data['division_code']}「{data['name']}」的 {data['device']}号机（站点标识 {data['station_id']}）"
                  + ("\n本机数据与平台分叉，请运行 station device split --device N" if fork else ""))


@command(device_group, "split", login="admin", action="把本机改为本服务点的新设备")
@click.option("--device", "device", required=True, type=int, metavar="编号",
              help="本服务点尚未使用的电脑编号（2–9）")
@click.option("--no-print", "no_print", is_flag=True, help="不打印改号后的收件回执（之后可用 station print 补打）")
def device_split(ctx: Context, device: int, no_print: bool) -> None:
    """站点目录被复制到两台电脑同时使用时，在后上报的那台运行：本机改为本服务点的另一台电脑（新编号），
    分叉后登记的办件以新设备重新上报、改用新编号，并打印带改号通知的收件回执。"""
    from sync.split import split_device

    with open_store(ctx) as store:
        report = split_device(store, device)
        if not no_print and store.config.role == "village":
            from station.printing import print_case_document

            for _, new in report.renumbered:
                report.receipts.append(str(print_case_document(store, new, "receipt", ctx.operator).path))
    ctx.out(report.to_dict(), report.text())


COMMANDS: list[click.Command] = [device_group]
