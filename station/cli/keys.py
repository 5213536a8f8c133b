"""This station's sync keys: `station keys export`."""

from __future__ import annotations

import json

import click

from station.cli.options import Context, command, open_store, output_path


@click.group("keys")
def keys_group() -> None:
    """本站同步密钥与登记文件。"""


@command(keys_group, "export", login="admin", action="导出本站密钥登记文件")
@click.option("--out", "out", default=None, help="写入登记文件（默认打印到屏幕）")
def keys_export(ctx: Context, out: str | None) -> None:
    """导出本站登记文件（站点编码、角色、名称、公钥、核对码），交给平台登记。"""
    from sync.keys import station_enrolment, write_json_atomic

    out_file = output_path(ctx, out, "登记文件")
    with open_store(ctx) as store:
        enrolment = station_enrolment(store.home, store.station_id, store.config.role, store.config.name)
    # which PC of the service point this is (the station id says it too: 421381105201-d2 is 2号机)
    data = {**enrolment.to_dict(), "division_code": store.division_code, "device": store.device}
    which = f"服务点 {store.division_code} 的 {store.device}号机（站点标识 {store.station_id}）"
    if out:
        write_json_atomic(out_file, data)
        ctx.out({**data, "file": out}, f"已写入登记文件：{out}\n{which}\n核对码（电话核对用）：{data['fingerprint']}")
    else:
        if not ctx.as_json:
            click.echo(which, err=True)  # stdout stays the enrolment file itself
        ctx.out(data, json.dumps(data, ensure_ascii=False, indent=2))


COMMANDS: list[click.Command] = [keys_group]
