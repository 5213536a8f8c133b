"""10,000 pending cases pushed over loopback end to end, and gateway ingest rate on one core.

1. A village with 10,000 filed (unsent) cases; the gateway runs as its own process
   (`station platform serve`); `sync_now` is timed from the first byte cut to the last ack and the
   inbox pull: cutting, sealing, HTTP, verification, decryption, storage and routing to the township.
2. Gateway ingest alone, in one thread (one core): the same sealed batches fed to `Platform.ingest`
   of a fresh copy of the platform home (signature check, HPKE open, zstd, JSON, personal data
   sealed at rest, case fold, routing, SQLite commit with fsync per batch).

    .venv/bin/python bench/bench_sync_push.py [CASES]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_sync_world import free_port, serve, world  # noqa: E402

from station.store import Store  # noqa: E402
from sync.gateway.platform import Platform  # noqa: E402
from sync.service import sync_now  # noqa: E402
from sync.settings import configure  # noqa: E402


def main() -> None:
    cases = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        phome, village, _ = world(root, cases)
        fresh = root / "platform-copy"
        shutil.copytree(phome, fresh)
        port = free_port()
        gateway = serve(phome, port)
        try:
            configure(village, f"http://127.0.0.1:{port}")
            with Store.open(village) as store:
                t = time.perf_counter()
                summary = sync_now(store)
                elapsed = time.perf_counter() - t
                assert summary.ok, summary.errors
                blobs = [b for (b,) in store.conn.execute("SELECT blob FROM sync_batches ORDER BY seq")]
        finally:
            gateway.terminate()
            gateway.wait()
        size = sum(map(len, blobs))
        print(f"push: {cases} cases ({summary.events_sent} events) in {summary.batches_sent} batches, "
              f"{size / 1e6:.2f} MB, loopback end to end {elapsed:.2f} s (target ≤ 15 s)")

        with Platform.open(fresh) as platform:
            t = time.perf_counter()
            events = 0
            for blob in blobs:
                events += platform.ingest(blob).events_new
            took = time.perf_counter() - t
            routed = platform.store.counts()["inbox"]
        print(f"ingest: {events} events in {took:.2f} s on one thread → {events / took:,.0f} events/s "
              f"(target ≥ 5,000); {routed} routed to the township inbox")


if __name__ == "__main__":
    main()
