"""The `station` command: a thin face over the domain.

It parses arguments, calls the library and formats the answer. Every command takes ``--home`` and
``--json``; with ``--json`` it prints one JSON document on stdout, and errors exit non-zero with
``{"error": {"code", "message", "problems"}}``. Without it, errors are one Chinese line on stderr;
tracebacks only with ``--debug``.

One module per command group (``cases``, ``catalog``, ``print``, ``review``, ``stats``, ``sync``,
``platform``, ``operators``, ``db``, ``keys``, ``home`` for init/demo), the shared options in
``options``; this root group attaches each module's ``COMMANDS``.
"""

from __future__ import annotations

import click

from station.cli import zh

zh.install()  # before any command is built: click takes some of its texts when a command is defined

from station.cli import cases, catalog, db, device, home, keys, operators, platform, print as print_, review, stats, sync  # noqa: E402
from station.home import resolve_home  # noqa: E402


@click.group(cls=zh.StationGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False), default=None, help="站点目录")
@click.option("--json", "as_json", is_flag=True, help="输出JSON")
@click.option("--debug", is_flag=True, hidden=True)
@click.version_option(package_name="village-station", message="%(prog)s 版本 %(version)s")
@click.pass_context
def main(cctx: click.Context, home: str | None, as_json: bool, debug: bool) -> None:
    """村级便民服务站 —— 不带参数运行时打开操作界面。"""
    cctx.obj = {"home": home, "as_json": as_json, "debug": debug}
    if cctx.invoked_subcommand is None:
        from station.tui.launch import launch  # the UI is loaded only when it is asked for

        launch(resolve_home(home), debug=debug)


for _area in (home, catalog, cases, db, operators, print_, review, stats, keys, device, sync, platform):
    for _cmd in _area.COMMANDS:
        main.add_command(_cmd)
zh.localise_metavars(main)
