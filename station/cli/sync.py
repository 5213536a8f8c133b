"""Sync with the provincial platform: `station sync configure|now|status|run|export|import`."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from forms.problems import StationError
from station.cli.options import Context, command, open_store, output_path


@click.group("sync")
def sync_group() -> None:
    """与省平台同步：配置、立即同步、状态、定时同步、U盘导出导入。"""


@command(sync_group, "configure", login="admin", action="修改同步设置")
@click.option("--url", default=None, help="平台地址，如 https://gateway.example.gov.cn")
@click.option("--platform-keys", "platform_keys", default=None, help="平台公钥文件（station platform keys 导出）")
@click.option("--interval", "interval", type=int, default=None, help="定时同步间隔（分钟）")
@click.option("--ca-bundle", default=None, help="自定义CA证书文件（空字符串表示取消）")
@click.option("--proxy", default=None, help="代理地址，如 http://10.0.0.1:3128（空字符串表示取消）")
@click.option("--batch-bytes", type=int, default=None, help="每批最大字节数（默认32768）")
def sync_configure(ctx: Context, url: str | None, platform_keys: str | None, interval: int | None,
                   ca_bundle: str | None, proxy: str | None, batch_bytes: int | None) -> None:
    """配置平台地址、平台公钥和网络设置。"""
    from station.home import is_station_home
    from sync.keys import install_platform_keys, load_or_create
    from sync.settings import SyncSettings, check, configure

    if not is_station_home(ctx.home):
        raise StationError("not_a_station", f"目录 {ctx.home} 不是服务站目录")
    extra = {"sync_ca_bundle": ca_bundle, "sync_proxy": proxy, "sync_batch_bytes": batch_bytes}
    check(url, interval, **extra)  # before the keys file is installed: a refusal changes nothing
    fingerprint = None
    if platform_keys:
        fingerprint = install_platform_keys(ctx.home, Path(platform_keys)).keys.fingerprint()
    config = configure(ctx.home, url, interval, **extra)
    load_or_create(ctx.home, config.device_id)
    s = SyncSettings.of(config)
    data = {"url": s.url, "interval_minutes": s.interval_minutes, "ca_bundle": s.ca_bundle, "proxy": s.proxy,
            "batch_bytes": s.batch_bytes, "platform_fingerprint": fingerprint}
    ctx.out(data, f"已保存同步设置：{s.url or '（未设置地址）'}，每 {s.interval_minutes} 分钟同步"
                  + (f"\n平台公钥核对码：{fingerprint}" if fingerprint else ""))


@command(sync_group, "now", login="handle")
@click.option("--retry-held", is_flag=True, help="重新上传已搁置（被拒收）的批次")
def sync_now_cmd(ctx: Context, retry_held: bool) -> None:
    """立即同步：上传全部待传数据，再下载平台消息。"""
    from sync.service import sync_now

    with open_store(ctx) as store:
        summary = sync_now(store, retry_held=retry_held)
    ctx.out(summary.to_dict(), summary.text)
    if not summary.ok:
        sys.exit(2)


@command(sync_group, "status", login="any")
def sync_status_cmd(ctx: Context) -> None:
    """同步状态：待传事件和批次、上次成功、上次错误、网络状态。"""
    from sync.service import sync_status

    with open_store(ctx) as store:
        status = sync_status(store)
    ctx.out(status.to_dict(), status.text)


@command(sync_group, "run", login="handle")
@click.option("--max-syncs", type=int, default=None, hidden=True)
@click.option("--interval-seconds", type=float, default=None, hidden=True)
@click.option("--probe-seconds", type=float, default=30.0, hidden=True)
def sync_run(ctx: Context, max_syncs: int | None, interval_seconds: float | None, probe_seconds: float) -> None:
    """定时同步（长期运行；按 Ctrl+C 停止）。"""
    from sync.scheduler import SyncLoop

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with open_store(ctx):
        pass  # fail early on a wrong home

    def report(summary: Any) -> None:
        if not ctx.as_json:
            click.echo(summary.text())

    loop = SyncLoop(ctx.home, interval_seconds, probe_seconds, max_syncs=max_syncs, on_sync=report)
    try:
        state = loop.run()
    except KeyboardInterrupt:
        loop.stop.set()
        state = loop.state
    if ctx.as_json:
        ctx.out({"syncs": state.syncs, "probes": state.probes}, "")


@command(sync_group, "export", login="handle")
@click.option("--to", "to", required=True, type=click.Path(file_okay=False), help="U盘上的文件夹")
def sync_export(ctx: Context, to: str) -> None:
    """把待传批次写到U盘文件夹（离线同步）。从备份恢复后尚未与平台核对时不导出新数据（退出码 2），先请平台核对。"""
    from sync.usb import export

    output_path(ctx, to, "同步数据")
    with open_store(ctx) as store:
        result = export(store, Path(to))
    text = f"已导出 {result['batches']} 批 {result['events']} 条事件到 {result['folder']}"
    if result.get("notice"):
        text += "\n" + result["notice"]
    ctx.out(result, text)
    if result.get("catchup_pending"):
        sys.exit(2)


@command(sync_group, "import", login="handle")
@click.option("--from", "from_", required=True, type=click.Path(file_okay=False, exists=True), help="U盘上的文件夹")
def sync_import(ctx: Context, from_: str) -> None:
    """从U盘文件夹导入平台回执和平台消息；从备份恢复的站点同时按平台的核对结果补回本机已上报的数据。"""
    from sync.usb import import_

    with open_store(ctx) as store:
        result = import_(store, Path(from_))

    def text() -> str:
        lines = [f"回执：新确认 {result['acks_applied']} 批，已确认过 {result['acks_already']} 批",
                 f"平台消息：{result['inbox_batches']} 批 {result['events_pulled']} 条（新 {result['applied']}，"
                 f"冲突 {result['conflicts']}），已导入过 {result['inbox_skipped']} 批"]
        if result.get("notice"):  # the chain checked with the platform's answer on the stick (restored home)
            lines.append(result["notice"])
        lines += [f"错误：{e['message']}" for e in result["errors"]]
        return "\n".join(lines)

    ctx.out(result, text)
    if result["errors"]:
        sys.exit(2)


COMMANDS: list[click.Command] = [sync_group]
