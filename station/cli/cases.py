"""Everyday case work: `station case file|list|show|material|withdraw|deliver`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from forms.problems import StationError
from station.cli.options import Context, command, open_store, output_path, paper_format_option


def _catalog():
    from forms.catalog import load_catalog

    return load_catalog()


@click.group("case")
def case_group() -> None:
    """办件：收件、查询、查看。"""


def legal_lines(case: Any) -> list[str]:
    """The legal record's lines of `case show`: bodies, where the case is, the clocks."""
    g = case.legal
    lines = [f"决定机关：{g.deciding_body or '—'}　受理机关：{g.accepting_body or '—'}"]
    if g.renumbered_from:
        lines.insert(0, f"原编号：{g.renumbered_from}（已改号）")
    if g.deemed_accepted:
        lines.append(f"收件后5个工作日（至{g.correction_deadline}）内未告知补正，依法视为受理")
    if g.paused_days:
        lines.append(f"暂停计时（补正、公示）：{g.paused_days}个工作日，承诺办结日已顺延")
    if g.handover_due:
        lines.append(f"移交乡镇：{'已于 ' + g.handed_over_at + ' 移交' if g.handed_over_at else '期限 ' + g.handover_due}"
                     f"{'  【移交超期】' if g.handover_overdue else ''}")
    if g.forwarded_to:
        lines.append(f"已转报：{g.forwarded_to}（{g.forwarded_at}，该机关期限 {g.forward_due}"
                     f"{'（估算）' if g.forward_estimate else ''}）{'  【转报超期】' if g.forward_overdue else ''}")
    if g.posting_start:
        lines.append(f"公示：{g.posting_start} 至 {g.posting_end}（{g.posting_days}天）")
    return lines


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


@command(case_group, "file", login="file")
@click.option("--item", "item_code", required=True, help="事项编码")
@click.option("--data", "data_file", required=True, help="申请数据JSON文件（- 表示标准输入）")
@click.option("--duplicate-reason", default=None, metavar="理由",
              help="此人同一事项已有在办件时，确需再次申请的理由（记入办件）")
def case_file(ctx: Context, item_code: str, data_file: str, duplicate_reason: str | None) -> None:
    """收件登记：校验并保存，立即发放办件编号和查询密码。"""
    from station.cases import file_case

    data = _read_json_file(data_file)
    with open_store(ctx) as store:
        op = ctx.operator
        filed = file_case(store, _catalog(), item_code, data, op, duplicate_reason=duplicate_reason)
    due = f"{filed.promised_due}{'（估算）' if filed.promised_estimate else ''}" if filed.promised_due else "即办"
    ctx.out(filed.to_dict(), f"已收件。办件编号：{filed.number}\n查询密码：{filed.query_password}\n承诺办结日期：{due}")


@command(case_group, "inform", login="file")
@click.option("--item", "item_code", required=True, help="事项编码")
@click.option("--data", "data_file", required=True, help="申请数据JSON文件（- 表示标准输入），与收件登记相同")
@click.option("--apply-to", default="", metavar="机关", help="不属本站受理范围时，应去申请的机关")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="另存一份一次性告知书PDF到此文件")
@paper_format_option
@click.option("--large", is_flag=True, default=None, help="大字版（老年人）")
def case_inform(ctx: Context, item_code: str, data_file: str, apply_to: str, out: str | None, fmt: str | None,
                large: bool | None) -> None:
    """告知件：申请今天不能收件（缺不可容缺的材料、不符合条件、不属本站受理）时，登记并打印一次性告知书。"""
    from station.consultations import record
    from station.printing import print_consultation

    out_file = output_path(ctx, out)
    data = _read_json_file(data_file)
    with open_store(ctx) as store:
        c = record(store, _catalog(), item_code, data, ctx.operator, apply_to=apply_to)
        printed = print_consultation(store, c.number, ctx.operator, fmt=fmt, large=large,
                                     out=out_file)
    lines = [f"已登记告知件：{c.number}（{c.item_name}，{c.applicant_name}）", "一次告知的全部内容："]
    lines += [f"  {i}. {r['text']}" for i, r in enumerate(c.reasons, 1)]
    lines.append(f"一次性告知书：{printed.path}\n{printed.message}")
    lines.append(f"群众带齐材料回来后：station case convert {c.number}")
    ctx.out({**c.to_dict(), "print": printed.to_dict()}, "\n".join(lines))


@command(case_group, "convert", login="file")
@click.argument("number")
@click.option("--data", "data_file", default=None, help="申请内容有变化时，新的申请数据JSON文件（默认沿用告知时的内容，缺的材料记为已收）")
@click.option("--duplicate-reason", default=None, metavar="理由", help="此人同一事项已有在办件时，确需再次申请的理由")
def case_convert(ctx: Context, number: str, data_file: str | None, duplicate_reason: str | None) -> None:
    """告知件转为办件：群众带齐材料回来，一步收件登记。"""
    from station.consultations import convert

    data = _read_json_file(data_file) if data_file else None
    with open_store(ctx) as store:
        filed = convert(store, _catalog(), number, ctx.operator, data=data, duplicate_reason=duplicate_reason)
    due = f"{filed.promised_due}{'（估算）' if filed.promised_estimate else ''}" if filed.promised_due else "即办"
    ctx.out({**filed.to_dict(), "consultation_number": number.strip().upper()},
            f"告知书 {number.strip().upper()} 已转为办件。办件编号：{filed.number}\n查询密码：{filed.query_password}\n承诺办结日期：{due}")


@command(case_group, "consultations", login="any")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000), help="最多列出几件")
def case_consultations(ctx: Context, limit: int) -> None:
    """最近的告知件（一次性告知、未能收件的咨询）。"""
    from station.consultations import recent

    with open_store(ctx) as store:
        items = recent(store, limit)
    ctx.out({"consultations": [c.to_dict() for c in items], "count": len(items)},
            lambda: "\n".join(f"{c.number}  {c.applicant_name:<6} {c.item_name:<14} "
                              f"{'已转办件 ' + c.converted_case if c.converted_case else '未转办件'}"
                              for c in items) or "没有告知件")


@command(case_group, "list", login="any")
@click.option("--search", default=None, help="办件编号（完整、表格里的短号或日期+序号均可）、姓名、姓名拼音、身份证后四位、事项名称")
@click.option("--status", default=None, help="按状态筛选：中文状态名（如 已受理、待补正）或状态代码")
@click.option("--overdue", is_flag=True, help="只看已超期")
@click.option("--near-due", is_flag=True, help="只看临近到期")
@click.option("--unsynced", is_flag=True, help="只看未同步")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000), help="每页件数")
@click.option("--offset", default=0, type=click.IntRange(0, 1_000_000_000), help="跳过前几件（翻页）")
def case_list(ctx: Context, search: str | None, status: str | None, overdue: bool, near_due: bool,
              unsynced: bool, limit: int, offset: int) -> None:
    """查找办件。"""
    from station.cases import CaseReader

    filters = dict(search=search, status=status, overdue=overdue, near_due=near_due, unsynced=unsynced)
    with open_store(ctx) as store:
        reader = CaseReader(store)
        cases = reader.list(**filters, limit=limit, offset=offset)
        total = reader.count(**filters)

    def text() -> str:
        if not cases:
            return "没有找到办件"
        lines = [f"{c.number}  {c.applicant_name:<6} {c.item_name:<14} {c.status_label:<8} "
                 f"到期 {c.promised_due or '—'}{'（估算）' if c.promised_estimate else ''}"
                 f"{' 【超期】' if c.overdue else ' 【临期】' if c.near_due else ''}" for c in cases]
        if total > len(cases):
            lines.append(f"共 {total} 件，显示第 {offset + 1}–{offset + len(cases)} 件（--offset 翻页）")
        return "\n".join(lines)

    ctx.out({"cases": [c.summary_dict() for c in cases], "count": total, "page_size": limit, "offset": offset,
             "returned": len(cases)}, text)


@command(case_group, "show", login="any")
@click.argument("number")
@click.option("--reveal", is_flag=True, help="显示完整身份证号、电话和账号（默认脱敏；每次查看都记入审计日志）")
def case_show(ctx: Context, number: str, reveal: bool) -> None:
    """查看一个办件：材料、到期日和全过程记录。"""
    from station.cases import CaseReader
    from station.printing import station_names
    from station.reveal import reveal_case
    from station.void_notices import void_notices

    with open_store(ctx) as store:
        if reveal:
            shown = reveal_case(store, number, ctx.operator, face="cli")
            case, data = shown.case, shown.data
        else:
            case = CaseReader(store).get(number)
            data = case.to_dict(store.codec)
        void = void_notices(store, case.number)
        names = station_names(store) if void else {}
    data = {**data, "void_notices": [v.to_dict(names) for v in void]}  # added key; the others unchanged

    def text() -> str:
        a = data["applicant"]
        warnings = [f"【文书作废】{v.warning(names)}（登记收回：station case recall {case.number} --note 说明）"
                    for v in void]
        lines = [*warnings,
                 f"办件编号：{case.number}（{case.status_label}）",
                 f"事项：{case.item_name}（{case.item_code} 版本{case.item_version}）",
                 f"申请人：{a['name']}  身份证：{a['id_number']}  电话：{a['phone']}",
                 f"收件：{case.received_at}  经办：{case.operator}",
                 f"承诺办结：{case.promised_due or '—'}{'（估算）' if case.promised_estimate else ''}"
                 f"{'  【已超期】' if case.overdue else ''}",
                 *legal_lines(case),
                 "材料："]
        lines += [f"  {m.name}（{m.form_label}）：{m.status_label}{'，须于 ' + m.due_date + ' 前补交' if m.due_date else ''}"
                  for m in case.materials]
        lines.append("办理记录：")
        lines += [f"  {t.at}  {t.label}  {t.who(case.filed_by_station)}  {t.detail}" for t in case.timeline]
        return "\n".join(lines)

    ctx.out(data, text)


@command(case_group, "recall", login="handle")
@click.argument("number")
@click.option("--note", required=True, help="收回情况（如：已收回原件；已电话告知申请人原文书作废）")
@click.option("--kind", type=click.Choice(["correction", "result", "refusal"]), default=None,
              help="只登记这一种作废文书（默认登记本件全部作废文书）")
def case_recall(ctx: Context, number: str, note: str, kind: str | None) -> None:
    """登记作废文书已收回或已告知申请人（所依据的决定未生效的通知书）。"""
    from station.void_notices import record_recall

    with open_store(ctx) as store:
        recalled = record_recall(store, number, ctx.operator, note, kind=kind)
    ctx.out({"number": number, "recalled": [v.to_dict() for v in recalled]},
            "\n".join(f"已登记收回：{v.case_number} 于 {v.printed_on} 打印的《{v.title}》" for v in recalled))


@command(case_group, "material", login="handle")
@click.argument("number")
@click.option("--received", "keys", required=True, help="补交的材料编码，逗号分隔")
def case_material(ctx: Context, number: str, keys: str) -> None:
    """登记补交的容缺或补正材料。"""
    from station.cases import record_materials

    with open_store(ctx) as store:
        case = record_materials(store, number, [k.strip() for k in keys.split(",") if k.strip()],
                                ctx.operator)
    ctx.out(case.summary_dict(), f"已登记补交材料：{case.number}（{case.status_label}）")


@command(case_group, "withdraw", login="handle")
@click.argument("number")
@click.option("--reason", required=True)
def case_withdraw(ctx: Context, number: str, reason: str) -> None:
    """申请人撤回申请。"""
    from station.cases import withdraw

    with open_store(ctx) as store:
        case = withdraw(store, number, reason, ctx.operator)
    ctx.out(case.summary_dict(), f"已撤回：{case.number}")


@command(case_group, "deliver", login="handle")
@click.argument("number")
@click.option("--to", "to_whom", required=True, help="领取人姓名")
@click.option("--id-checked", is_flag=True, help="已核验领取人身份证件")
@click.option("--trips", type=int, default=None, help="申请人为此事跑了几次（含今天领取；上门或代办送达为0）")
def case_deliver(ctx: Context, number: str, to_whom: str, id_checked: bool, trips: int | None) -> None:
    """登记结果已交付申请人。"""
    from station.cases import deliver

    with open_store(ctx) as store:
        case = deliver(store, number, to_whom, id_checked, ctx.operator, trips=trips)
    ctx.out(case.summary_dict(), f"已登记送达：{case.number}")


@command(case_group, "rate", login="handle")
@click.argument("number")
@click.option("--level", type=click.IntRange(1, 5), required=True, help="5 非常满意、4 满意、3 基本满意、2 不满意、1 非常不满意")
@click.option("--channel", default="纸质", show_default=True, help="评价渠道：窗口、代办、纸质（评价卡）、电话回访")
@click.option("--detail", default="", help="具体意见（不满意、非常不满意时必填）")
@click.option("--rater", default="", help="实际评价人（默认申请人）")
def case_rate(ctx: Context, number: str, level: int, channel: str, detail: str, rater: str) -> None:
    """录入好差评（评价卡、电话回访等）。经办此件的代办员不能录入对自己的评价。"""
    from station.ratings import rate

    with open_store(ctx) as store:
        rating = rate(store, number, level, ctx.operator, detail=detail, rater_name=rater, channel=channel)
    ctx.out(rating.to_dict(), f"已录入评价：{rating.label}（{rating.channel}）"
            + (f"，差评整改期限 {rating.followup_due}" if rating.followup_due else ""))


@command(case_group, "revisit", login="handle")
@click.argument("number")
@click.option("--method", default="电话", show_default=True, help="回访方式：电话、上门、短信、其他")
@click.option("--result", "result_text", required=True, help="回访结果（群众怎么说）")
@click.option("--satisfied/--not-satisfied", default=None, help="群众对处理是否满意")
def case_revisit(ctx: Context, number: str, method: str, result_text: str, satisfied: bool | None) -> None:
    """登记回访（日期、方式、结果）。"""
    from station.ratings import revisit

    with open_store(ctx) as store:
        visit = revisit(store, number, method, result_text, ctx.operator, satisfied=satisfied)
    ctx.out(visit.to_dict(), f"已登记回访：{visit.day} {visit.method}：{visit.result}")


@command(case_group, "handover", login="handle")
@click.argument("number")
@click.option("--to", "to", default="", help="接收单位（默认为事项的受理机关）")
def case_handover(ctx: Context, number: str, to: str) -> None:
    """登记已把纸质材料移交乡镇（收件后3个工作日内）。"""
    from station.cases import hand_over

    with open_store(ctx) as store:
        case = hand_over(store, number, ctx.operator, to)
    ctx.out({**case.summary_dict(), "legal": case.legal.to_dict()},
            f"已登记移交：{case.number}（{case.legal.handed_over_at}，期限 {case.legal.handover_due}）")


COMMANDS: list[click.Command] = [case_group]
