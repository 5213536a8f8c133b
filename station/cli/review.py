"""Township review: `station review list|decide|duplicates|mark`."""

from __future__ import annotations

import click

from station.cli.options import Context, command, open_store, parse_day


@click.group("review")
def review_group() -> None:
    """审核：待办队列与审核决定。"""


@command(review_group, "list", login="any")
@click.option("--status", default=None, help="队列：待受理、等待补正、临近到期、已超期、疑似重复、差评整改，或办件状态（如 已受理）")
@click.option("--village", default=None, help="只看某村（12位区划代码）")
@click.option("--item", default=None, help="只看某事项编码")
def review_list(ctx: Context, status: str | None, village: str | None, item: str | None) -> None:
    """审核队列。"""
    from station.review import review_queue

    with open_store(ctx) as store:
        cases = review_queue(store, status=status, village=village, item=item)
    ctx.out({"cases": [c.summary_dict() for c in cases], "count": len(cases)},
            lambda: "\n".join(f"{c.number}  {c.applicant_name}  {c.item_name}  {c.status_label}  到期 {c.promised_due or '—'}"
                              f"{'【超期】' if c.overdue else ''}" for c in cases) or "队列为空")


@command(review_group, "decide", login="decide")
@click.argument("number")
@click.option("--action", type=click.Choice(["accept", "refuse", "correct", "approve", "reject", "forward", "post"]),
              required=True, help="accept 受理、refuse 不予受理、correct 要求补正、post 开始公示、approve 办结（准予）、"
                                  "reject 不予批准、forward 转报")
@click.option("--reason", default="", help="理由（不予受理、补正、不予批准时必填）")
@click.option("--materials", default="", help="要求补正的材料编码，逗号分隔（一次列全）")
@click.option("--certificate", default="", help="证书/批准文书编号")
@click.option("--to", "to", default="", help="转报机关（从事项目录所列机关中选择，可写其中一部分，如 民政局）")
@click.option("--due", default=None, help="补正期限 YYYY-MM-DD（默认10个工作日，最长30个工作日）")
@click.option("--exception-reason", default="", help="管理员第二次（或收件5个工作日后）要求补正的例外理由")
@click.option("--apply-to", default="", help="不属于本机关职权范围而不予受理时，应向哪个机关申请")
def review_decide(ctx: Context, number: str, action: str, reason: str, materials: str, certificate: str, to: str,
                  due: str | None, exception_reason: str, apply_to: str) -> None:
    """作出审核决定。"""
    from station.review import ACTION_LABELS, Decision, decide

    decision = Decision(action=action, reason=reason, certificate=certificate, to=to, due_date=parse_day(due),
                        materials=tuple(k.strip() for k in materials.split(",") if k.strip()),
                        exception_reason=exception_reason, apply_to=apply_to)
    with open_store(ctx) as store:
        case = decide(store, number, decision, ctx.operator)
    ctx.out({**case.summary_dict(), "decision": case.decision},
            f"已{ACTION_LABELS[action]}：{case.number}（{case.status_label}）")


@command(review_group, "duplicates", login="any")
def review_duplicates(ctx: Context) -> None:
    """同一申请人、同一事项的疑似重复件。"""
    from station.review import find_duplicates

    with open_store(ctx) as store:
        pairs = find_duplicates(store)
    ctx.out({"pairs": [list(p) for p in pairs]}, lambda: "\n".join(f"{a}  ⇄  {b}" for a, b in pairs) or "没有疑似重复件")


@command(review_group, "mark", login="decide")
@click.argument("number")
@click.option("--other", required=True, help="另一件的办件编号")
@click.option("--duplicate/--not-duplicate", required=True)
def review_mark(ctx: Context, number: str, other: str, duplicate: bool) -> None:
    """标记疑似重复件：是重复 / 不是重复。"""
    from station.review import mark_duplicate

    with open_store(ctx) as store:
        case = mark_duplicate(store, number, other, duplicate, ctx.operator)
    ctx.out(case.summary_dict(), f"已标记：{number} {'与' if duplicate else '不与'} {other} 重复")


COMMANDS: list[click.Command] = [review_group]
