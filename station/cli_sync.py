"""Sync commands: `station keys …`, `station sync …`, `station platform …` (thin: the work is in sync/)."""

from __future__ import annotations

import json
import logging
import sys
import tomllib
from pathlib import Path
from typing import Any

import click

from station.cli_support import Context, command
from station.problems import StationError

COMMANDS: list[click.Command] = []  # attached to the root group by station/cli.py


def _open(ctx: Context):
    from station.store import Store

    return Store.open(ctx.home)


def _platform(ctx: Context):
    from sync.gateway.platform import Platform

    return Platform.open(ctx.home)


# --- keys --------------------------------------------------------------------------------------

@click.group("keys")
def keys_group() -> None:
    """本站同步密钥与登记文件。"""


@command(keys_group, "export")
@click.option("--out", "out", default=None, help="写入登记文件（默认打印到屏幕）")
def keys_export(ctx: Context, out: str | None) -> None:
    """导出本站登记文件（站点编码、角色、名称、公钥、核对码），交给平台登记。"""
    from sync.keys import station_enrolment, write_json_atomic

    with _open(ctx) as store:
        enrolment = station_enrolment(store.home, store.station_id, store.config.role, store.config.name)
    data = enrolment.to_dict()
    if out:
        write_json_atomic(Path(out), data)
        ctx.out({**data, "file": out}, f"已写入登记文件：{out}\n核对码（电话核对用）：{data['fingerprint']}")
    else:
        ctx.out(data, json.dumps(data, ensure_ascii=False, indent=2))


# --- sync --------------------------------------------------------------------------------------

@click.group("sync")
def sync_group() -> None:
    """与省平台同步：配置、立即同步、状态、定时同步、U盘导出导入。"""


@command(sync_group, "configure")
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
    from sync.settings import SyncSettings, configure

    if not is_station_home(ctx.home):
        raise StationError("not_a_station", f"目录 {ctx.home} 不是服务站目录")
    if interval is not None and not 1 <= interval <= 1440:
        raise StationError("bad_interval", "同步间隔应在 1 到 1440 分钟之间")
    if batch_bytes is not None and not 2048 <= batch_bytes <= 1024 * 1024:
        raise StationError("bad_batch_bytes", "每批字节数应在 2048 到 1048576 之间")
    if ca_bundle and not Path(ca_bundle).is_file():
        raise StationError("bad_ca_bundle", f"找不到CA证书文件 {ca_bundle}")
    fingerprint = None
    if platform_keys:
        fingerprint = install_platform_keys(ctx.home, Path(platform_keys)).keys.fingerprint()
    config = configure(ctx.home, url, interval, sync_ca_bundle=ca_bundle, sync_proxy=proxy,
                       sync_batch_bytes=batch_bytes)
    load_or_create(ctx.home, config.station_id)
    s = SyncSettings.of(config)
    data = {"url": s.url, "interval_minutes": s.interval_minutes, "ca_bundle": s.ca_bundle, "proxy": s.proxy,
            "batch_bytes": s.batch_bytes, "platform_fingerprint": fingerprint}
    ctx.out(data, f"已保存同步设置：{s.url or '（未设置地址）'}，每 {s.interval_minutes} 分钟同步"
                  + (f"\n平台公钥核对码：{fingerprint}" if fingerprint else ""))


@command(sync_group, "now")
@click.option("--retry-held", is_flag=True, help="重新上传已搁置（被拒收）的批次")
def sync_now_cmd(ctx: Context, retry_held: bool) -> None:
    """立即同步：上传全部待传数据，再下载平台消息。"""
    from sync.service import sync_now

    with _open(ctx) as store:
        summary = sync_now(store, retry_held=retry_held)
    ctx.out(summary.to_dict(), summary.text)
    if not summary.ok:
        sys.exit(2)


@command(sync_group, "status")
def sync_status_cmd(ctx: Context) -> None:
    """同步状态：待传事件和批次、上次成功、上次错误、网络状态。"""
    from sync.service import status_text, sync_status

    with _open(ctx) as store:
        status = sync_status(store)
    ctx.out(status, lambda: status_text(status))


@command(sync_group, "run")
@click.option("--max-syncs", type=int, default=None, hidden=True)
@click.option("--interval-seconds", type=float, default=None, hidden=True)
@click.option("--probe-seconds", type=float, default=30.0, hidden=True)
def sync_run(ctx: Context, max_syncs: int | None, interval_seconds: float | None, probe_seconds: float) -> None:
    """定时同步（长期运行；按 Ctrl+C 停止）。"""
    from sync.scheduler import SyncLoop

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with _open(ctx):
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


@command(sync_group, "export")
@click.option("--to", "to", required=True, type=click.Path(file_okay=False), help="U盘上的文件夹")
def sync_export(ctx: Context, to: str) -> None:
    """把待传批次写到U盘文件夹（离线同步）。"""
    from sync.usb import export

    with _open(ctx) as store:
        result = export(store, Path(to))
    ctx.out(result, f"已导出 {result['batches']} 批 {result['events']} 条事件到 {result['folder']}")


@command(sync_group, "import")
@click.option("--from", "from_", required=True, type=click.Path(file_okay=False, exists=True), help="U盘上的文件夹")
def sync_import(ctx: Context, from_: str) -> None:
    """从U盘文件夹导入平台回执和平台消息。"""
    from sync.usb import import_

    with _open(ctx) as store:
        result = import_(store, Path(from_))

    def text() -> str:
        lines = [f"回执：新确认 {result['acks_applied']} 批，已确认过 {result['acks_already']} 批",
                 f"平台消息：{result['inbox_batches']} 批 {result['events_pulled']} 条（新 {result['applied']}，"
                 f"冲突 {result['conflicts']}），已导入过 {result['inbox_skipped']} 批"]
        lines += [f"错误：{e['message']}" for e in result["errors"]]
        return "\n".join(lines)

    ctx.out(result, text)
    if result["errors"]:
        sys.exit(2)


# --- platform ----------------------------------------------------------------------------------

@click.group("platform")
def platform_group() -> None:
    """省平台参考网关：初始化、登记站点、运行服务、查看、发布节假日安排、U盘导入。"""


@command(platform_group, "init")
@click.option("--name", required=True, help="平台名称")
def platform_init(ctx: Context, name: str) -> None:
    """创建平台目录和平台密钥。"""
    from sync.gateway.platform import init_platform
    from sync.keys import load_or_create

    config = init_platform(ctx.home, name)
    fp = load_or_create(ctx.home, config.id).public.fingerprint()
    ctx.out({"home": str(ctx.home), "name": config.name, "id": config.id, "fingerprint": fp},
            f"已创建平台「{config.name}」：{ctx.home}\n平台公钥核对码：{fp}")


@command(platform_group, "keys")
@click.option("--out", "out", default=None, help="写入平台公钥文件（默认打印到屏幕）")
def platform_keys_cmd(ctx: Context, out: str | None) -> None:
    """导出平台公钥文件，交给各站点配置同步。"""
    from sync.keys import write_json_atomic

    with _platform(ctx) as platform:
        data = platform.enrolment.to_dict()
    if out:
        write_json_atomic(Path(out), data)
        ctx.out({**data, "file": out}, f"已写入平台公钥文件：{out}\n核对码：{data['fingerprint']}")
    else:
        ctx.out(data, json.dumps(data, ensure_ascii=False, indent=2))


@command(platform_group, "enroll")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
def platform_enroll(ctx: Context, file: str) -> None:
    """登记一个站点（村站或乡镇中心）及其辖区。"""
    from sync.keys import read_enrolment

    enrolment = read_enrolment(Path(file))
    with _platform(ctx) as platform:
        result = platform.enroll(enrolment)
    role = "乡镇中心" if result["role"] == "township" else "村服务站"
    ctx.out(result, f"已登记{role}「{result['name']}」（{result['station_id']}）\n核对码：{result['fingerprint']}"
                    f"{'（已更换密钥）' if result['replaced'] else ''}")


@command(platform_group, "serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8700, show_default=True, type=int)
@click.option("--log-level", default="info", show_default=True, hidden=True)
@click.option("--tls-cert", default=None, type=click.Path(dir_okay=False, exists=True), help="HTTPS 证书（PEM）")
@click.option("--tls-key", default=None, type=click.Path(dir_okay=False, exists=True), help="HTTPS 私钥（PEM）")
def platform_serve(ctx: Context, host: str, port: int, log_level: str, tls_cert: str | None,
                   tls_key: str | None) -> None:
    """运行平台网关（HTTP/HTTPS，uvicorn）。"""
    from sync.gateway.app import make_server

    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO), format="%(asctime)s %(name)s %(message)s")
    with _platform(ctx) as platform:
        if not ctx.as_json:
            scheme = "https" if tls_cert else "http"
            click.echo(f"平台网关「{platform.config.name}」运行于 {scheme}://{host}:{port}/v1/health（Ctrl+C 停止）")
        if bool(tls_cert) != bool(tls_key):
            raise StationError("bad_tls", "启用HTTPS需要同时提供 --tls-cert 和 --tls-key")
        make_server(platform, host, port, log_level=log_level, tls_cert=tls_cert, tls_key=tls_key).run()


@command(platform_group, "cases")
def platform_cases(ctx: Context) -> None:
    """列出平台上的办件、冲突和拒收记录。"""
    with _platform(ctx) as platform:
        data = platform.overview()

    def text() -> str:
        c = data["counts"]
        lines = [f"{data['platform']}：站点 {c['stations']}，批次 {c['batches']}，事件 {c['events']}，"
                 f"办件 {c['cases']}，冲突 {c['conflicts']}，拒收 {c['refusals']}，缺批 {c['gaps']}"]
        lines += [f"{x['number']}  {x['item_name']:<14} {x['status']}" for x in data["cases"]]
        lines += [f"冲突：{x['case_number']} {x['type']} {x['reason']}" for x in data["conflicts"]]
        return "\n".join(lines)

    ctx.out(data, text)


@command(platform_group, "publish-calendar")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
def platform_publish_calendar(ctx: Context, file: str) -> None:
    """向所有站点发布节假日安排表（JSON 或 TOML）。"""
    path = Path(file)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise StationError("bad_calendar_file", f"无法读取节假日安排表 {file}：{exc}") from None
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise StationError("bad_calendar_file", f"节假日安排表 {file} 格式错误：{exc}") from None
    with _platform(ctx) as platform:
        result = platform.publish_calendar(data, path.name)
    ctx.out(result, f"已发布 {'、'.join(map(str, result['years']))} 年节假日安排（{result['days']} 天），"
                    f"将送达 {result['stations']} 个站点")


@command(platform_group, "import")
@click.option("--from", "from_", required=True, type=click.Path(file_okay=False, exists=True), help="U盘上的文件夹")
def platform_import_cmd(ctx: Context, from_: str) -> None:
    """从U盘文件夹导入各站批次，写回回执和各站的平台消息。"""
    from sync.usb import platform_import

    with _platform(ctx) as platform:
        result = platform_import(platform, Path(from_))

    def text() -> str:
        lines = []
        for s in result["stations"]:
            lines.append(f"{s['station_id']}：接收 {s['accepted']} 批，重复 {s['duplicates']} 批，"
                         f"写回回执 {s['acks_written']} 个，平台消息 {s['inbox_written']} 批")
            lines += [f"  拒收 {r['file']}：{r['message']}" for r in s["refused"]]
        return "\n".join(lines) or "文件夹中没有站点数据"

    ctx.out(result, text)


COMMANDS += [keys_group, sync_group, platform_group]
