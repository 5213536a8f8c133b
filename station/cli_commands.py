"""Station commands: init, demo, catalog, case, db, operator."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from station.cli_support import EXIT_CHECK_FAILED, Context, command
from station.problems import StationError

COMMANDS: list[click.Command] = []  # attached to the root group by station/cli.py


def _open(ctx: Context):
    from station.store import Store

    return Store.open(ctx.home)


def _catalog():
    from forms.catalog import load_catalog

    return load_catalog()


# --- init / demo -------------------------------------------------------------------------------

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


# --- catalog -----------------------------------------------------------------------------------

@click.group("catalog")
def catalog_group() -> None:
    """服务事项目录。"""


@command(catalog_group, "list")
@click.option("--search", default=None, help="按名称、编码、拼音或首字母查找")
def catalog_list(ctx: Context, search: str | None) -> None:
    """列出全部事项。"""
    catalog = _catalog()
    items = catalog.search(search, limit=100) if search else list(catalog.items)
    data = {"items": [{"code": i.code, "name": i.name, "version": i.version, "department": i.department,
                       "handling_level": i.handling_level, "promised_limit": i.promised_limit.to_dict()}
                      for i in items],
            "issues": [x.to_dict() for x in catalog.issues]}

    def text() -> str:
        lines = [f"{i.code:<16} {i.name}  （{i.department}，承诺{i.promised_limit}）" for i in items]
        lines += [f"目录文件有误：{x}" for x in catalog.issues]
        return "\n".join(lines) or "没有找到事项"

    ctx.out(data, text)


@command(catalog_group, "show")
@click.argument("code")
def catalog_show(ctx: Context, code: str) -> None:
    """显示一个事项的字段和材料。"""
    item = _catalog().get(code)

    def text() -> str:
        lines = [f"{item.name}（{item.code}，版本 {item.version}）", f"部门：{item.department}  类型：{item.item_type}",
                 f"办理层级：{item.handling_level_zh}  承诺时限：{item.promised_limit}  法定时限：{item.statutory_limit}",
                 f"收费：{item.fee}", "填写项目："]
        lines += [f"  {f.key:<20} {f.label}{'（必填）' if f.required else ''}" for f in item.fields]
        lines.append("申请材料：")
        lines += [f"  {m.key:<20} {m.name} {m.form}×{m.copies}{'（必需）' if m.required else ''}"
                  f"{'（可容缺）' if m.waivable else ''}" for m in item.materials]
        return "\n".join(lines)

    ctx.out(item.to_dict(), text)


# --- case --------------------------------------------------------------------------------------

@click.group("case")
def case_group() -> None:
    """办件：收件、查询、查看。"""


def _read_json_file(path: str) -> Any:
    try:
        raw = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise StationError("bad_data_file", f"无法读取申请数据文件 {path}：{exc.strerror}") from None
    except UnicodeDecodeError:
        raise StationError("bad_data_file", f"申请数据文件 {path} 不是UTF-8文本") from None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise StationError("bad_data_file", f"申请数据文件 {path} 不是有效JSON：第{exc.lineno}行第{exc.colno}列 {exc.msg}") from None


@command(case_group, "file")
@click.option("--item", "item_code", required=True, help="事项编码")
@click.option("--data", "data_file", required=True, help="申请数据JSON文件（- 表示标准输入）")
@click.option("--operator", default=None, help="操作员姓名（默认：站点目录所属系统账户）")
def case_file(ctx: Context, item_code: str, data_file: str, operator: str | None) -> None:
    """收件登记：校验并保存，立即发放办件编号和查询密码。"""
    from station.cases import file_case
    from station.operators import resolve_cli_operator

    data = _read_json_file(data_file)
    with _open(ctx) as store:
        op = resolve_cli_operator(store, operator)
        filed = file_case(store, _catalog(), item_code, data, op)
    due = f"{filed.promised_due}{'（估算）' if filed.promised_estimate else ''}" if filed.promised_due else "即办"
    ctx.out(filed.to_dict(), f"已收件。办件编号：{filed.number}\n查询密码：{filed.query_password}\n承诺办结日期：{due}")


@command(case_group, "list")
@click.option("--search", default=None, help="办件编号、姓名、姓名拼音、身份证后四位、事项名称")
@click.option("--status", default=None, help="按状态筛选，如 received / accepted / correction_requested")
@click.option("--overdue", is_flag=True, help="只看已超期")
@click.option("--near-due", is_flag=True, help="只看临近到期")
@click.option("--unsynced", is_flag=True, help="只看未同步")
@click.option("--limit", default=50, show_default=True)
def case_list(ctx: Context, search: str | None, status: str | None, overdue: bool, near_due: bool,
              unsynced: bool, limit: int) -> None:
    """查找办件。"""
    from station.cases import CaseReader

    with _open(ctx) as store:
        cases = CaseReader(store).list(search=search, status=status, overdue=overdue, near_due=near_due,
                                       unsynced=unsynced, limit=limit)

    def text() -> str:
        if not cases:
            return "没有找到办件"
        return "\n".join(
            f"{c.number}  {c.applicant_name:<6} {c.item_name:<14} {c.status_label:<8} "
            f"到期 {c.promised_due or '—'}{'（估算）' if c.promised_estimate else ''}"
            f"{' 【超期】' if c.overdue else ' 【临期】' if c.near_due else ''}" for c in cases)

    ctx.out({"cases": [c.summary_dict() for c in cases], "count": len(cases)}, text)


@command(case_group, "show")
@click.argument("number")
@click.option("--reveal", is_flag=True, help="显示完整身份证号和电话（默认脱敏）")
def case_show(ctx: Context, number: str, reveal: bool) -> None:
    """查看一个办件：材料、到期日和全过程记录。"""
    from station.cases import CaseReader

    with _open(ctx) as store:
        case = CaseReader(store).get(number)
        data = case.to_dict(store.codec, reveal=reveal)

    def text() -> str:
        a = data["applicant"]
        lines = [f"办件编号：{case.number}（{case.status_label}）",
                 f"事项：{case.item_name}（{case.item_code} 版本{case.item_version}）",
                 f"申请人：{a['name']}  身份证：{a['id_number']}  电话：{a['phone']}",
                 f"收件：{case.received_at}  经办：{case.operator}",
                 f"承诺办结：{case.promised_due or '—'}{'（估算）' if case.promised_estimate else ''}"
                 f"{'  【已超期】' if case.overdue else ''}",
                 "材料："]
        lines += [f"  {m.name}：{m.status_label}{'，须于 ' + m.due_date + ' 前补交' if m.due_date else ''}"
                  for m in case.materials]
        lines.append("办理记录：")
        lines += [f"  {t.at}  {t.label}  {t.operator}  {t.detail}" for t in case.timeline]
        return "\n".join(lines)

    ctx.out(data, text)


@command(case_group, "material")
@click.argument("number")
@click.option("--received", "keys", required=True, help="补交的材料编码，逗号分隔")
@click.option("--operator", default=None)
def case_material(ctx: Context, number: str, keys: str, operator: str | None) -> None:
    """登记补交的容缺或补正材料。"""
    from station.cases import record_materials
    from station.operators import resolve_cli_operator

    with _open(ctx) as store:
        case = record_materials(store, number, [k.strip() for k in keys.split(",") if k.strip()],
                                resolve_cli_operator(store, operator))
    ctx.out(case.summary_dict(), f"已登记补交材料：{case.number}（{case.status_label}）")


@command(case_group, "withdraw")
@click.argument("number")
@click.option("--reason", required=True)
@click.option("--operator", default=None)
def case_withdraw(ctx: Context, number: str, reason: str, operator: str | None) -> None:
    """申请人撤回申请。"""
    from station.cases import withdraw
    from station.operators import resolve_cli_operator

    with _open(ctx) as store:
        case = withdraw(store, number, reason, resolve_cli_operator(store, operator))
    ctx.out(case.summary_dict(), f"已撤回：{case.number}")


@command(case_group, "deliver")
@click.argument("number")
@click.option("--to", "to_whom", required=True, help="领取人姓名")
@click.option("--id-checked", is_flag=True, help="已核验领取人身份证件")
@click.option("--operator", default=None)
def case_deliver(ctx: Context, number: str, to_whom: str, id_checked: bool, operator: str | None) -> None:
    """登记结果已交付申请人。"""
    from station.cases import deliver
    from station.operators import resolve_cli_operator

    with _open(ctx) as store:
        case = deliver(store, number, to_whom, id_checked, resolve_cli_operator(store, operator))
    ctx.out(case.summary_dict(), f"已登记送达：{case.number}")


# --- db ----------------------------------------------------------------------------------------

@click.group("db")
def db_group() -> None:
    """数据库：重建、校验。"""


@command(db_group, "rebuild")
def db_rebuild(ctx: Context) -> None:
    """从事件日志重建全部数据表。"""
    import time

    from station.audit import rebuild

    with _open(ctx) as store:
        start = time.perf_counter()
        count = rebuild(store)
        seconds = time.perf_counter() - start
    ctx.out({"events": count, "seconds": round(seconds, 3)}, f"已从 {count} 条事件重建数据表（{seconds:.1f} 秒）")


@command(db_group, "check")
def db_check(ctx: Context) -> None:
    """校验事件日志：序号缺失、审计链、数据表与日志是否一致。"""
    from station.audit import check

    with _open(ctx) as store:
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


# --- operators ---------------------------------------------------------------------------------

@click.group("operator")
def operator_group() -> None:
    """操作员管理。"""


@command(operator_group, "add")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["agent", "reviewer", "admin"]), required=True)
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码")
@click.option("--operator", default=None, help="执行添加的管理员（默认：系统账户）")
def operator_add(ctx: Context, name: str, role: str, password_stdin: bool, operator: str | None) -> None:
    """添加操作员。"""
    from station.operators import add_operator, resolve_cli_operator

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("密码", hide_input=True, confirmation_prompt=True)
    with _open(ctx) as store:
        op = add_operator(store, name, role, password, resolve_cli_operator(store, operator))
    ctx.out({"name": op.name, "role": op.role}, f"已添加操作员「{op.name}」（{op.role_label}）")


@command(operator_group, "list")
def operator_list(ctx: Context) -> None:
    """列出操作员。"""
    from station.operators import list_operators

    with _open(ctx) as store:
        ops = list_operators(store)
    ctx.out({"operators": [{"name": o.name, "role": o.role, "disabled": o.disabled} for o in ops]},
            lambda: "\n".join(f"{o.name}  {o.role_label}{'（已停用）' if o.disabled else ''}" for o in ops) or "还没有操作员")


@command(operator_group, "disable")
@click.option("--name", required=True)
@click.option("--operator", default=None)
def operator_disable(ctx: Context, name: str, operator: str | None) -> None:
    """停用操作员。"""
    from station.operators import resolve_cli_operator, set_disabled

    with _open(ctx) as store:
        set_disabled(store, name, True, resolve_cli_operator(store, operator))
    ctx.out({"name": name, "disabled": True}, f"已停用操作员「{name}」")


# --- print -------------------------------------------------------------------------------------

@click.group("print")
def print_group() -> None:
    """打印文书：受理回执、一次性告知书、补正/办结/不予告知书、日报。"""


def _print_command(kind: str, help_text: str) -> None:
    @command(print_group, kind, help=help_text)
    @click.argument("number")
    @click.option("--format", "fmt", type=click.Choice(["a4", "roll80"]), default=None, help="纸张：A4 或 80mm 热敏纸")
    @click.option("--large", is_flag=True, default=None, help="大字版（老年人）")
    @click.option("--out", type=click.Path(dir_okay=False), default=None, help="另存一份PDF到此文件")
    @click.option("--operator", default=None)
    def _cmd(ctx: Context, number: str, fmt: str | None, large: bool | None, out: str | None,
             operator: str | None) -> None:
        from station.operators import resolve_cli_operator
        from station.printing import print_case_document

        with _open(ctx) as store:
            result = print_case_document(store, number, kind, resolve_cli_operator(store, operator), fmt=fmt,
                                         large=large, out=Path(out) if out else None)
        ctx.out(result.to_dict(), f"{result.to_dict()['title']}：{result.path}\n{result.message}")


for _kind, _help in (("receipt", "受理回执"), ("notice", "一次性告知书"), ("correction", "补正通知书"),
                     ("result", "办结通知书"), ("refusal", "不予受理/不予批准告知书")):
    _print_command(_kind, _help)


@command(print_group, "daily", help="本站日报")
@click.option("--date", "day", default=None, help="日期 YYYY-MM-DD（默认今天）")
@click.option("--out", type=click.Path(dir_okay=False), default=None)
@click.option("--operator", default=None)
def print_daily_cmd(ctx: Context, day: str | None, out: str | None, operator: str | None) -> None:
    from datetime import date as _date

    from station.operators import resolve_cli_operator
    from station.printing import print_daily

    try:
        when = _date.fromisoformat(day) if day else None
    except ValueError:
        raise StationError("bad_date", f"日期格式应为 YYYY-MM-DD，收到 {day}") from None
    with _open(ctx) as store:
        result = print_daily(store, when or store.clock().date(), resolve_cli_operator(store, operator),
                             out=Path(out) if out else None)
    ctx.out(result.to_dict(), f"日报：{result.path}\n{result.message}")


COMMANDS += [catalog_group, case_group, db_group, operator_group, print_group]
