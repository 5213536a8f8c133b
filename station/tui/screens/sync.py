"""同步: link state, what is waiting to go, a progress bar while syncing, the last error in Chinese.

Sync and USB export/import run in thread workers on their own store connection, so the rest of
the UI (and intake) keeps working while batches go out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, ProgressBar, Static

from forms.problems import StationError
from station.store import Store
from station.tui.screens.base import StationScreen
from station.tui.screens.dialogs import BackupDialog, FolderDialog
from sync import outbox, usb
from sync.service import SYNC_MODE_LABELS, SYNC_MODE_USB, SyncStatus, SyncSummary, sync_now, sync_status


def _time(raw: str | None) -> str:
    return raw[:16].replace("T", " ") if raw else "从未"


def status_rows(s: SyncStatus) -> list[tuple[str, str]]:
    """The sync status as (label, value) rows in Chinese."""
    rows = [("同步方式", SYNC_MODE_LABELS[s.mode]),
            ("平台地址", s.url or ("（未设置：只用U盘同步时不需要）" if s.mode == SYNC_MODE_USB
                             else "（未配置：请管理员在“设置”中从U盘载入平台公钥文件）")),
            ("网络状态", s.link_label),
            ("待上报记录", f"{s.pending_events} 条（未上传 {s.unsent_events} 条）"),
            ("批次", "，".join(f"{outbox.STATE_LABELS.get(k, k)} {v}" for k, v in s.batches.items())),
            ("上次成功同步", _time(s.last_success))]
    if s.last_attempt:
        rows.append(("上次尝试", _time(s.last_attempt)))
    rows.append(("上次错误", s.last_error or "无"))
    for b in s.held:
        rows.append((f"搁置批次 {b.seq}", f"{b.events} 条：{b.reason or ''}"))
    if s.health is not None:
        rows += [tuple(line.split("：", 1)) for line in s.health.lines()]  # type: ignore[misc]
        rows += [("提醒", w) for w in s.health.warnings]
    return rows


class SyncScreen(StationScreen):
    BINDINGS = [
        Binding("escape", "back", "返回"),
        Binding("s", "sync_now", "立即同步"),
        Binding("e", "export", "导出到U盘"),
        Binding("i", "import_", "从U盘导入"),
        Binding("b", "backup", "备份到U盘"),
        Binding("f5", "refresh", "刷新"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.busy = False
        self.last_summary: SyncSummary | None = None
        self.progress_seen: list[tuple[str, int, int]] = []

    def compose(self) -> ComposeResult:
        yield Static("同步 · 与省平台交换数据", classes="screen-title")
        with VerticalScroll(id="sync-body"):
            yield Static("正在读取同步状态……", id="sync-status")
            yield Static("", id="sync-phase", classes="hint")
            yield ProgressBar(total=None, show_eta=False, id="sync-progress")
            yield Static("", id="sync-result")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(ProgressBar).display = False
        self.action_refresh()

    def action_refresh(self) -> None:
        store = self.session.require_store()
        self.call_domain(lambda: sync_status(store), self._show_status, group="status", exclusive=True)

    def _show_status(self, status: SyncStatus) -> None:
        box = self.query_one("#sync-status", Static)
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        for label, value in status_rows(status):
            grid.add_row(label, value)
        box.update(grid)

    # --- long work ----------------------------------------------------------------------------

    def _start(self, phase: str) -> bool:
        if self.busy:
            self.app.notify("正在同步，请稍候", severity="warning")
            return False
        self.busy = True
        bar = self.query_one(ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self.query_one("#sync-phase", Static).update(phase)
        self.query_one("#sync-result", Static).update("")
        return True

    def _finish(self, text: str) -> None:
        self.busy = False
        self.query_one("#sync-result", Static).update(text)
        self.query_one("#sync-phase", Static).update("")
        self.action_refresh()

    def progress(self, phase: str, done: int, total: int) -> None:
        """Called from the worker thread by the sync service."""
        self.app.call_from_thread(self._progress, phase, done, total)

    def _progress(self, phase: str, done: int, total: int) -> None:
        self.progress_seen.append((phase, done, total))
        bar = self.query_one(ProgressBar)
        if phase == "push":
            text = f"正在上传：第 {done}/{total} 批" if total else "没有待上传的数据，正在下载……"
            if total:
                bar.update(total=total, progress=done)
            if total and done == total:
                text = f"上传完成（{total} 批），正在下载……"
        else:
            text = f"下载完成：{done} 批"
            bar.update(total=max(total, 1), progress=max(done, 1))
        self.query_one("#sync-phase", Static).update(text)

    def _own_store(self) -> Store:
        """Sync gets its own connection: a long sync never holds up the screens."""
        return Store.open(self.session.home, clock=self.session.clock)

    def action_sync_now(self) -> None:
        if not self._start("正在连接省平台……"):
            return
        self.progress_seen = []

        def run() -> SyncSummary:
            with self._own_store() as store:
                return sync_now(store, progress=self.progress)

        self.call_domain(run, self._synced, failed=self._failed, group="sync", lock=False)

    def _synced(self, summary: SyncSummary) -> None:
        self.last_summary = summary
        message, ok = summary.text(), summary.ok
        if not self.progress_seen:  # it failed before the first batch was counted
            self.query_one(ProgressBar).update(total=1, progress=1 if ok else 0)
        if not ok:
            message += "\n办件都已保存在本机，网络恢复后再按 s 同步，或按 e 用U盘导出。"
        self._finish(message)
        self.app.notify(message.splitlines()[-1] if ok else "同步没有完成，详见同步页", title="同步",
                        severity="information" if ok else "warning")

    def _failed(self, exc: StationError) -> None:
        self.query_one(ProgressBar).display = False
        self._finish(f"同步没有完成：{exc.message}\n办件都已保存在本机，网络恢复后再按 s 同步，或按 e 用U盘导出。")

    def action_export(self) -> None:
        self.app.push_screen(FolderDialog("导出到U盘", lambda f: f), lambda folder: self._usb(folder, "export"))

    def action_import_(self) -> None:
        self.app.push_screen(FolderDialog("从U盘导入", lambda f: f), lambda folder: self._usb(folder, "import"))

    def _usb(self, folder: str | None, which: str) -> None:
        if not folder:
            return
        if not self._start("正在导出……" if which == "export" else "正在导入……"):
            return
        path = Path(folder).expanduser()

        def run() -> dict[str, Any]:
            with self._own_store() as store:
                return usb.export(store, path) if which == "export" else usb.import_(store, path)

        def done(result: dict[str, Any]) -> None:
            self.query_one(ProgressBar).update(total=1, progress=1)
            errors = [e["message"] for e in result.get("errors", [])]
            if which == "export" and result.get("catchup_pending"):
                text = f"没有导出新数据（{path}）：\n{result['notice']}"
                self.app.notify("需先与平台核对，详见同步页", title="U盘导出", severity="warning")
            elif which == "export":
                text = f"导出完成（{path}）：{result['batches']} 批 {result['events']} 条，请把U盘送到平台导入"
            else:
                text = (f"导入完成（{path}）：新确认 {result['acks_applied']} 批，平台消息 {result['applied']} 条"
                        f"（冲突 {result['conflicts']}）")
                if result.get("notice"):  # what checking the chain with the platform found (a restored home)
                    text += "\n" + result["notice"]
            if errors:  # a refused file is said, never hidden behind "完成"
                text += "\n有文件没有导入：\n" + "\n".join(f"• {e}" for e in errors)
                self.app.notify(f"{len(errors)} 个文件没有导入，详见同步页", title="U盘导入", severity="warning")
            self._finish(text)

        self.call_domain(run, done, failed=self._failed, group="sync", lock=False)

    def action_backup(self) -> None:
        """Any staff role may back up (the home screen reminds them to); it runs while filing goes on."""
        home, clock, operator = self.session.home, self.session.clock, self.session.operator

        def backup(folder: str, passphrase: str) -> Any:
            from station.backup import backup_station

            with Store.open(home, clock=clock) as store:
                return backup_station(store, Path(folder).expanduser(), passphrase, operator, face="tui")

        def done(info: Any) -> None:
            if info is None:
                return
            text = (f"已备份到 {info.path}（{info.bytes // 1024} KiB，办件 {info.cases} 件）。"
                    "请记好备份口令：没有口令无法恢复。")
            self.query_one("#sync-result", Static).update(text)
            self.app.notify("备份完成", title="备份")
            self.action_refresh()

        self.app.push_screen(BackupDialog(backup), done)

    def action_back(self) -> None:
        self.app.pop_screen()
