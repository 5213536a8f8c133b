"""The torture loop: kill -9 at random points during filing, batch building, `station sync now`, the
gateway mid-ingest, USB export / `platform import` / `sync import`, `station db rebuild`, `station backup`
and `station restore`; after every kill, check the invariants and let the outbox converge. Used by tests/e2e/test_torture.py (CI size and
--runslow) and bench/torture.py (hundreds of kills, prints the figures).

Invariants checked after each kill:
    kept        every case whose filing returned (its number was printed) is in the store
    db_check    `station db check` passes (SQLite integrity, audit chain, gapless seqs, projections)
    platform    the gateway's database is intact and holds each event at most once, only real ones
    converged   after restarting what was killed, `sync now` succeeds: every local event is on the
                platform exactly once, sync.acked_seq = the last local seq, no gap, no held batch
    whole       (backup, restore) the killed command left nothing under its target name, or a complete
                result: the backup restores with every case it held, the restored home opens and checks

Filing runs on a clock a day ahead per 500 cases (station.testing.CrowdedDayClock): a device issues 999
case numbers a day, and hundreds of kills file more than that.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import shutil

from station.audit import check
from station.backup import make_backup, restore_station
from station.store import Store
from station.testing import CrowdedDayClock, cli_login_env
from sync.gateway.platform import Platform
from sync.service import sync_now, sync_status
from sync.settings import configure
from sync.gateway.testing import file_cases, make_platform, make_station
from sync.gateway.usb_import import platform_import
from sync.usb import export
from sync.gateway.testing import free_port as _free_port, serve_platform as _serve
from station.testing import VILLAGE

ROOT = Path(__file__).resolve().parents[1]
FILING_WORKER = ROOT / "bench" / "filing_worker.py"
WORKER = ROOT / "bench" / "torture_worker.py"
MODES = ("file", "cut", "sync", "gateway", "export", "platform_import", "usb_import", "rebuild", "backup", "restore")
INVARIANTS = ("kept", "db_check", "platform", "converged")
PASSPHRASE = "torture-backup-passphrase"


@dataclass
class Figures:
    kills: Counter[str] = field(default_factory=Counter)           # per mode
    landed: Counter[str] = field(default_factory=Counter)          # the process was still working
    checks: Counter[str] = field(default_factory=Counter)          # invariant → times it held
    cases_returned: int = 0
    whole: Counter[str] = field(default_factory=Counter)           # backup/restore: nothing / complete
    events: int = 0
    platform_events: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return {"kills": sum(self.kills.values()), "landed_mid_operation": sum(self.landed.values()),
                "per_mode": {m: {"kills": self.kills[m], "landed": self.landed[m]} for m in MODES},
                "invariant_checks_passed": dict(self.checks), "cases_returned": self.cases_returned,
                "backup_restore_after_kill": dict(self.whole),
                "station_events": self.events, "platform_events": self.platform_events,
                "seconds": round(self.seconds, 1)}


class Torture:
    def __init__(self, root: Path, seed: int = 1, initial_cases: int = 400):
        self.root = root
        self.rng = random.Random(seed)
        self.port = _free_port()
        self.phome, keys = make_platform(root)
        config = self.phome / "platform.toml"  # hundreds of syncs in a minute: not what the limit is for
        config.write_text(config.read_text(encoding="utf-8").replace("rate_per_minute = 600",
                                                                     "rate_per_minute = 1000000"), encoding="utf-8")
        self.village = make_station(root, self.phome, keys, VILLAGE, url=f"http://127.0.0.1:{self.port}")
        configure(self.village, sync_batch_bytes=2048, sync_retries=0, sync_timeout_seconds=5)
        self.stick = root / "usb"
        self.returned: set[str] = set()
        self.figures = Figures()
        self.duration: dict[str, float] = {m: 0.6 for m in MODES}  # learnt: how long each operation takes
        self.clock = CrowdedDayClock()
        self.backups = root / "backups"
        self.backups.mkdir()
        self.restores = 0
        self.learnt: set[str] = set()
        with Store.open(self.village, clock=self.clock) as store:
            self.clock.follow(store)
            self.returned.update(file_cases(store, initial_cases, self.rng))
        self.gateway = _serve(self.phome, self.port)
        self._converge()

    def close(self) -> None:
        if self.gateway.poll() is None:
            self.gateway.terminate()
            self.gateway.wait(timeout=10)

    # --- one kill ----------------------------------------------------------------------------

    def run(self, kills: int) -> Figures:
        started = time.monotonic()
        modes = list(MODES)
        for i in range(kills):
            if i % len(modes) == 0:
                self.rng.shuffle(modes)
            mode = modes[i % len(modes)]
            self.figures.kills[mode] += 1
            if getattr(self, f"_kill_{mode}")():
                self.figures.landed[mode] += 1
            self.check_invariants(mode)
        self.figures.seconds = time.monotonic() - started
        return self.figures

    def _delay(self, mode: str) -> float:
        return self.rng.uniform(0.0, self.duration[mode] * 0.9)

    def _learn(self, mode: str, argv: list[str], stdin: str) -> None:
        """Time one whole run of a command (from ``ready`` to its end), so the kills land all through it
        (a backup or a restore takes seconds: the first guess would only ever hit its start)."""
        if mode in self.learnt:
            return
        proc = subprocess.Popen([sys.executable, *argv], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                stdin=subprocess.PIPE, text=True, cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT), **cli_login_env()})
        assert proc.stdout is not None and proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
        assert proc.stdout.readline().strip() == "ready"
        began = time.monotonic()
        proc.wait()
        proc.stdout.close()
        self.duration[mode] = max(0.05, time.monotonic() - began)
        self.learnt.add(mode)

    def _kill_child(self, mode: str, argv: list[str], stdin: str = "") -> bool:
        """Start a child, wait for it to be ready, kill -9 it at a random point. True if it was still
        working when killed. Numbers it printed are cases whose filing returned."""
        # FILING_LIMIT: a filing child stops after that many cases; CROWDED_DAY: it files on a clock a day
        # ahead per 500 cases, so hundreds of kills stay under the 999 case numbers a device has per day
        proc = subprocess.Popen([sys.executable, *argv], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                stdin=subprocess.PIPE, text=True, cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT), "FILING_LIMIT": "40", "CROWDED_DAY": "500",
                                     **cli_login_env()})
        assert proc.stdout is not None and proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
        assert proc.stdout.readline().strip() == "ready"
        began = time.monotonic()
        deadline = began + self._delay(mode)
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.002)
        landed = proc.poll() is None
        if landed:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if not landed:  # it finished first: learn how long it takes, to aim better next time
            self.duration[mode] = max(0.05, time.monotonic() - began)
        output = proc.stdout.read().splitlines()
        if mode in ("file", "cut"):
            self.returned.update(line.strip() for line in output if line.strip())
        proc.stdout.close()
        return landed

    def _backlog(self, n: int = 10) -> None:
        with Store.open(self.village, clock=self.clock) as store:
            self.clock.follow(store)
            self.returned.update(file_cases(store, n, self.rng))

    def _cli(self, *args: str) -> list[str]:
        return [str(WORKER), "cli", *args]

    def _kill_file(self) -> bool:
        return self._kill_child("file", [str(FILING_WORKER), str(self.village), str(self.rng.randrange(10**6))])

    def _kill_cut(self) -> bool:
        return self._kill_child("cut", [str(WORKER), "cut", str(self.village), str(self.rng.randrange(10**6))])

    def _kill_sync(self) -> bool:
        self._backlog()
        return self._kill_child("sync", self._cli("sync", "now", "--home", str(self.village)))

    def _kill_export(self) -> bool:
        self._backlog()
        return self._kill_child("export", self._cli("sync", "export", "--home", str(self.village),
                                                    "--to", str(self.stick)))

    def _kill_platform_import(self) -> bool:
        self._backlog()
        with Store.open(self.village) as store:
            export(store, self.stick)
        return self._kill_child("platform_import", self._cli("platform", "import", "--home", str(self.phome),
                                                             "--from", str(self.stick)))

    def _kill_usb_import(self) -> bool:
        self._backlog()
        with Store.open(self.village) as store:
            export(store, self.stick)
        with Platform.open(self.phome) as platform:
            platform_import(platform, self.stick)
        return self._kill_child("usb_import", self._cli("sync", "import", "--home", str(self.village),
                                                        "--from", str(self.stick)))

    def _kill_rebuild(self) -> bool:
        return self._kill_child("rebuild", self._cli("db", "rebuild", "--home", str(self.village)))

    def _kill_backup(self) -> bool:
        """`station backup` of the running village, killed; its target must then be absent or whole."""
        self._backlog(4)
        target = self.backups / f"b{self.figures.kills['backup']}.vsbak"
        self._learn("backup", self._cli("backup", "--home", str(self.village), "--to", str(self.backups / "timing.vsbak"),
                                        "--passphrase-stdin"), PASSPHRASE + "\n")
        landed = self._kill_child("backup", self._cli("backup", "--home", str(self.village), "--to", str(target),
                                                      "--passphrase-stdin"), PASSPHRASE + "\n")
        self._check_backup(target)
        return landed

    def _check_backup(self, target: Path) -> None:
        self.figures.whole["backup_complete" if target.exists() else "backup_nothing"] += 1
        if not target.exists():
            make_backup(self.village, target, PASSPHRASE)  # the next backup of that name clears the leftovers
            left = [p.name for p in self.backups.glob(f"{target.name}.partial-*")]
            assert not left, f"after killing backup: temporary files left behind: {left}"
        home = self.root / f"check-{target.stem}"
        info = restore_station(target, home, PASSPHRASE)
        with Store.open(home) as store:
            assert check(store).ok, f"after killing backup: the backup restores a broken home"
            cases = store.conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0]
        assert cases == info.cases, "after killing backup: the backup lost cases"
        shutil.rmtree(home)

    def _kill_restore(self) -> bool:
        """`station restore` of a good backup to a new home, killed; the home must be absent or open and
        check out with every case of the backup."""
        source = self.backups / "good.vsbak"
        if not source.exists():
            make_backup(self.village, source, PASSPHRASE)
        self.restores += 1
        home = self.root / f"restored-{self.restores}"
        timing = self.root / "restored-timing"
        self._learn("restore", self._cli("restore", "--from", str(source), "--home", str(timing), "--passphrase-stdin",
                                         "--offline"), PASSPHRASE + "\n")
        shutil.rmtree(timing, ignore_errors=True)
        landed = self._kill_child("restore", self._cli("restore", "--from", str(source), "--home", str(home),
                                                       "--passphrase-stdin", "--offline"), PASSPHRASE + "\n")
        self.figures.whole["restore_complete" if home.exists() else "restore_nothing"] += 1
        if not home.exists():  # restoring again to that name works and clears the leftovers
            restore_station(source, home, PASSPHRASE)
            left = [p.name for p in self.root.glob(f".{home.name}.partial-*")]
            assert not left, f"after killing restore: temporary folders left behind: {left}"
        with Store.open(home) as store:
            assert check(store).ok, "after killing restore: the restored home is broken"
            assert store.meta_get("catchup.required") == "1"
        shutil.rmtree(home)
        return landed

    def _kill_gateway(self) -> bool:
        """The station syncs (in this process); the gateway process is killed mid-ingest, then restarted."""
        self._backlog(16)
        done = threading.Event()

        def run() -> None:
            with Store.open(self.village) as store:
                sync_now(store)
            done.set()

        runner = threading.Thread(target=run, daemon=True)
        began = time.monotonic()
        runner.start()
        deadline = began + self._delay("gateway")
        while time.monotonic() < deadline and not done.is_set():
            time.sleep(0.002)
        landed = not done.is_set()
        os.kill(self.gateway.pid, signal.SIGKILL)
        self.gateway.wait()
        runner.join(timeout=60)
        assert not runner.is_alive()
        if not landed:
            self.duration["gateway"] = max(0.05, time.monotonic() - began)
        self.gateway = _serve(self.phome, self.port)
        return landed

    # --- invariants --------------------------------------------------------------------------

    def check_invariants(self, mode: str) -> None:
        with Store.open(self.village) as store:
            kept = {n for (n,) in store.conn.execute("SELECT number FROM cases")}
            lost = self.returned - kept
            assert not lost, f"after killing {mode}: cases lost: {sorted(lost)[:3]}"
            self.figures.checks["kept"] += 1
            report = check(store)
            assert report.ok, f"after killing {mode}: db check failed: {report.problems[:3]}"
            self.figures.checks["db_check"] += 1
            local = {i for (i,) in store.conn.execute("SELECT id FROM events WHERE station=?", (VILLAGE,))}
        ids = self._platform_ids()
        assert len(ids) == len(set(ids)), f"after killing {mode}: an event is on the platform twice"
        assert set(ids) <= local, f"after killing {mode}: the platform holds events the station never wrote"
        self.figures.checks["platform"] += 1
        self._converge(mode)
        self.figures.checks["converged"] += 1
        self.figures.cases_returned = len(self.returned)
        self.figures.events = len(local)

    def _platform_ids(self) -> list[str]:
        conn = sqlite3.connect(self.phome / "platform.db", timeout=30)
        try:
            assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            return [i for (i,) in conn.execute("SELECT id FROM events WHERE station=?", (VILLAGE,))]
        finally:
            conn.close()

    def _converge(self, mode: str = "setup") -> None:
        for _ in range(3):
            with Store.open(self.village) as store:
                summary = sync_now(store)
            if summary.ok:
                break
        assert summary.ok, f"after killing {mode}: sync does not converge: {summary.errors}"
        with Store.open(self.village) as store:
            status = sync_status(store)
            last = store.last_local_seq()
            local = {i for (i,) in store.conn.execute("SELECT id FROM events WHERE station=?", (VILLAGE,))}
        assert status.cursor.acked_seq == last and status.pending_events == 0 and not status.held, \
            f"after killing {mode}: {status}"
        ids = self._platform_ids()
        assert len(ids) == len(set(ids)) and set(ids) == local, f"after killing {mode}: platform ≠ station"
        with Platform.open(self.phome) as platform:
            assert platform.store.counts()["gaps"] == 0
        self.figures.platform_events = len(ids)
