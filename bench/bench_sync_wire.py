"""Bytes on the wire per case, and 1,000 cases over a simulated EDGE link.

1. 1,000 realistic cases pushed in 100-case batches through a counting proxy (no limits): every byte
   counted both ways (TCP payload: HTTP headers, envelopes, acks, the final inbox pull), divided by
   the number of cases; beside it the zstd size of the bare case events (100 per frame).
2. The same 1,000 cases with default batches through bench/edge_proxy.py at 240 kbit/s up and down,
   800 ms RTT: elapsed time against the time their uplink bytes need at 240 kbit/s — once as a manual
   `sync now` on a cold connection, once as `sync run` does it when the link comes back (probe, then
   the sync at once on the probe's connection).

    .venv/bin/python bench/bench_sync_wire.py [EDGE_CASES]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_sync_world import free_port, serve, world  # noqa: E402
from edge_proxy import EdgeProxy  # noqa: E402

from station.store import Store  # noqa: E402
from sync.envelope import encode_events  # noqa: E402
from sync.scheduler import SyncLoop  # noqa: E402
from sync.service import SyncSummary, sync_now  # noqa: E402
from sync.settings import configure  # noqa: E402
from sync.transport import HttpTransport  # noqa: E402

CASES = 1000


def bare_size(village: Path) -> float:
    with Store.open(village) as store:
        wire = [store.wire_event(e) for e in store.local_events_after(0, 100_000) if e.type == "case.filed"]
    frames = [encode_events(wire[i:i + 100]) for i in range(0, len(wire), 100)]
    return sum(map(len, frames)) / len(wire)


def main() -> None:
    edge_cases = int(sys.argv[1]) if len(sys.argv) > 1 else CASES
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        phome, village, _ = world(root / "a", CASES, township=False)
        port = free_port()
        gateway = serve(phome, port)
        try:
            proxy = EdgeProxy("127.0.0.1", port, up_kbit=0, down_kbit=0, rtt_ms=0).start()
            configure(village, proxy.url, sync_batch_events=100, sync_batch_bytes=1024 * 1024)
            with Store.open(village) as store:
                summary = sync_now(store)
                assert summary.ok, summary.errors
                events = store.last_local_seq()
            total = proxy.up.bytes + proxy.down.bytes
            print(f"wire: {summary.batches_sent} batches of ≤100 events, {events} events for {CASES} cases")
            print(f"wire: up {proxy.up.bytes} B, down {proxy.down.bytes} B, {proxy.connections} TCP connection(s)")
            print(f"wire: {total / CASES:.0f} bytes per case on the wire (envelope + HTTP, both directions); "
                  f"uplink alone {proxy.up.bytes / CASES:.0f} B/case")
            print(f"wire: bare case events, zstd level 9, 100 per frame: {bare_size(village):.0f} bytes per case")
            proxy.stop()
        finally:
            gateway.terminate()
            gateway.wait()

        edge_cold(root / "b", edge_cases)
        edge_after_probe(root / "c", edge_cases)


def _edge_world(root: Path, cases: int) -> tuple[Path, subprocess.Popen, EdgeProxy]:
    phome, village, _ = world(root, cases, township=False)
    port = free_port()
    gateway = serve(phome, port)
    proxy = EdgeProxy("127.0.0.1", port, up_kbit=240, down_kbit=240, rtt_ms=800).start()
    configure(village, proxy.url, sync_timeout_seconds=120)
    return village, gateway, proxy


def _report(label: str, cases: int, summary: SyncSummary, proxy: EdgeProxy, elapsed: float) -> None:
    need = proxy.up.bytes / (240_000 / 8)
    print(f"edge ({label}): {cases} cases, {summary.batches_sent} batches, up {proxy.up.bytes} B, "
          f"down {proxy.down.bytes} B over 240 kbit/s, RTT 800 ms, {proxy.connections} TCP connection(s)")
    print(f"edge ({label}): {elapsed:.2f} s elapsed; their uplink bytes need {need:.2f} s at 240 kbit/s "
          f"→ {elapsed / need:.2f}× (target ≤ 1.5×)")


def edge_cold(root: Path, cases: int) -> None:
    """`station sync now` by hand: a fresh TCP connection, so at least two round trips (handshake, last
    ack) on top of the bytes."""
    village, gateway, proxy = _edge_world(root, cases)
    try:
        with Store.open(village) as store:
            t = time.perf_counter()
            summary = sync_now(store)
            elapsed = time.perf_counter() - t
            assert summary.ok, summary.errors
        _report("sync now, cold connection", cases, summary, proxy, elapsed)
    finally:
        proxy.stop()
        gateway.terminate()
        gateway.wait()


def edge_after_probe(root: Path, cases: int) -> None:
    """The way a station that was offline catches up: `station sync run` probes the platform until it
    answers, then syncs at once on the probe's connection. Timed from the probe's answer to the end of
    the sync (the probe itself is printed apart); the byte counts are the sync's alone."""
    village, gateway, proxy = _edge_world(root, cases)
    answered: list[float] = []
    health = HttpTransport.health

    def timed_health(self: HttpTransport, timeout: float = 15.0) -> bool:
        up = health(self, timeout)
        answered.append(time.perf_counter())
        proxy.up.bytes = proxy.down.bytes = 0  # count the sync's bytes only
        return up

    done: list[SyncSummary] = []
    HttpTransport.health = timed_health  # type: ignore[method-assign]
    try:
        loop = SyncLoop(village, max_syncs=1, on_sync=done.append)
        t = time.perf_counter()
        loop._probe()
        end = time.perf_counter()
        assert done and done[0].ok, done
        print(f"edge (after probe): the probe took {answered[0] - t:.2f} s (handshake + one round trip)")
        _report("sync run: link back, sync on the probe's connection", cases, done[0], proxy, end - answered[0])
    finally:
        HttpTransport.health = health  # type: ignore[method-assign]
        proxy.stop()
        gateway.terminate()
        gateway.wait()

if __name__ == "__main__":
    main()
