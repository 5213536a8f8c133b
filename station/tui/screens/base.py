"""What every screen does the same way: call the domain in a thread worker, show refusals in Chinese.

``call_domain`` runs ``fn`` in a thread worker under the session lock and hands the result (or the
``StationError``) back to the UI thread. Anything else that goes wrong is written with its
traceback to ``<home>/logs/tui-errors.log`` and shown as one Chinese line: the operator never
sees a traceback, and nothing is swallowed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, TypeVar

from textual.screen import ModalScreen, Screen
from textual.worker import Worker

from forms.problems import StationError
from station.tui.session import Session

if TYPE_CHECKING:
    from station.tui.app import StationApp

T = TypeVar("T")


class DomainCalls:
    """Mixin for screens and dialogs."""

    app: "StationApp"

    @property
    def session(self) -> Session:
        return self.app.session

    def call_domain(self, fn: Callable[[], T], done: Callable[[T], Any], *,
                    failed: Callable[[StationError], Any] | None = None, group: str = "domain",
                    exclusive: bool = False, lock: bool = True, owner: Any = None,
                    crashed: Callable[[], Any] | None = None) -> Worker:
        app = self.app
        session = self.session

        def job() -> None:
            try:
                if lock:
                    with session.lock:
                        result = fn()
                else:
                    result = fn()
            except StationError as exc:
                app.call_from_thread(failed or self.show_error, exc)
            except Exception as exc:  # noqa: BLE001 - logged with traceback and shown, never swallowed
                app.call_from_thread(app.report_crash, exc)
                if crashed is not None:
                    app.call_from_thread(crashed)
            else:
                app.call_from_thread(done, result)

        runner = owner if owner is not None else self
        return runner.run_worker(job, thread=True, group=group, exclusive=exclusive, exit_on_error=False)

    def show_error(self, exc: StationError) -> None:
        lines = [exc.message] + [p.message for p in exc.problems if p.message != exc.message][:6]
        self.app.notify("\n".join(lines), title="未完成", severity="error", timeout=8)


class StationScreen(DomainCalls, Screen):
    """A full screen of the station UI."""


class StationDialog(DomainCalls, ModalScreen):
    """A dialog over a screen; Esc closes it without doing anything."""

    BINDINGS = [("escape", "dismiss_dialog", "取消")]

    def action_dismiss_dialog(self) -> None:
        self.dismiss(None)
