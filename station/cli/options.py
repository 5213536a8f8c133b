"""What every `station` command shares: --home/--json/--debug, one JSON document or one Chinese line,
and the operator login.

Every command that reads or changes case data, prints a document with personal data, manages
operators or keys, or acts on the store logs an operator in, exactly as the TUI does (same
passwords, same lock-out, every attempt audited): the name from ``--operator`` or
``STATION_OPERATOR``; the password from ``STATION_PASSWORD``, else the first line of standard input
with ``--password-stdin``, else a prompt on the terminal. A command that needs a second password
(``operator add``, ``init --admin``) reads it from the next line of standard input, or prompts.

Each command-group module of this package (``cases``, ``catalog``, ``print`` …) builds its commands
with :func:`command` and exposes them in a module-level ``COMMANDS`` list; the root group in
``station/cli/__init__.py`` attaches them. The leaves never import the root.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from datetime import date
from typing import TYPE_CHECKING, Any, Callable

import click

from forms.problems import Problem, StationError
from station.home import resolve_home

if TYPE_CHECKING:
    from station.operators import Operator
    from station.store import Store

EXIT_ERROR = 1
EXIT_CHECK_FAILED = 3


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


OPERATOR_ENV = "STATION_OPERATOR"
PASSWORD_ENV = "STATION_PASSWORD"
# What a login may require: any operator, or one holding a permission of station/operators.py.
LOGIN_ANY = "any"
LOGIN_SELF = "self"   # the options are offered; the command decides when (and whether) to log in


class Context:
    def __init__(self, home: Path, as_json: bool, debug: bool, operator_name: str | None = None,
                 password_stdin: bool = False):
        self.home = home
        self.as_json = as_json
        self.debug = debug
        self.operator_name = operator_name
        self.password_stdin = password_stdin
        self.operator: Operator | None = None

    # --- passwords and login -----------------------------------------------------------------

    def _stdin_line(self, what: str) -> str:
        line = sys.stdin.readline()
        if not line:
            raise StationError("login_required", f"标准输入中没有{what}（--password-stdin：每行一个密码）",
                               [Problem("password", "missing", f"缺少{what}")])
        return line.rstrip("\r\n")

    def login_password(self, name: str) -> str:
        """The logging-in operator's password: STATION_PASSWORD, stdin, or a terminal prompt."""
        if PASSWORD_ENV in os.environ:  # taken out: a print job or any other child must not inherit it
            self._env_password = os.environ.pop(PASSWORD_ENV)
        env = getattr(self, "_env_password", None)
        if env is not None:
            return env
        if self.password_stdin:
            return self._stdin_line("登录密码")
        if sys.stdin.isatty():
            return click.prompt(f"操作员「{name}」的密码", hide_input=True, err=True)
        raise StationError("login_required", "需要操作员密码：在终端中运行时会提示输入；脚本中请用 --password-stdin "
                                             f"或环境变量 {PASSWORD_ENV}",
                           [Problem("password", "missing", "缺少登录密码")])

    def new_password(self, label: str) -> str:
        """A password being set (a new operator's): the next stdin line, or asked twice on the terminal."""
        if self.password_stdin:
            return self._stdin_line(label)
        if sys.stdin.isatty():
            return click.prompt(label, hide_input=True, confirmation_prompt=True, err=True)
        raise StationError("password_required", f"需要{label}：在终端中运行时会提示输入；脚本中请用 --password-stdin",
                           [Problem("password", "missing", f"缺少{label}")])

    def login(self, store: Store, permission: str = LOGIN_ANY, action: str = "") -> Operator:
        """Authenticate the operator named by --operator / STATION_OPERATOR on this store."""
        from station.operators import authenticate, require

        name = (self.operator_name or os.environ.get(OPERATOR_ENV) or "").strip()
        if not name:
            raise StationError("login_required", f"请用 --operator 姓名 指定操作员（或设置环境变量 {OPERATOR_ENV}），"
                                                 "命令行与操作界面一样需要登录",
                               [Problem("operator", "required", "请指定操作员")])
        op = authenticate(store, name, self.login_password(name), face="cli")
        if permission != LOGIN_ANY:
            require(store, op, permission, action or "执行此命令")
        self.operator = op
        return op

    def out(self, data: Any, text: str | Callable[[], str]) -> None:
        if self.as_json:
            _emit_json(data)
        else:
            click.echo(text() if callable(text) else text)


def command(target: click.Group | list[click.Command], name: str, login: str | None = None,
            action: str = "", **kwargs: Any) -> Callable:
    """Build a command with the options every command has (--home, --json, --debug) and add it to a
    group, or to a module's ``COMMANDS`` list for the root group to attach.

    ``login``: None for commands that touch no station data (init, demo, catalog, platform); else the
    command gets ``--operator``/``--password-stdin`` and the operator is logged in before it runs:
    ``"any"`` for any operator, a permission (``"file"``, ``"handle"``, ``"decide"``, ``"admin"``) to
    require it, ``"self"`` when the command logs in itself (``ctx.login``) because it may not need to.
    """

    def decorator(fn: Callable) -> Callable:
        @click.option("--home", "home", type=click.Path(file_okay=False), default=None,
                      help="站点目录（默认 $STATION_HOME 或用户数据目录）")
        @click.option("--json", "as_json", is_flag=True, help="输出一个JSON文档")
        @click.option("--debug", is_flag=True, hidden=True)
        @functools.wraps(fn)
        def wrapper(home: str | None, as_json: bool, debug: bool, **kw: Any) -> None:
            parent = click.get_current_context().find_root().obj or {}  # the root's --home/--json
            ctx = Context(resolve_home(home or parent.get("home")), as_json or parent.get("as_json", False),
                          debug or parent.get("debug", False), kw.pop("operator_name", None),
                          kw.pop("password_stdin", False))

            def run() -> None:
                if login not in (None, LOGIN_SELF):
                    with open_store(ctx) as store:
                        ctx.login(store, login, action)
                fn(ctx, **kw)

            run_guarded(ctx, run)

        if login is not None:
            wrapper = click.option("--password-stdin", "password_stdin", is_flag=True,
                                   help="从标准输入读取密码（每行一个：先登录密码，再新密码）")(wrapper)
            wrapper = click.option("--operator", "operator_name", default=None, metavar="姓名",
                                   help=f"操作员姓名（默认取环境变量 {OPERATOR_ENV}）")(wrapper)

        if isinstance(target, list):
            cmd = click.command(name, **kwargs)(wrapper)
            target.append(cmd)
            return cmd
        return target.command(name, **kwargs)(wrapper)

    return decorator


def _unexpected(exc: BaseException) -> StationError | None:
    """What the disk or SQLite refused, as an operator error (a traceback only with --debug)."""
    import sqlite3

    if isinstance(exc, sqlite3.OperationalError):
        from station.store import _store_error

        return _store_error(exc)
    if isinstance(exc, sqlite3.DatabaseError):
        from station.store import damaged_store

        return damaged_store(exc)
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        return StationError("file_error", f"无法读写文件{where}：{exc.strerror or exc}。已保存的数据不受影响")
    return None


def run_guarded(ctx: Context, action: Callable[[], Any]) -> None:
    try:
        try:
            action()
        except Exception as exc:
            converted = None if isinstance(exc, StationError) or ctx.debug else _unexpected(exc)
            if converted is None:
                raise
            raise converted from None
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


# The days a command may name: a service station's records start long after the first and end long
# before the last year date() knows (whose neighbours overflow in the reports).
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


def parse_day(value: str | None, default: date | None = None) -> date | None:
    """A YYYY-MM-DD option, or ``default`` when not given; a clear error otherwise."""
    try:
        day = date.fromisoformat(value) if value else default
    except ValueError:
        raise StationError("bad_date", f"日期格式应为 YYYY-MM-DD（且是日历上有的日子），收到 {value}") from None
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise StationError("bad_date", f"日期应在 {FIRST_DAY} 到 {LAST_DAY} 之间，收到 {value}")
    return day


def output_path(ctx: Context, value: str | None, what: str = "文件") -> Path | None:
    """An --out/--to/--export path, refused when it lands in the station's own folder."""
    if not value:
        return None
    from station.home import refuse_inside_home

    return refuse_inside_home(ctx.home, Path(value), what)


def paper_format_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--format a4|roll80|roll58``: every print command offers the same formats (station.settings)."""
    from station.settings import PAPER_FORMATS

    return click.option("--format", "fmt", type=click.Choice(PAPER_FORMATS), default=None,
                        help="纸张：a4（A4 纸）、roll80（80毫米热敏卷纸）或 roll58（58毫米热敏卷纸）；默认用设置中的纸张")(f)
