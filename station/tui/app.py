"""The composition root of the terminal UI: builds the session, opens the first screen.

`station` with no arguments calls :func:`run_app` (via station/tui/launch.py). The app knows no
SQL and no HTTP: screens call the domain (station/, forms/) and the sync service in workers.
"""

from __future__ import annotations

import traceback
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from textual.app import App
from textual.binding import Binding

from forms.catalog import Catalog
from station.home import is_station_home
from station.tui import routes
from station.tui.session import Session

LOG_DIR = "logs"
ERROR_LOG = "tui-errors.log"


class StationApp(App[None]):
    """村级便民服务站 terminal UI."""

    CSS_PATH = Path(__file__).with_name("station.tcss")
    TITLE = "村级便民服务站"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [Binding("ctrl+q", "quit", "退出", show=False, priority=True)]

    def __init__(self, home: Path, debug: bool = False, clock: Callable[[], datetime] | None = None,
                 catalog: Catalog | None = None):
        super().__init__()
        self.session = Session(home=Path(home), clock=clock or datetime.now, catalog=catalog)
        self.debug_mode = debug

    def on_mount(self) -> None:
        self.open("login" if is_station_home(self.session.home) else "setup")

    # --- navigation: screens ask for each other by name (station/tui/routes.py) -----------------

    def open(self, name: str, **kwargs: Any) -> None:
        """Push screen ``name`` (built with ``kwargs``) over the current one."""
        self.push_screen(routes.build(name, **kwargs))

    def go(self, name: str, **kwargs: Any) -> None:
        """Replace the current screen with screen ``name``."""
        self.switch_screen(routes.build(name, **kwargs))

    def back(self) -> None:
        self.pop_screen()

    def preload(self, name: str) -> None:
        """Import a screen's module ahead of need (call from a worker: some pull in reportlab)."""
        routes.screen_class(name)

    def logged_in(self) -> None:
        self.go("home")

    def log_out(self) -> None:
        self.session.operator = None
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.go("login")

    def open_case(self, number: str) -> None:
        self.open("case", number=number)

    # --- errors ------------------------------------------------------------------------------

    def report_crash(self, exc: BaseException) -> None:
        """An unexpected error: keep the traceback in the home's log, show one Chinese line."""
        path = self.session.home / LOG_DIR / ERROR_LOG
        written = True
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(f"--- {datetime.now().isoformat(timespec='seconds')}\n")
                fh.write("".join(traceback.format_exception(exc)))
        except OSError:
            written = False
        where = f"详细信息已记入 {path}" if written else "且无法写入错误日志"
        self.notify(f"操作没有完成：程序内部错误（{type(exc).__name__}），{where}。请联系技术支持。",
                    title="内部错误", severity="error", timeout=15)
        if self.debug_mode:
            self.log.error("".join(traceback.format_exception(exc)))

    def on_unmount(self) -> None:
        self.session.close()


def run_app(home: Path, debug: bool = False) -> None:
    StationApp(home, debug=debug).run()
