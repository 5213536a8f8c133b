"""The reference platform gateway: `station platform init|keys|enroll|revoke|serve|cases|status|migrate|publish-calendar|publish-query-url|withdraw-query-url|import`."""

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


DATABASE_HELP = "PostgreSQL 数据库地址 postgresql://…（默认：环境变量 STATION_PLATFORM_DATABASE，否则平台目录中的 SQLite）"


@command(platform_group, "init")
@click.option("--name", required=True, help="平台名称")
@click.option("--database", default=None, metavar="URL", help=DATABASE_HELP)
def platform_init(ctx: Context, name: str, database: str | None) -> None:
    """创建平台目录和平台密钥；可把平台数据放在 PostgreSQL 中。"""
    from sync.gateway.database import mask_url, resolve
    from sync.gateway.platform import init_platform
    from sync.keys import load_or_create

    config = init_platform(ctx.home, name, database)
    fp = load_or_create(ctx.home, config.id).public.fingerprint()
    where = mask_url(resolve(ctx.home)) or "sqlite"
    ctx.out({"home": str(ctx.home), "name": config.name, "id": config.id, "fingerprint": fp, "database": where},
            f"已创建平台「{config.name}」：{ctx.home}\n平台公钥核对码：{fp}\n数据库：{where}")


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
@click.option("--database", default=None, metavar="URL", help=DATABASE_HELP)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="工作进程数（多于 1 个需要 PostgreSQL）")
def platform_serve(ctx: Context, host: str, port: int, log_level: str, tls_cert: str | None,
                   tls_key: str | None, database: str | None, workers: int) -> None:
    """运行平台网关（HTTP/HTTPS，uvicorn；可多进程）。"""
    from sync.gateway.database import mask_url, resolve
    from sync.gateway.workers import serve

    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO), format="%(asctime)s %(name)s %(message)s")
    if bool(tls_cert) != bool(tls_key):
        raise StationError("bad_tls", "启用HTTPS需要同时提供 --tls-cert 和 --tls-key")
    url = resolve(ctx.home, database)
    if workers > 1 and not url:
        raise StationError("workers_need_postgres", f"SQLite 平台数据库只能由一个进程使用，--workers {workers} 需要"
                                                    " PostgreSQL：请用 --database postgresql://… 或设置环境变量"
                                                    " STATION_PLATFORM_DATABASE")
    def started(name: str) -> None:
        if not ctx.as_json:
            scheme = "https" if tls_cert else "http"
            click.echo(f"平台网关「{name}」运行于 {scheme}://{host}:{port}/v1/health，{workers} 个工作进程，"
                       f"数据库：{mask_url(url) or 'sqlite'}（Ctrl+C 停止）")
    serve(ctx.home, url, host, port, workers, log_level=log_level, tls_cert=tls_cert, tls_key=tls_key,
          on_ready=started)


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


@command(platform_group, "publish-query-url")
@click.argument("url_template")
def platform_publish_query_url(ctx: Context, url_template: str) -> None:
    """向所有站点发布办件查询网址模板（回执二维码），如 https://zwfw.example/q?n={case_number}。

    模板必须以 https:// 开头、含一处 {case_number}，不能含其他占位（二维码里没有查询密码）。
    """
    with open_platform(ctx) as platform:
        result = platform.publish_query_url(url_template)
    ctx.out(result, f"已发布查询网址模板 {result['template']}，将送达 {result['stations']} 个站点；"
                    "各站同步后，回执上的二维码即为查询链接")


@command(platform_group, "withdraw-query-url")
def platform_withdraw_query_url(ctx: Context) -> None:
    """撤回已发布的办件查询网址（网址停用或迁移时）：各站同步后，回执二维码恢复为办件编号文字。"""
    with open_platform(ctx) as platform:
        result = platform.withdraw_query_url()
    ctx.out(result, f"已撤回查询网址，将送达 {result['stations']} 个站点；各站同步后，回执上的二维码恢复为"
                    "办件编号文字（不再是链接）")


@command(platform_group, "import")
@click.option("--from", "from_", required=True, type=click.Path(file_okay=False, exists=True), help="U盘上的文件夹")
def platform_import_cmd(ctx: Context, from_: str) -> None:
    """从U盘文件夹导入各站批次，写回回执、各站的平台消息和平台对各站批次链的核对结果。有文件被拒收时退出码为 2。"""
    from sync.gateway.usb_import import platform_import

    with open_platform(ctx) as platform:
        result = platform_import(platform, Path(from_))

    def text() -> str:
        lines = []
        for s in result["stations"]:
            lines.append(f"{s['station_id']}：接收 {s['accepted']} 批，重复 {s['duplicates']} 批，"
                         f"写回回执 {s['acks_written']} 个，平台消息 {s['inbox_written']} 批")
            lines += [f"  拒收 {r['file']}：{r['message']}" for r in s["refused"]]
            if s.get("own_written"):
                lines.append(f"  该站请求与平台核对（从备份恢复）：已写回核对结果和本站数据 {s['own_written']} 个文件")
            if s.get("chain_error"):
                lines.append(f"  核对结果没有写回：{s['chain_error']}")
            if s["events_refused"]:
                lines.append(f"  其中 {s['events_refused']} 条事件无权操作，平台未采用（已通知该站）")
        if result["refused"]:
            lines.append(f"共拒收 {result['refused']} 个文件，详见上方；其余文件已导入")
        return "\n".join(lines) or "文件夹中没有站点数据"

    ctx.out(result, text)
    if not result["ok"]:
        sys.exit(2)




@command(platform_group, "status")
@click.option("--silent-days", default=7, show_default=True, type=click.IntRange(1, 3650),
              help="列出这么多天没有同步的站点")
def platform_status_cmd(ctx: Context, silent_days: int) -> None:
    """平台运行情况：批次、事件、拒收（按原因）、收件箱、各站最近同步，以及多日未同步的站点。"""
    from sync.gateway.ops import figures, readiness

    with open_platform(ctx) as platform:
        ready, details = readiness(platform)
        data = {**figures(platform, silent_days), "ready": ready, "database": details}

    def text() -> str:
        c, inbox = data["counts"], data["inbox"]
        seen = data["stations_seen"]
        lines = [f"{data['platform']}：{'就绪' if ready else '未就绪'}（数据库架构版本 {details.get('schema', '?')}）",
                 f"站点：村站 {data['stations']['village']}，乡镇中心 {data['stations']['township']}；"
                 f"1 天内同步 {seen['1d']}，7 天内 {seen['7d']}，30 天内 {seen['30d']}",
                 f"已接收批次 {c['batches']}，事件 {c['events']}，办件 {c['cases']}，冲突 {c['conflicts']}，"
                 f"无权事件 {c['event_refusals']}",
                 f"收件箱：{inbox['events']} 条事件（未确认 {inbox['unacknowledged_events']}），{inbox['envelopes']} 个信封"]
        if data["refusals_by_reason"]:
            lines.append("拒收：" + "，".join(f"{r} {n} 次" for r, n in data["refusals_by_reason"].items()))
        silent = data["silent_stations"]
        lines.append(f"{silent_days} 天以上未同步的站点：{len(silent)} 个")
        lines += [f"  {s['id']} {s['name']}（最近：{s['last_seen'] or '从未同步'}）" for s in silent]
        return "\n".join(lines)

    ctx.out(data, text)


@command(platform_group, "migrate")
@click.option("--to", "to", required=True, metavar="URL", help="目标 PostgreSQL 数据库 postgresql://…（空库）")
def platform_migrate_cmd(ctx: Context, to: str) -> None:
    """把平台数据从 SQLite 迁移到 PostgreSQL（先停止网关）；原 SQLite 文件保留不动。"""
    from sync.gateway.move import move_to_postgres

    result = move_to_postgres(ctx.home, to)
    t = result["tables"]
    ctx.out(result, f"已迁移到 {result['database']}：站点 {t['stations']}，批次 {t['batches']}，事件 {t['events']}，"
                    f"办件 {t['cases']}，收件箱 {t['inbox']} 条\n平台目录已改用该数据库；原 platform.db 保留未动")


COMMANDS: list[click.Command] = [platform_group]
