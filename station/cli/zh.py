"""Click in Chinese: its usage errors, help headings and prompts, and a JSON document for --json.

Click marks its user-facing strings with gettext (``_()`` / ``ngettext()`` bound in each of its
modules) but ships no catalogues, so an operator would read "No such command" and "Show this message
and exit.". :func:`install` binds those names to this table before any command is built (the help
option's text is taken when a command is defined). :class:`StationGroup` turns every click exception
into one Chinese line, or, with ``--json`` anywhere on the line, into the same JSON error document as
every other failure, with a stable code and exit status 2.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

# Click 8.x msgids (click/*.py) -> Chinese. Format fields are kept as they are.
ZH: dict[str, str] = {
    "Aborted!": "已取消。",
    "Commands": "命令",
    "Options": "选项",
    "Positional arguments": "参数",
    "Usage:": "用法：",
    "Missing command.": "缺少命令。",
    "default: {default}": "默认：{default}",
    "required": "必填",
    "env var: {var}": "环境变量：{var}",
    "deprecated": "已停用",
    "(dynamic)": "（动态）",
    "%(prog)s, version %(version)s": "%(prog)s 版本 %(version)s",
    "Show the version and exit.": "显示版本号后退出。",
    "Show this message and exit.": "显示本帮助后退出。",
    "Confirm the action without prompting.": "不再询问，直接确认。",
    "Do you want to continue?": "是否继续？",
    "Error: {message}": "错误：{message}",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值不对：{message}",
    "Invalid value: {message}": "值不对：{message}",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "Missing {param_type}": "缺少{param_type}",
    "No such command {name!r}.": "没有命令 {name!r}。",
    "No such option {name!r}.": "没有选项 {name!r}。",
    "Try '{command} {option}' for help.": "运行 '{command} {option}' 查看帮助。",
    "unknown error": "未知错误",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    "Argument {name!r} takes {nargs} values.": "参数 {name!r} 需要 {nargs} 个值。",
    "Option {name!r} does not take a value.": "选项 {name!r} 不带值。",
    "Option {name!r} requires an argument.": "选项 {name!r} 需要一个值。",
    "Option {name!r} requires {nargs} arguments.": "选项 {name!r} 需要 {nargs} 个值。",
    "Invalid start character for option ({option})": "选项的开头字符不对（{option}）",
    "Got unexpected extra argument ({args})": "多出了参数（{args}）",
    "Got unexpected extra arguments ({args})": "多出了参数（{args}）",
    "Takes {nargs} values but 1 was given.": "需要 {nargs} 个值，只给了 1 个。",
    "Takes {nargs} values but {len} were given.": "需要 {nargs} 个值，给了 {len} 个。",
    "Did you mean {possibility}?": "是不是 {possibility}？",
    "(Did you mean one of: {possibilities}?)": "（是不是其中之一：{possibilities}？）",
    "Error: The two entered values do not match.": "错误：两次输入不一致。",
    "Error: invalid input": "错误：输入无效",
    "Repeat for confirmation": "再输入一遍确认",
    "Press any key to continue...": "按任意键继续……",
    "Value must be an iterable.": "值必须是一组。",
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    "directory": "目录",
    "file": "文件",
    "path": "路径",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在。",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是目录，不是文件。",
    "{name} {filename!r} is a file.": "{name} {filename!r} 是文件，不是目录。",
    "{name} {filename!r} is not executable.": "{name} {filename!r} 不可执行。",
    "{name} {filename!r} is not readable.": "{name} {filename!r} 不可读。",
    "{name} {filename!r} is not writable.": "{name} {filename!r} 不可写。",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的{number_type}。",
    "{value!r} is not a valid boolean. Recognized values: {states}": "{value!r} 不是是/否值，可用：{states}",
    "{value!r} is not a valid UUID.": "{value!r} 不是有效的 UUID。",
    "{value} is not in the range {range}.": "{value} 不在范围 {range} 内。",
    "{value!r} is not one of {choices}.": "{value!r} 不在可选值 {choices} 中。",
    "{value!r} is not {choice}.": "{value!r} 不是 {choice}。",
    "{value!r} does not match the format {format}.": "{value!r} 不符合格式 {format}。",
    "{value!r} does not match the formats {formats}.": "{value!r} 不符合格式 {formats}。",
    "{len_type} values are required, but {len_value} was given.": "需要 {len_type} 个值，给了 {len_value} 个。",
    "{len_type} values are required, but {len_value} were given.": "需要 {len_type} 个值，给了 {len_value} 个。",
}
# Type names click puts in help (as metavars) and in errors ("… is not a valid integer").
TYPE_ZH = {"integer": "整数", "float": "数字", "text": "文本", "boolean": "是否", "directory": "目录",
           "file": "文件", "path": "路径", "choice": "选项", "integer range": "整数", "float range": "数字"}
# Exception class -> the stable code a script sees in {"error": {"code": …}}.
USAGE_CODES = {"NoSuchOption": "unknown_option", "BadOptionUsage": "bad_option", "MissingParameter": "missing_value",
               "BadParameter": "bad_value", "BadArgumentUsage": "bad_argument", "UsageError": "usage_error",
               "FileError": "file_error"}

_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "termui", "types", "_termui_impl", "utils")


def zh_gettext(message: str) -> str:
    return ZH.get(message, message)


def zh_ngettext(singular: str, plural: str, n: int) -> str:
    return ZH.get(singular if n == 1 else plural, singular if n == 1 else plural)


def install() -> None:
    """Bind click's ``_``/``ngettext`` to the Chinese table (idempotent)."""
    import importlib

    for name in _MODULES:
        try:
            module = importlib.import_module(f"click.{name}")
        except ImportError:  # a module a future click drops
            continue
        if hasattr(module, "_"):
            module._ = zh_gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = zh_ngettext  # type: ignore[attr-defined]
    for type_ in (click.INT, click.FLOAT, click.STRING, click.BOOL, click.UUID):
        type_.name = TYPE_ZH.get(type_.name, type_.name)
    for cls in (click.IntRange, click.FloatRange):  # instances made later take the class's name
        cls.name = TYPE_ZH.get(cls.name, cls.name)


ARGUMENT_ZH = {"number": "办件编号", "file": "文件", "code": "事项编码", "device": "设备"}


def localise_metavars(command: click.Command) -> None:
    """Give every option and argument without an explicit metavar a Chinese one (INTEGER -> 整数), and
    the usage line its Chinese placeholders ([选项], 命令 [参数]...)."""
    command.options_metavar = "[选项]"
    if isinstance(command, click.Group):
        command.subcommand_metavar = "命令 [参数]..."
    for param in command.params:
        if isinstance(param, click.Argument) and param.metavar is None:
            param.metavar = ARGUMENT_ZH.get(param.name or "", param.metavar)
            continue
        if param.metavar is None and not getattr(param, "is_flag", False) and not isinstance(param.type, click.Choice):
            name = getattr(param.type, "name", "") or ""
            param.metavar = TYPE_ZH.get(name, TYPE_ZH.get(name.lower(), None)) or param.metavar
            if isinstance(param.type, click.Path):
                param.metavar = "目录" if not param.type.file_okay else "文件" if not param.type.dir_okay else "路径"
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            localise_metavars(sub)


def _wants_json(args: list[str]) -> bool:
    return "--json" in args


class StationGroup(click.Group):
    """The root group: click's own errors come out in Chinese, or as one JSON document with --json."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        try:
            return super().main(args=argv, prog_name=prog_name, complete_var=complete_var,
                                standalone_mode=False, **extra)
        except click.exceptions.Abort:
            click.echo("已取消。", err=True)
            code = 1
        except click.exceptions.Exit as done:
            code = done.exit_code
        except click.ClickException as err:
            code = err.exit_code
            if _wants_json(argv):
                kind = USAGE_CODES.get(type(err).__name__, "usage_error")
                if type(err).__name__ == "NoSuchCommand" or (kind == "usage_error" and "没有命令" in err.format_message()):
                    kind = "unknown_command"
                click.echo(json.dumps({"error": {"code": kind, "message": err.format_message(), "problems": []}},
                                      ensure_ascii=False, indent=2))
            else:
                err.show()
        if not standalone_mode:
            return code
        sys.exit(code)
