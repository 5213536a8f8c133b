"""The reference platform gateway: `station platform init|keys|enroll|revoke|serve|cases|publish-calendar|import`."""

from __future__ import annotations

import json
import logging
import sys
import tomllib
from pathlib import Path

import click

from forms.problems import StationError
from station.cli.options import Context, command, open_platform


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

    with open_platform(ctx) as platform:
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
    with open_platform(ctx) as platform:
        result = platform.enroll(enrolment)
    role = "乡镇中心" if result["role"] == "township" else "村服务站"
    ctx.out(result, f"已登记{role}「{result['name']}」（{result['station_id']}）\n核对码：{result['fingerprint']}"
                    f"{'（已更换密钥）' if result['replaced'] else ''}")


@command(platform_group, "revoke")
@click.argument("device")
def platform_revoke(ctx: Context, device: str) -> None:
    """吊销一台设备（电脑丢失或被盗）：从此拒收它的数据；它已上报并确认的数据保留。"""
    with open_platform(ctx) as platform:
        result = platform.revoke(device.strip())
    ctx.out(result, f"已吊销设备 {result['station_id']}（{result['revoked_at']}）：此后拒收它的批次和请求；"
                    f"平台已收到的 {result['events_kept']} 条事件保留。\n换新电脑：从备份恢复后运行 "
                    "station device split --device 新编号，再登记新设备")


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
    with open_platform(ctx) as platform:
        if not ctx.as_json:
            scheme = "https" if tls_cert else "http"
            click.echo(f"平台网关「{platform.config.name}」运行于 {scheme}://{host}:{port}/v1/health（Ctrl+C 停止）")
        if bool(tls_cert) != bool(tls_key):
            raise StationError("bad_tls", "启用HTTPS需要同时提供 --tls-cert 和 --tls-key")
        make_server(platform, host, port, log_level=log_level, tls_cert=tls_cert, tls_key=tls_key).run()


@command(platform_group, "cases")
def platform_cases(ctx: Context) -> None:
    """列出平台上的办件、冲突和拒收记录。"""
    with open_platform(ctx) as platform:
        data = platform.overview()

    def text() -> str:
        c = data["counts"]
        lines = [f"{data['platform']}：站点 {c['stations']}，批次 {c['batches']}，事件 {c['events']}，"
                 f"办件 {c['cases']}，冲突 {c['conflicts']}，拒收 {c['refusals']} 次（{c['refusal_rows']} 条记录），"
                 f"无权事件 {c['event_refusals']}，待办件到达的事件 {c['deferred_events']}，缺批 {c['gaps']}"]
        lines += [f"{x['number']}  {x['item_name']:<14} {x['status']}" for x in data["cases"]]
        lines += [f"冲突：{x['case_number']} {x['type']} {x['reason']}" for x in data["conflicts"]]
        lines += [f"无权事件：{x['station']} {x['type']} {x['case_number'] or ''} {x['reason']}"
                  for x in data["event_refusals"]]
        lines += [f"拒收：{x['peer']} {x['reason']} ×{x['count']}（{x['at']}）" for x in data["refusals"]]
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
    with open_platform(ctx) as platform:
        result = platform.publish_calendar(data, path.name)
    ctx.out(result, f"已发布 {'、'.join(map(str, result['years']))} 年节假日安排（{result['days']} 天），"
                    f"将送达 {result['stations']} 个站点")


@command(platform_group, "import")
@click.option("--from", "from_", required=True, type=click.Path(file_okay=False, exists=True), help="U盘上的文件夹")
def platform_import_cmd(ctx: Context, from_: str) -> None:
    """从U盘文件夹导入各站批次，写回回执和各站的平台消息。有文件被拒收时退出码为 2。"""
    from sync.gateway.usb_import import platform_import

    with open_platform(ctx) as platform:
        result = platform_import(platform, Path(from_))

    def text() -> str:
        lines = []
        for s in result["stations"]:
            lines.append(f"{s['station_id']}：接收 {s['accepted']} 批，重复 {s['duplicates']} 批，"
                         f"写回回执 {s['acks_written']} 个，平台消息 {s['inbox_written']} 批")
            lines += [f"  拒收 {r['file']}：{r['message']}" for r in s["refused"]]
            if s["events_refused"]:
                lines.append(f"  其中 {s['events_refused']} 条事件无权操作，平台未采用（已通知该站）")
        if result["refused"]:
            lines.append(f"共拒收 {result['refused']} 个文件，详见上方；其余文件已导入")
        return "\n".join(lines) or "文件夹中没有站点数据"

    ctx.out(result, text)
    if not result["ok"]:
        sys.exit(2)


COMMANDS: list[click.Command] = [platform_group]
