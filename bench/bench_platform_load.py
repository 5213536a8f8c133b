"""Load on the platform gateway: S simulated stations, B batches of E events each, C concurrent clients.

Set-up (not timed): one real village files cases; its event log is the template every simulated
village's log is made from (its own station id, event ids and case numbers with their check
characters). Stations get their own keys and are enrolled as `platform enroll` does: villages, and
one township per ``--per-township`` villages (so every case event is routed into an inbox). Every
envelope is sealed before the clock starts. The gateway runs as `station platform serve` in its own
processes (``--workers``) on SQLite or on a fresh PostgreSQL database.

Timed: C client threads take stations one at a time and send that station's batches in order,
one request at a time (raw HTTP/1.1 over a kept-alive connection). Reported: events/s, batches/s,
ack latency p50/p95/p99/max, errors by code, the gateway's CPU seconds (its processes: supervisor
and workers) and PostgreSQL's (its backends), peak RSS per worker, events per gateway CPU second.
Afterwards: every event is on the platform exactly once, every township's inbox has each of its
villages' case events once, and a full re-send (timed too) changes nothing.

    .venv/bin/python bench/bench_platform_load.py --stations 2000 --batches 5 --events 100 \\
        --concurrency 200 --store postgres --workers 4
    .venv/bin/python bench/bench_platform_load.py --profile 200 --store sqlite   # ingest in one thread, cProfile

PostgreSQL: the server at STATION_TEST_PG (default postgresql://postgres@127.0.0.1:5432/postgres);
a database is made for the run and dropped after.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine  # noqa: E402
from station.casenumber import CaseNumber, parse  # noqa: E402
from station.store import Store  # noqa: E402
from station.testing import VILLAGE  # noqa: E402
from sync import envelope as env  # noqa: E402
from sync.gateway.platform import Platform  # noqa: E402
from sync.gateway.testing import STATION_CLI, file_cases, free_port, make_platform  # noqa: E402
from sync.keys import Enrolment  # noqa: E402

SERVER = os.environ.get("STATION_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
CASE_RE = re.compile(VILLAGE + r"-\d{6}-\d{4}-[0-9X]")


# --- the world ----------------------------------------------------------------------------------

def template_events(root: Path, need: int) -> list[dict]:
    """A real village's first ``need`` events (filed through the domain, as an office does)."""
    from station.setup import init_station
    from station.testing import TEST_ADMIN, TEST_PASSWORD

    home = root / "template"
    init_station(home, VILLAGE, "模板村便民服务站", "village", admin=(TEST_ADMIN, TEST_PASSWORD))
    with Store.open(home) as store:
        while store.last_local_seq() < need:
            file_cases(store, 20, rng=random.Random(store.last_local_seq()))
        return [store.wire_event(e) for e in store.iter_events("origin='local'")][:need]


def codes(villages: int, per_township: int) -> tuple[list[str], list[str]]:
    """Division codes: townships 421381TTT000, their villages 421381TTTVVV (VVV from 201)."""
    vs, ts = [], []
    for i in range(villages):
        t, v = divmod(i, per_township)
        township = f"421381{100 + t:03d}000"
        if not ts or ts[-1] != township:
            ts.append(township)
        vs.append(f"421381{100 + t:03d}{201 + v:03d}")
    return vs, ts


def station_events(template: list[dict], sid: str) -> list[dict]:
    text = json.dumps(template, ensure_ascii=False)
    text = CASE_RE.sub(lambda m: str(CaseNumber(sid, parse(m.group(0)).day, parse(m.group(0)).sequence)), text)
    return json.loads(text.replace(VILLAGE, sid))


def seal_station(events: list[dict], keys: env.SecretKeys, platform: env.PublicKeys, per_batch: int) -> list[bytes]:
    blobs, prev = [], env.GENESIS_HASH
    for n, i in enumerate(range(0, len(events), per_batch), 1):
        chunk = events[i:i + per_batch]
        blob = env.seal(chunk, keys, platform, n, prev, max(e["hlc"] for e in chunk))
        blobs.append(blob)
        prev = env.batch_hash(blob)
    return blobs


@contextmanager
def platform_database(store: str) -> Iterator[str | None]:
    """A fresh PostgreSQL database for the run (dropped afterwards), or None for SQLite."""
    if store != "postgres":
        yield None
        return
    import psycopg

    dbname = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(SERVER, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{dbname}"')
    p = urlsplit(SERVER)
    try:
        yield urlunsplit((p.scheme, p.netloc, "/" + dbname, p.query, p.fragment))
    finally:
        with psycopg.connect(SERVER, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


# --- measuring processes ------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, kernel_only: bool = False) -> float:
    """User + system CPU seconds of a process (system only with ``kernel_only``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[12]) + (0 if kernel_only else int(fields[11]))) / TICK
    except OSError:
        return 0.0


def peak_rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def postgres_pids() -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if (p / "comm").read_text().strip() in ("postgres", "postmaster"):
                    out.append(int(p.name))
            except OSError:
                pass
    return out


def postgres_cpu() -> dict[int, float]:
    return {pid: cpu_seconds(pid) for pid in postgres_pids()}


# --- sending ------------------------------------------------------------------------------------

def send_all(port: int, work: list[list[bytes]], concurrency: int) -> tuple[list[float], Counter, Counter]:
    """Each station's batches in order, C clients at a time; (latencies, errors by code, ack statuses)."""
    todo: queue.Queue[list[bytes]] = queue.Queue()
    for blobs in work:
        todo.put(blobs)
    latencies: list[float] = []
    errors: Counter = Counter()
    statuses: Counter = Counter()
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine: list[float] = []
        while True:
            try:
                blobs = todo.get_nowait()
            except queue.Empty:
                break
            for blob in blobs:
                for attempt in range(20):
                    t = time.perf_counter()
                    try:
                        conn.request("POST", "/v1/batches", body=blob,
                                     headers={"Content-Type": "application/octet-stream"})
                        r = conn.getresponse()
                        body = r.read()
                    except (OSError, http.client.HTTPException) as exc:
                        conn.close()
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                        with lock:
                            errors[type(exc).__name__] += 1
                        time.sleep(0.2)
                        continue
                    mine.append(time.perf_counter() - t)
                    if r.status == 200:
                        with lock:
                            statuses[r.getheader("X-Ack-Status")] += 1
                        break
                    code = json.loads(body)["error"]["code"] if body.startswith(b"{") else str(r.status)
                    with lock:
                        errors[code] += 1
                    time.sleep(float(r.getheader("Retry-After") or 0.2))
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, statuses


def store_bytes(phome: Path, query, store: str) -> int:
    """The platform's state on disk after the run: platform.db with its WAL, or the PostgreSQL database."""
    if store == "postgres":
        return int(query("SELECT pg_database_size(current_database())")[0][0])
    return sum(p.stat().st_size for p in phome.glob("platform.db*"))


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000 if s else 0.0


# --- the run ------------------------------------------------------------------------------------

def run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        per_station = args.batches * args.events
        t0 = time.perf_counter()
        template = template_events(root, per_station)
        with platform_database(args.store) as url:
            phome, _ = make_platform(root, database=url)
            villages, townships = codes(args.stations - args.stations // (args.per_township + 1),
                                        args.per_township)
            work: list[list[bytes]] = []
            with Platform.open(phome) as platform:
                # generous limits: the load is the subject here, not the flood guard or the quota
                cfg = (phome / "platform.toml").read_text()
                cfg = re.sub(r"rate_per_minute = \d+", "rate_per_minute = 1000000", cfg)
                cfg = re.sub(r"flood_per_minute = \d+", "flood_per_minute = 100000000", cfg)
                cfg = re.sub(r"flood_burst = \d+", "flood_burst = 10000000", cfg)
                if args.ingest_group:
                    cfg = re.sub(r"ingest_group = \d+", f"ingest_group = {args.ingest_group}", cfg)
                if args.ingest_threads >= 0:
                    cfg = re.sub(r"ingest_threads = \d+", f"ingest_threads = {args.ingest_threads}", cfg)
                (phome / "platform.toml").write_text(cfg)
                for code in townships:
                    keys = env.SecretKeys.generate(code)
                    platform.enroll(Enrolment(code, "township", f"镇{code[6:9]}", keys.public))
                for code in villages:
                    keys = env.SecretKeys.generate(code)
                    platform.enroll(Enrolment(code, "village", f"村{code[6:]}", keys.public))
                    work.append(seal_station(station_events(template, code), keys, platform.keys.public, args.events))
            setup_s = time.perf_counter() - t0
            random.Random(1).shuffle(work)
            port = free_port()
            cmd = [*STATION_CLI, "platform", "serve", "--home", str(phome), "--port", str(port), "--log-level",
                   "warning", "--workers", str(args.workers)]
            gateway = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    try:
                        c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                        c.request("GET", "/v1/ready")
                        if c.getresponse().status == 200:
                            break
                    except OSError:
                        time.sleep(0.1)
                procs = [gateway.pid, *children(gateway.pid)]
                spy = None
                if args.py_spy:  # where the gateway's time goes under load (threads on the CPU; --py-spy-gil:
                    # only the thread holding the GIL, which over-weights whatever runs before a hand-over)
                    spy = subprocess.Popen([args.py_spy_bin, "record", "--pid", str(gateway.pid), "--subprocesses",
                                            *(["--gil"] if args.py_spy_gil else []), "--rate", "250", "--format", "raw", "--output", args.py_spy],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    time.sleep(1.0)
                cpu0 = sum(cpu_seconds(p) for p in procs)
                sys0 = sum(cpu_seconds(p, kernel_only=True) for p in procs)
                pg0 = postgres_cpu()
                t = time.perf_counter()
                latencies, errors, statuses = send_all(port, work, args.concurrency)
                elapsed = time.perf_counter() - t
                if spy is not None:
                    spy.send_signal(signal.SIGINT)
                    spy.wait(timeout=60)
                procs = [gateway.pid, *children(gateway.pid)]
                cpu = sum(cpu_seconds(p) for p in procs) - cpu0
                kernel = sum(cpu_seconds(p, kernel_only=True) for p in procs) - sys0
                pg1 = postgres_cpu()
                pg_cpu = sum(v - pg0.get(k, 0.0) for k, v in pg1.items())
                rss = [peak_rss_kib(p) for p in procs]
                t = time.perf_counter()
                cpu1 = sum(cpu_seconds(p) for p in procs)
                _, errors2, statuses2 = send_all(port, work, args.concurrency)
                resend_s = time.perf_counter() - t
                resend_cpu = sum(cpu_seconds(p) for p in procs) - cpu1
            finally:
                gateway.terminate()
                gateway.wait(timeout=60)
            with Platform.open(phome) as platform:
                q = platform.store.query
                counts = platform.store.counts()
                db_bytes = store_bytes(phome, q, args.store)
                per = dict(q("SELECT station, count(*) FROM events WHERE station != 'platform' GROUP BY station"))
                distinct = q("SELECT count(DISTINCT id) FROM events")[0][0]
                routed = dict(q("SELECT i.station, count(*) FROM inbox i JOIN events e ON e.id = i.event_id"
                                " WHERE e.station != 'platform' GROUP BY i.station"))
                case_events = dict(q("SELECT substr(station, 1, 9), count(*) FROM events WHERE case_number IS NOT NULL"
                                     " AND station != 'platform' GROUP BY substr(station, 1, 9)"))
    events = len(villages) * per_station
    exactly_once = (all(per.get(v) == per_station for v in villages) and counts["events"] == distinct
                    and counts["batches"] == len(villages) * args.batches)
    routed_ok = all(routed.get(t, 0) == case_events.get(t[:9], 0) for t in townships)
    return {
        "machine": machine(), "date": date.today().isoformat(), "store": args.store, "workers": args.workers,
        "ingest_threads": args.ingest_threads if args.ingest_threads >= 0 else "default", "ingest_group": args.ingest_group or "default",
        "stations": len(villages) + len(townships), "villages": len(villages), "townships": len(townships),
        "batches_per_station": args.batches, "events_per_batch": args.events, "concurrency": args.concurrency,
        "events": events, "setup_s": round(setup_s, 1), "elapsed_s": round(elapsed, 2),
        "events_per_s": round(events / elapsed), "batches_per_s": round(len(villages) * args.batches / elapsed, 1),
        "ack_ms": {"p50": round(pct(latencies, .5)), "p95": round(pct(latencies, .95)),
                   "p99": round(pct(latencies, .99)), "max": round(max(latencies) * 1000) if latencies else 0},
        "errors": dict(errors), "acks": dict(statuses), "gateway_cpu_s": round(cpu, 1), "gateway_kernel_cpu_s": round(kernel, 1),
        "postgres_cpu_s": round(pg_cpu, 1) if args.store == "postgres" else None,
        "events_per_gateway_cpu_s": round(events / cpu) if cpu else None,
        "events_per_total_cpu_s": round(events / (cpu + (pg_cpu if args.store == "postgres" else 0))) if cpu else None,
        "peak_rss_mib": [round(r / 1024) for r in rss], "database_mib": round(db_bytes / 2**20),
        "exactly_once": exactly_once, "townships_got_each_case_event_once": routed_ok,
        "resend": {"s": round(resend_s, 2), "gateway_cpu_s": round(resend_cpu, 2), "acks": dict(statuses2), "errors": dict(errors2),
                   "changed_nothing": statuses2.get("duplicate", 0) == len(villages) * args.batches},
    }


def profile(args: argparse.Namespace) -> None:
    """Ingest ``--profile`` batches in one thread without HTTP, under cProfile; print where time goes."""
    import cProfile
    import pstats

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        template = template_events(root, args.batches * args.events)
        with platform_database(args.store) as url:
            phome, _ = make_platform(root, database=url)
            villages, townships = codes(max(1, args.profile // args.batches), args.per_township)
            blobs = []
            with Platform.open(phome) as platform:
                for code in townships:
                    platform.enroll(Enrolment(code, "township", code, env.SecretKeys.generate(code).public))
                for code in villages:
                    keys = env.SecretKeys.generate(code)
                    platform.enroll(Enrolment(code, "village", code, keys.public))
                    blobs += seal_station(station_events(template, code), keys, platform.keys.public, args.events)
                prof = cProfile.Profile()
                t = time.perf_counter()
                prof.enable()
                for blob in blobs:
                    platform.ingest(blob)
                prof.disable()
                elapsed = time.perf_counter() - t
    print(f"{len(blobs)} batches of {args.events} events, {args.store}, one thread: {elapsed / len(blobs) * 1000:.1f} ms"
          f" per batch, {len(blobs) * args.events / elapsed:.0f} events/s")
    stats = pstats.Stats(prof)
    stats.sort_stats("tottime").print_stats(25)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stations", type=int, default=2000)
    ap.add_argument("--batches", type=int, default=5)
    ap.add_argument("--events", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--per-township", type=int, default=20, help="villages per township")
    ap.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--ingest-threads", type=int, default=-1,
                    help="platform.toml ingest_threads (0: on the event loop; -1: as configured)")
    ap.add_argument("--ingest-group", type=int, default=0, help="platform.toml ingest_group (0: as configured)")
    ap.add_argument("--profile", type=int, default=0, help="profile ingest of this many batches instead")
    ap.add_argument("--py-spy", default="", metavar="FILE",
                    help="sample the gateway with py-spy during the timed run (collapsed stacks to FILE)")
    ap.add_argument("--py-spy-bin", default="py-spy", help="the py-spy program (pip install py-spy)")
    ap.add_argument("--py-spy-gil", action="store_true", help="sample only the thread holding the GIL")
    args = ap.parse_args()
    if args.profile:
        profile(args)
        return
    print(json.dumps(run(args), ensure_ascii=False))


if __name__ == "__main__":
    main()
