"""Operators: `station operator add|list|disable`."""

from __future__ import annotations

import click

from forms.problems import Problem, StationError
from station.cli.options import Context, command, open_store


@click.group("operator")
def operator_group() -> None:
    """操作员管理。"""


@command(operator_group, "add", login="self")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["agent", "reviewer", "admin"]), required=True)
def operator_add(ctx: Context, name: str, role: str) -> None:
    """添加操作员（需管理员登录；站点还没有任何操作员时，可不登录添加第一位管理员）。"""
    from station.operators import add_operator, create_first_admin, has_operators

    with open_store(ctx) as store:
        if has_operators(store):
            admin = ctx.login(store, "admin", "添加操作员")
            op = add_operator(store, name, role, ctx.new_password(f"「{name}」的新密码"), admin)
        elif role != "admin":
            raise StationError("first_operator_admin", "本站还没有操作员：第一位操作员必须是管理员（--role admin）",
                               [Problem("role", "first_admin", "第一位操作员必须是管理员")])
        else:
            op = create_first_admin(store, name, ctx.new_password(f"「{name}」的新密码"))
    ctx.out({"name": op.name, "role": op.role}, f"已添加操作员「{op.name}」（{op.role_label}）")


@command(operator_group, "list", login="admin", action="查看操作员")
def operator_list(ctx: Context) -> None:
    """列出操作员。"""
    from station.operators import list_operators

    with open_store(ctx) as store:
        ops = list_operators(store)
    ctx.out({"operators": [{"name": o.name, "role": o.role, "disabled": o.disabled} for o in ops]},
            lambda: "\n".join(f"{o.name}  {o.role_label}{'（已停用）' if o.disabled else ''}" for o in ops) or "还没有操作员")


@command(operator_group, "disable", login="admin")
@click.option("--name", required=True)
def operator_disable(ctx: Context, name: str) -> None:
    """停用操作员。"""
    from station.operators import set_disabled

    with open_store(ctx) as store:
        set_disabled(store, name, True, ctx.operator)
    ctx.out({"name": name, "disabled": True}, f"已停用操作员「{name}」")


COMMANDS: list[click.Command] = [operator_group]
