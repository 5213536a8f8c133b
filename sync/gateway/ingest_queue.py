"""The gateway's ingest queue: uploads wait here in arrival order, and each free ingest thread takes
every upload waiting (up to ``ingest_group``) and writes them with one commit.

Why a queue and not a thread per request: ingest is CPU work in Python under one GIL, so threads beyond
``ingest_threads`` only fight over it (docs/benchmarks.md measured ~1.8x the CPU per event with 4); and
the commit's fsync is the longest wait of a batch on SQLite, so the batches that queued up while one
group was being written share the next fsync (group commit). One batch alone is still written at once:
the queue never waits to fill a group.

``ingest_threads = 0`` (the default on SQLite) ingests on the event loop itself: no thread at all, so
no hand-over of the GIL between the loop and an ingest thread, which cost 4 % to a third of the CPU per
event under load (docs/benchmarks.md). The loop does nothing else while a group is written (a group is
a few tens of milliseconds), and after each group it lets the answers go out and new requests in
before it takes the next one. On PostgreSQL, threads let one batch be parsed while another waits on
the database.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio.to_thread

from sync.gateway.platform import IngestOutcome, Platform, Upload


class IngestQueue:
    """Created by the app; its runners start on the first upload (they need the server's event loop)."""

    def __init__(self, platform: Platform, threads: int, group: int):
        self.platform, self.threads, self.group = platform, threads, group
        self._queue: asyncio.Queue[tuple[Upload, asyncio.Future[Any]]] | None = None
        self._runners: list[asyncio.Task[None]] = []

    async def ingest(self, upload: Upload) -> IngestOutcome:
        """The upload's outcome once its group is committed; raises :class:`Refused`."""
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._runners = [asyncio.create_task(self._run(), name=f"ingest-{i}") for i in range(max(1, self.threads))]
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put((upload, done))
        return await done

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            items = [await self._queue.get()]
            while len(items) < self.group and not self._queue.empty():
                items.append(self._queue.get_nowait())
            uploads = [u for u, _ in items]
            try:
                # one batch's failure is its own answer: ingest_group applies the others without it
                if self.threads:
                    answers = await anyio.to_thread.run_sync(self.platform.ingest_group, uploads)
                else:  # on the event loop itself: no hand-over of the GIL between two threads
                    answers = self.platform.ingest_group(uploads)
            except Exception as exc:  # noqa: BLE001 - a failure outside any batch: each request answers with it
                for _, done in items:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_, done), answer in zip(items, answers):
                if done.done():  # the client went away
                    continue
                if isinstance(answer, Exception):  # Refused, or what failed this batch alone
                    done.set_exception(answer)
                else:
                    done.set_result(answer)
            if not self.threads:  # the answers go out and new requests come in before the next group
                await asyncio.sleep(0)
