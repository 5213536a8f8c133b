"""A real `station` in a real terminal (tmux): closing the window (SIGHUP) or shutting the PC down
(SIGTERM) right after typing writes the intake draft first, so the last keystrokes are not lost to
the 0.4 s debounce."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Callable

import pytest

from station.operators import add_operator, os_account
from station.store import Store
from station.tui import drafts

pytestmark = pytest.mark.skipif(os.name != "posix" or shutil.which("tmux") is None,
                                reason="needs POSIX signals and tmux")

OPERATOR = ("agent1", "agent1234")  # ASCII: typed through tmux send-keys


class Tmux:
    def __init__(self, home: Path) -> None:
        self.socket = f"station-test-{uuid.uuid4().hex[:8]}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
        env["TERM"] = "xterm-256color"
        self.env = env
        self._run("new-session", "-d", "-s", "t", "-x", "100", "-y", "30",
                  "env", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", sys.executable, "-m", "station", "--home", str(home))
        self.pid = int(self._run("list-panes", "-t", "t", "-F", "#{pane_pid}").strip())

    def _run(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], env=self.env, check=True,
                              capture_output=True, text=True, timeout=30).stdout

    def screen(self) -> str:
        return self._run("capture-pane", "-p", "-t", "t")

    def keys(self, *keys: str, literal: bool = False) -> None:
        self._run("send-keys", "-t", "t", *(("-l",) if literal else ()), *keys)

    def wait(self, condition: Callable[[str], bool], timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if condition(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"screen not reached in time:\n{text}")
            time.sleep(0.02)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], env=self.env, capture_output=True, timeout=30)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_signal_writes_the_draft_before_exiting(demo_home: Path, sig: signal.Signals) -> None:
    with Store.open(demo_home) as store:
        add_operator(store, OPERATOR[0], "agent", OPERATOR[1], os_account())
    tmux = Tmux(demo_home)
    try:
        tmux.wait(lambda s: "登录" in s and "操作员" in s)
        time.sleep(0.5)  # the operator list lands in a worker and may move the focus
        tmux.keys(OPERATOR[0], literal=True)
        tmux.keys("Enter")
        time.sleep(0.3)
        tmux.keys(OPERATOR[1], literal=True)
        tmux.keys("Enter")
        tmux.wait(lambda s: "首页" in s)
        tmux.keys("n")
        tmux.wait(lambda s: "新建办件" in s)
        time.sleep(0.5)  # the catalog loads in a worker
        tmux.keys("gljt", literal=True)
        tmux.keys("Enter")
        tmux.wait(lambda s: "姓名" in s)
        tmux.keys("ZHANG", literal=True)
        tmux.wait(lambda s: "ZHANG" in s)
        time.sleep(1.5)  # the debounced draft holds "ZHANG"
        tmux.keys("XIUYING", literal=True)
        tmux.wait(lambda s: "ZHANGXIUYING" in s, timeout=30)
        os.kill(tmux.pid, sig)  # well within the 0.4 s debounce of the last key shown
        deadline = time.monotonic() + 30
        while alive(tmux.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(tmux.pid), "the app did not end on the signal"
    finally:
        tmux.close()
    with Store.open(demo_home) as store:
        draft = drafts.load_draft(demo_home, store.codec, OPERATOR[0])
    assert draft is not None and draft["applicant"]["name"] == "ZHANGXIUYING"
