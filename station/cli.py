"""The `station` command: a thin face over the domain.

It parses arguments, calls the library and formats the answer. Every command takes ``--home`` and
``--json``; with ``--json`` it prints one JSON document on stdout, and errors exit non-zero with
``{"error": {"code", "message", "problems"}}``. Without it, errors are one Chinese line on stderr;
tracebacks only with ``--debug``.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any, Callable

import click

from station.home import resolve_home
from station.problems import StationError

EXIT_ERROR = 1
EXIT_CHECK_FAILED = 3


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


class Context:
    def __init__(self, home: Path, as_json: bool, debug: bool):
        self.home = home
        self.as_json = as_json
        self.debug = debug

    def out(self, data: Any, text: str | Callable[[], str]) -> None:
        if self.as_json:
            _emit_json(data)
        else:
            click.echo(text() if callable(text) else text)


def command(group: click.Group, name: str, **kwargs: Any) -> Callable:
    """Register a subcommand with the options every command has: --home, --json, --debug."""

    def decorator(fn: Callable) -> Callable:
        @click.option("--home", "home", type=click.Path(file_okay=False), default=None,
                      help="站点目录（默认 $STATION_HOME 或用户数据目录）")
        @click.option("--json", "as_json", is_flag=True, help="输出一个JSON文档")
        @click.option("--debug", is_flag=True, hidden=True)
        @functools.wraps(fn)
        def wrapper(home: str | None, as_json: bool, debug: bool, **kw: Any) -> None:
            parent = click.get_current_context().find_root().obj or {}
            ctx = Context(resolve_home(home or parent.get("home")), as_json or parent.get("as_json", False),
                          debug or parent.get("debug", False))
            run_guarded(ctx, lambda: fn(ctx, **kw))

        return group.command(name, **kwargs)(wrapper)

    return decorator


def run_guarded(ctx: Context, action: Callable[[], Any]) -> None:
    try:
        action()
    except StationError as err:
        if ctx.debug:
            raise
        if ctx.as_json:
            _emit_json(err.to_dict())
        else:
            click.echo(f"错误：{err}", err=True)
        sys.exit(err.details.get("exit_code", EXIT_ERROR))


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False), default=None, help="站点目录")
@click.option("--json", "as_json", is_flag=True, help="输出JSON")
@click.option("--debug", is_flag=True, hidden=True)
@click.version_option(package_name="village-station")
@click.pass_context
def main(cctx: click.Context, home: str | None, as_json: bool, debug: bool) -> None:
    """村级便民服务站 —— 不带参数运行时打开操作界面。"""
    cctx.obj = {"home": home, "as_json": as_json, "debug": debug}
    if cctx.invoked_subcommand is None:
        from station.tui.launch import launch  # the UI is loaded only when it is asked for

        launch(resolve_home(home), debug=debug)


def _register() -> None:
    # Each area registers its commands; imported here so `station --help` stays fast to start.
    from station import cli_commands  # noqa: F401
    from station import cli_review  # noqa: F401
    from station import cli_sync  # noqa: F401


_register()
