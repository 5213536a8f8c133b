"""The composition root of the terminal UI: builds the session, opens the first screen.

`station` with no arguments calls :func:`run_app` (via station/tui/launch.py). The app knows no
SQL and no HTTP: screens call the domain (station/, forms/) and the sync service in workers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import traceback
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from textual import events
from textual.app import App
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.notifications import SeverityLevel

from forms.catalog import Catalog
from station.home import is_station_home
from station.operators import Operator
from station.tui import routes, zh
from station.tui.session import Session

LOG_DIR = "logs"
ERROR_LOG = "tui-errors.log"
IDLE_CHECK_SECONDS = 5.0  # how often the idle lock looks at the time of the last key or mouse event
# Closing the terminal window (SIGHUP) or shutting the PC down (SIGTERM): the draft is written first.
FLUSH_SIGNALS = ("SIGTERM", "SIGHUP")


class StationApp(App[None]):
    """村级便民服务站 terminal UI."""

    CSS_PATH = Path(__file__).with_name("station.tcss")
    TITLE = "村级便民服务站"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [Binding("ctrl+q", "quit", "退出", show=False, priority=True)]

    def __init__(self, home: Path, debug: bool = False, clock: Callable[[], datetime] | None = None,
                 catalog: Catalog | None = None, autosync_after: float | None = None,
                 idle_lock_after: float | None = None, idle_clock: Callable[[], float] = time.monotonic):
        zh.install()
        super().__init__()
        self.session = Session(home=Path(home), clock=clock or datetime.now, catalog=catalog)
        self.debug_mode = debug
        # Automatic sync while the UI is open, on the interval set in 设置 (the first after one interval:
        # the operator can press s any time); ``autosync_after`` overrides that first wait (tests).
        self.autosync_after = autosync_after
        self._autosync: Any = None
        # Idle lock: after the 设置 minutes (``idle_lock_minutes``) without a key or mouse event the
        # session locks. ``idle_lock_after`` (seconds) overrides the setting and ``idle_clock`` the
        # monotonic clock (tests).
        self.idle_lock_after = idle_lock_after
        self.idle_clock = idle_clock
        self.last_input = idle_clock()
        self.locked: Operator | None = None  # whose session is locked (the lock screen is on top)
        self._deferred: list[Callable[[], Any]] = []  # navigation and toasts asked for while locked
        self._signal_handlers: list[tuple[int, Any]] = []

    def on_mount(self) -> None:
        self.open("login" if is_station_home(self.session.home) else "setup")
        every = IDLE_CHECK_SECONDS
        if self.idle_lock_after is not None:
            every = min(every, max(0.05, self.idle_lock_after / 4))
        self.set_interval(every, self.check_idle_lock, name="idle-lock")
        self._install_signal_handlers()

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

    def logged_in(self, operator: Operator) -> None:
        """After a login. Unlocking as the operator whose session was locked returns to where they were;
        anyone else starts at 首页 and the locked operator's screens are closed (their intake draft
        stays in their own sealed draft file)."""
        self.last_input = self.idle_clock()
        locked, self.locked = self.locked, None
        self.session.operator = operator
        deferred, self._deferred = self._deferred, []
        if locked is not None and locked.name == operator.name:
            App.pop_screen(self)  # the lock screen
            for step in deferred:  # what finished while locked (a save's result screen) happens now
                step()
            return
        while len(self.screen_stack) > 2:
            App.pop_screen(self)
        App.switch_screen(self, routes.build("home"))
        self.start_autosync()

    def log_out(self) -> None:
        self.stop_autosync()
        self.session.operator = None
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.go("login")

    def open_case(self, number: str) -> None:
        self.open("case", number=number)

    # --- idle lock ----------------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        # Every key, mouse event and paste reaches the app first (not yet forwarded to a widget).
        if isinstance(event, (events.Key, events.MouseEvent, events.Paste)) and not event.is_forwarded:
            self.last_input = self.idle_clock()
        await super().on_event(event)

    def idle_lock_seconds(self) -> float:
        """Seconds without input before the session locks; 0 = never."""
        if self.idle_lock_after is not None:
            return self.idle_lock_after
        store = self.session.store
        return float(store.config.idle_lock_minutes) * 60 if store is not None else 0.0

    def check_idle_lock(self) -> None:
        """Lock the session when the operator has been idle for the set time (runs on a timer)."""
        timeout = self.idle_lock_seconds()
        if self.session.operator is None or self.locked is not None or timeout <= 0:
            return
        if self.idle_clock() - self.last_input >= timeout:
            self.lock_session(timeout)

    def lock_session(self, timeout: float) -> None:
        """Cover everything with the login screen, the operator's name filled in. The screens under it
        stay as they are (the intake's draft is written first); workers and the automatic sync go on."""
        operator = self.session.operator
        if operator is None or self.locked is not None:
            return
        self.flush_drafts()
        self.locked = operator
        self.clear_notifications()  # a toast may name a citizen
        minutes = f"{timeout / 60:g}"
        App.push_screen(self, routes.build("login", hint=f"已自动锁定：{minutes} 分钟无操作，请重新输入密码",
                                           locked=operator.name))
        session = self.session

        def audit() -> None:
            from station.operators import record_idle_lock

            try:
                with session.lock:
                    record_idle_lock(session.require_store(), operator, round(timeout))
            except Exception as exc:  # noqa: BLE001 - logged and shown, the lock stands
                self.call_from_thread(self.report_crash, exc)

        self.run_worker(audit, thread=True, group="audit", exit_on_error=False)

    # While locked, a screen under the lock screen may still be answered by a worker (a save ends and
    # opens its result, a dialog closes): that navigation waits for the unlock, or is dropped when
    # another operator logs in. Otherwise it would replace or close the lock screen itself.

    def push_screen(self, screen: Any, callback: Any = None, wait_for_dismiss: bool = False, *,
                    mode: str | None = None) -> Any:
        if self.locked is not None:
            self._deferred.append(lambda: App.push_screen(self, screen, callback, wait_for_dismiss, mode=mode))
            return AwaitComplete.nothing()
        return super().push_screen(screen, callback, wait_for_dismiss, mode=mode)

    def switch_screen(self, screen: Any) -> AwaitComplete:
        if self.locked is not None:
            self._deferred.append(lambda: App.switch_screen(self, screen))
            return AwaitComplete.nothing()
        return super().switch_screen(screen)

    def pop_screen(self) -> AwaitComplete:
        if self.locked is not None:
            self._deferred.append(lambda: App.pop_screen(self))
            return AwaitComplete.nothing()
        return super().pop_screen()

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """A toast raised while locked (a save under the lock screen ending, the automatic sync) may name a
        citizen to whoever stands at the PC: it waits for the same operator's unlock, like navigation, and
        is dropped when someone else logs in. The lock screen's own messages are not toasts."""
        if self.locked is not None:
            self._deferred.append(lambda: App.notify(self, message, title=title, severity=severity,
                                                     timeout=timeout, markup=markup))
            return
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    # --- drafts on the way out ----------------------------------------------------------------

    def flush_drafts(self) -> None:
        """Write every open intake's draft now, on this thread (before quitting or locking)."""
        for screen in self.screen_stack:
            flush = getattr(screen, "flush_draft", None)
            if callable(flush):
                try:
                    flush()
                except Exception as exc:  # noqa: BLE001 - logged; quitting or locking goes on
                    self.report_crash(exc)

    def _install_signal_handlers(self) -> None:
        """SIGTERM/SIGHUP write the drafts, then end the app (POSIX; elsewhere nothing special)."""
        if os.name != "posix":
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        for name in FLUSH_SIGNALS:
            sig = getattr(signal, name, None)
            if sig is None:
                continue
            try:
                previous = signal.getsignal(sig)
                loop.add_signal_handler(sig, self._terminated, sig)
            except (ValueError, RuntimeError, NotImplementedError, OSError):  # not the main thread
                continue
            self._signal_handlers.append((sig, previous))

    def _remove_signal_handlers(self) -> None:
        handlers, self._signal_handlers = self._signal_handlers, []
        if not handlers:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        for sig, previous in handlers:
            try:
                loop.remove_signal_handler(sig)
                if previous is not None:
                    signal.signal(sig, previous)
            except (ValueError, RuntimeError, OSError):
                pass

    def _terminated(self, sig: int) -> None:
        self.flush_drafts()
        self.exit(return_code=128 + int(sig))

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
        self.flush_drafts()
        await super().action_quit()

    def action_help_quit(self) -> None:
        """Ctrl+C does not quit (it copies in a text box): say in Chinese how to leave."""
        App.notify(self, "按 Ctrl+Q 退出程序（未保存的办件草稿会保留）", title="要退出吗？")  # also when locked

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
        App.notify(self, f"操作没有完成：程序内部错误（{type(exc).__name__}），{where}。请联系技术支持。",
                   title="内部错误", severity="error", timeout=15)  # names nobody: shown even when locked
        if self.debug_mode:
            self.log.error("".join(traceback.format_exception(exc)))

    def on_unmount(self) -> None:
        self._remove_signal_handlers()
        self.stop_autosync()
        self.session.close()


def run_app(home: Path, debug: bool = False) -> None:
    StationApp(home, debug=debug).run()
