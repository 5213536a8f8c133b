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
from station.tui import routes, zh
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
                 catalog: Catalog | None = None, autosync_after: float | None = None):
        zh.install()
        super().__init__()
        self.session = Session(home=Path(home), clock=clock or datetime.now, catalog=catalog)
        self.debug_mode = debug
        # Automatic sync while the UI is open, on the interval set in 设置 (the first after one interval:
        # the operator can press s any time); ``autosync_after`` overrides that first wait (tests).
        self.autosync_after = autosync_after
        self._autosync: Any = None

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
        self.start_autosync()

    def log_out(self) -> None:
        self.stop_autosync()
        self.session.operator = None
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.go("login")

    def open_case(self, number: str) -> None:
        self.open("case", number=number)

    # --- automatic sync -----------------------------------------------------------------------

    def start_autosync(self) -> None:
        """Sync on the 设置 interval in a thread worker, when a platform address and key are set."""
        from sync.scheduler import SyncLoop
        from sync.service import SYNC_MODE_NETWORK, sync_status

        if self._autosync is not None:
            return
        store = self.session.require_store()
        with self.session.lock:
            if sync_status(store).mode != SYNC_MODE_NETWORK:
                return
        loop = SyncLoop(self.session.home, first_sync_after=self.autosync_after,
                        on_sync=lambda summary: self.call_from_thread(self._autosynced, summary))
        self._autosync = loop
        self.run_worker(loop.run, thread=True, group="autosync", exit_on_error=False)

    def stop_autosync(self) -> None:
        if self._autosync is not None:
            self._autosync.stop.set()
            self._autosync = None

    def restart_autosync(self) -> None:
        """After the sync settings changed (address, key, interval)."""
        self.stop_autosync()
        if self.session.operator is not None:
            self.start_autosync()

    def _autosynced(self, summary: Any) -> None:
        self.last_autosync = summary
        refresh = getattr(self.screen, "action_refresh", None)  # 首页 and 同步 show the new state
        if callable(refresh):
            refresh()
        if not summary.ok and summary.link != "down":  # a plain outage is shown on 首页, not shouted
            self.notify("自动同步没有完成，详见同步页", title="同步", severity="warning")

    async def action_quit(self) -> None:
        """Ctrl+Q: an intake's last keystrokes go into its draft before the app ends (the draft is
        otherwise written a moment after typing stops, by a timer that quitting would cancel)."""
        for screen in self.screen_stack:
            flush = getattr(screen, "flush_draft", None)
            if callable(flush):
                try:
                    flush()
                except Exception as exc:  # noqa: BLE001 - logged; quitting goes on
                    self.report_crash(exc)
        await super().action_quit()

    def action_help_quit(self) -> None:
        """Ctrl+C does not quit (it copies in a text box): say in Chinese how to leave."""
        self.notify("按 Ctrl+Q 退出程序（未保存的办件草稿会保留）", title="要退出吗？")

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
        self.stop_autosync()
        self.session.close()


def run_app(home: Path, debug: bool = False) -> None:
    StationApp(home, debug=debug).run()
