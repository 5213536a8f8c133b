"""A small TCP proxy that behaves like an EDGE-class link: limited bandwidth, long round trips.

Each direction is one shared link (all connections queue on it, as on a real modem): a chunk
leaves after the link has finished sending everything before it at ``kbit/s``, and arrives
``rtt/2`` later. Byte counters make it useful for counting what really crosses the wire too
(run with rate 0 = unlimited and rtt 0).

    python bench/edge_proxy.py --listen 8701 --target 127.0.0.1:8700 --up-kbit 240 --down-kbit 240 --rtt-ms 800
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time


class Link:
    """One direction: serialisation at a rate, then propagation delay."""

    def __init__(self, kbit: float, one_way_s: float):
        self.bytes_per_s = kbit * 1000 / 8 if kbit > 0 else 0.0
        self.one_way_s = one_way_s
        self.busy_until = 0.0
        self.bytes = 0

    def schedule(self, size: int) -> float:
        now = time.monotonic()
        start = max(now, self.busy_until)
        done = start + (size / self.bytes_per_s if self.bytes_per_s else 0.0)
        self.busy_until = done
        self.bytes += size
        return done + self.one_way_s


class EdgeProxy:
    def __init__(self, target_host: str, target_port: int, up_kbit: float = 240, down_kbit: float = 240,
                 rtt_ms: float = 800, listen_host: str = "127.0.0.1", listen_port: int = 0):
        self.target = (target_host, target_port)
        self.up = Link(up_kbit, rtt_ms / 2000)
        self.down = Link(down_kbit, rtt_ms / 2000)
        self.listen = (listen_host, listen_port)
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self.connections = 0

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: Link) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                at, data = await queue.get()
                delay = at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()

        task = asyncio.create_task(deliver())
        try:
            while True:
                data = await reader.read(1460)  # about one TCP segment
                if not data:
                    break
                await queue.put((link.schedule(len(data)), data))
        except ConnectionError:
            pass
        await queue.put((time.monotonic() + link.one_way_s, b""))
        try:
            await task
        except ConnectionError:
            pass

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        await asyncio.sleep(2 * self.up.one_way_s)  # the TCP handshake costs a round trip
        server_r, server_w = await asyncio.open_connection(*self.target)
        await asyncio.gather(self._pipe(client_r, server_w, self.up), self._pipe(server_r, client_w, self.down),
                             return_exceptions=True)
        for w in (client_w, server_w):
            w.close()

    async def _main(self) -> None:
        self._server = await asyncio.start_server(self._handle, *self.listen)
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        async with self._server:
            await self._server.serve_forever()

    def start(self) -> "EdgeProxy":
        def run() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self._main())
            except asyncio.CancelledError:
                pass

        self._thread = threading.Thread(target=run, daemon=True, name="edge-proxy")
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        if not (self._loop and self._server):
            return
        server = self._server

        async def shutdown() -> None:
            server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        if self._thread:
            self._thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=int, default=8701)
    parser.add_argument("--target", default="127.0.0.1:8700")
    parser.add_argument("--up-kbit", type=float, default=240)
    parser.add_argument("--down-kbit", type=float, default=240)
    parser.add_argument("--rtt-ms", type=float, default=800)
    args = parser.parse_args()
    host, port = args.target.rsplit(":", 1)
    proxy = EdgeProxy(host, int(port), args.up_kbit, args.down_kbit, args.rtt_ms, listen_port=args.listen).start()
    print(f"EDGE proxy on 127.0.0.1:{proxy.port} → {args.target} "
          f"({args.up_kbit:g}/{args.down_kbit:g} kbit/s, RTT {args.rtt_ms:g} ms); Ctrl+C to stop")
    try:
        while True:
            time.sleep(5)
            print(f"up {proxy.up.bytes} B, down {proxy.down.bytes} B, connections {proxy.connections}")
    except KeyboardInterrupt:
        proxy.stop()


if __name__ == "__main__":
    main()
