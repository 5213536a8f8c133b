"""Operators: `station operator add|list|disable`."""

from __future__ import annotations

import sys

import click

from station.cli.options import Context, command, open_store


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
    with open_store(ctx) as store:
        op = add_operator(store, name, role, password, resolve_cli_operator(store, operator))
    ctx.out({"name": op.name, "role": op.role}, f"已添加操作员「{op.name}」（{op.role_label}）")


@command(operator_group, "list")
def operator_list(ctx: Context) -> None:
    """列出操作员。"""
    from station.operators import list_operators

    with open_store(ctx) as store:
        ops = list_operators(store)
    ctx.out({"operators": [{"name": o.name, "role": o.role, "disabled": o.disabled} for o in ops]},
            lambda: "\n".join(f"{o.name}  {o.role_label}{'（已停用）' if o.disabled else ''}" for o in ops) or "还没有操作员")


@command(operator_group, "disable")
@click.option("--name", required=True)
@click.option("--operator", default=None)
def operator_disable(ctx: Context, name: str, operator: str | None) -> None:
    """停用操作员。"""
    from station.operators import resolve_cli_operator, set_disabled

    with open_store(ctx) as store:
        set_disabled(store, name, True, resolve_cli_operator(store, operator))
    ctx.out({"name": name, "disabled": True}, f"已停用操作员「{name}」")


COMMANDS: list[click.Command] = [operator_group]
