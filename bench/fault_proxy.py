"""A fault-injecting HTTP proxy on loopback, between a station and the gateway (tests and bench).

It understands just enough HTTP/1.1 (request line, headers, Content-Length bodies) to break a request
or a response at a chosen point. Each request coming from the station gets one fault from a
:class:`FaultPlan`; what happened is counted per kind in ``proxy.counts``.

Faults (``KINDS``):
    pass            forwarded untouched
    delay           held 50–300 ms, then forwarded
    stall           held longer than the station's read timeout, then forwarded (the gateway acts,
                    the station has given up)
    drop_request    half the request reaches the gateway, then both connections are closed
    drop_response   the whole request is forwarded, half the response comes back, then close
    reset           the station's connection is reset (RST) before anything is forwarded
    reset_after     forwarded (the gateway acts), then the station's connection is reset
    http_500/502/503  answered by the proxy without forwarding (plain-text body, as a real proxy would)
    http_503_after  forwarded (the gateway acts), the answer replaced by a 503
    truncate        the response's body is cut short (Content-Length kept), then close
    duplicate       the request is sent to the gateway twice; the second answer is returned
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

KINDS = ("delay", "stall", "drop_request", "drop_response", "reset", "reset_after", "http_500", "http_502",
         "http_503", "http_503_after", "truncate", "duplicate")


@dataclass
class FaultPlan:
    """Which fault each request gets: ``rate`` of requests get one, cycling through ``kinds`` (shuffled
    per cycle) so every kind occurs; the rest pass. ``stall_s`` must exceed the station's timeout."""

    seed: int = 1
    rate: float = 0.5
    kinds: tuple[str, ...] = KINDS
    stall_s: float = 1.5
    enabled: bool = True
    _rng: random.Random = field(init=False)
    _queue: list[str] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def next(self) -> str:
        if not self.enabled or self._rng.random() >= self.rate:
            return "pass"
        if not self._queue:
            self._queue = list(self.kinds)
            self._rng.shuffle(self._queue)
        return self._queue.pop()


class _Closed(Exception):
    pass


def _read_until(sock: socket.socket, buf: bytearray, marker: bytes) -> bytes:
    while marker not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise _Closed
        buf += chunk
    end = buf.index(marker) + len(marker)
    head = bytes(buf[:end])
    del buf[:end]
    return head


def _read_exact(sock: socket.socket, buf: bytearray, n: int) -> bytes:
    while len(buf) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise _Closed
        buf += chunk
    out = bytes(buf[:n])
    del buf[:n]
    return out


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def _read_message(sock: socket.socket, buf: bytearray) -> tuple[bytes, bytes]:
    head = _read_until(sock, buf, b"\r\n\r\n")
    return head, _read_exact(sock, buf, _content_length(head))


def _reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _canned(status: int, reason: str) -> bytes:
    body = f"<html><body><h1>{status} {reason}</h1></body></html>".encode()
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n").encode() + body


class FaultProxy:
    """``with FaultProxy(("127.0.0.1", port), plan) as proxy: url = proxy.url``"""

    def __init__(self, target: tuple[str, int], plan: FaultPlan | None = None):
        self.target = target
        self.plan = plan or FaultPlan()
        self.counts: Counter[str] = Counter()
        self.requests = 0
        self.connections: list[list[str]] = []  # per client connection: its request lines, in order
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)

    def __enter__(self) -> "FaultProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(timeout=5)

    @property
    def faults(self) -> int:
        return sum(n for k, n in self.counts.items() if k != "pass")

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _upstream(self, head: bytes, body: bytes, partial: bool = False) -> tuple[bytes, bytes]:
        with socket.create_connection(self.target, timeout=30) as up:
            if partial:
                up.sendall((head + body)[: (len(head) + len(body)) // 2])
                return b"", b""
            up.sendall(head + body)
            return _read_message(up, bytearray())

    def _serve(self, client: socket.socket) -> None:
        buf = bytearray()
        with self._lock:
            seen: list[str] = []
            self.connections.append(seen)
        try:
            while True:
                head, body = _read_message(client, buf)
                with self._lock:
                    seen.append(head.split(b"\r\n", 1)[0].decode("latin-1"))
                    fault = self.plan.next()
                    self.counts[fault] += 1
                    self.requests += 1
                if not self._apply(fault, client, head, body):
                    return
        except (_Closed, OSError, ValueError):
            pass
        finally:
            try:
                client.close()
            except OSError:
                pass

    def _apply(self, fault: str, client: socket.socket, head: bytes, body: bytes) -> bool:
        """Carry out one fault; False when the client connection is finished."""
        if fault == "delay":
            time.sleep(random.uniform(0.05, 0.3))
        elif fault == "stall":
            time.sleep(self.plan.stall_s)
        elif fault == "drop_request":
            self._upstream(head, body, partial=True)
            client.close()
            return False
        elif fault == "reset":
            _reset(client)
            return False
        elif fault.startswith("http_") and not fault.endswith("_after"):
            status = int(fault[5:])
            client.sendall(_canned(status, {500: "Internal Server Error", 502: "Bad Gateway",
                                            503: "Service Unavailable"}[status]))
            return False
        elif fault == "duplicate":
            self._upstream(head, body)
        rhead, rbody = self._upstream(head, body)
        if fault == "reset_after":
            _reset(client)
            return False
        if fault == "http_503_after":
            client.sendall(_canned(503, "Service Unavailable"))
            return False
        if fault == "drop_response":
            whole = rhead + rbody
            client.sendall(whole[: len(whole) // 2])
            client.close()
            return False
        if fault == "truncate":
            client.sendall(rhead + rbody[: len(rbody) // 2])
            client.close()
            return False
        client.sendall(rhead + rbody)
        return True
