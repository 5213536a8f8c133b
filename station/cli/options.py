"""What every `station` command shares: --home/--json/--debug, one JSON document or one Chinese line.

Each command-group module of this package (``cases``, ``catalog``, ``print`` …) builds its commands
with :func:`command` and exposes them in a module-level ``COMMANDS`` list; the root group in
``station/cli/__init__.py`` attaches them. The leaves never import the root.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from datetime import date
from typing import Any, Callable

import click

from station.home import resolve_home
from forms.problems import StationError

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


def command(target: click.Group | list[click.Command], name: str, **kwargs: Any) -> Callable:
    """Build a command with the options every command has (--home, --json, --debug) and add it to a
    group, or to a module's ``COMMANDS`` list for the root group to attach."""

    def decorator(fn: Callable) -> Callable:
        @click.option("--home", "home", type=click.Path(file_okay=False), default=None,
                      help="站点目录（默认 $STATION_HOME 或用户数据目录）")
        @click.option("--json", "as_json", is_flag=True, help="输出一个JSON文档")
        @click.option("--debug", is_flag=True, hidden=True)
        @functools.wraps(fn)
        def wrapper(home: str | None, as_json: bool, debug: bool, **kw: Any) -> None:
            parent = click.get_current_context().find_root().obj or {}  # the root's --home/--json
            ctx = Context(resolve_home(home or parent.get("home")), as_json or parent.get("as_json", False),
                          debug or parent.get("debug", False))
            run_guarded(ctx, lambda: fn(ctx, **kw))

        if isinstance(target, list):
            cmd = click.command(name, **kwargs)(wrapper)
            target.append(cmd)
            return cmd
        return target.command(name, **kwargs)(wrapper)

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


def open_store(ctx: Context):
    """The station store of ``--home`` (imported lazily: `station --help` stays fast)."""
    from station.store import Store

    return Store.open(ctx.home)


def open_platform(ctx: Context):
    """The platform of ``--home`` (a platform home, not a station home)."""
    from sync.gateway.platform import Platform

    return Platform.open(ctx.home)


def parse_day(value: str | None, default: date | None = None) -> date | None:
    """A YYYY-MM-DD option, or ``default`` when not given; a clear error otherwise."""
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        raise StationError("bad_date", f"日期格式应为 YYYY-MM-DD，收到 {value}") from None
