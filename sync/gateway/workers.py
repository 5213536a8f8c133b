"""`station platform serve --workers N`: N gateway processes sharing one listening socket.

The supervisor binds the port once and forks the workers, which all accept on that inherited socket
(the kernel hands each new connection to one of them). Each worker opens its own platform (its own
connection pool: nothing database-related crosses a fork) and runs uvicorn on the shared socket. A
worker that dies is replaced; SIGTERM or SIGINT stops them all gracefully (uvicorn finishes the
requests in flight).

The per-address flood guard, the station quota and the connection cap live in each worker's memory:
with N workers each gets 1/N of the configured figures, so the platform as a whole keeps to them
(roughly: a station's connections are spread over the workers by the kernel).

Several workers need PostgreSQL: the SQLite store is one writer in one process
(sync/gateway/pg_store.py says how workers keep each station's batches in order, exactly once).
"""

from __future__ import annotations

import logging
import math
import os
import signal
import socket
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

from sync.errors import SyncError

log = logging.getLogger("sync.gateway")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def bind(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """The listening socket, or a Chinese ``cannot_listen`` error (port taken, no such address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise SyncError("cannot_listen", f"无法在 {host}:{port} 上监听：{exc.strerror or exc}（端口已被占用，"
                                         "或本机没有这个地址）") from None
    sock.set_inheritable(True)
    return sock


def share(config, workers: int):  # type: ignore[no-untyped-def]
    """The limits one of ``workers`` processes enforces (each 1/N of the platform's)."""
    if workers <= 1:
        return config
    return replace(config, rate_per_minute=math.ceil(config.rate_per_minute / workers),
                   flood_per_minute=math.ceil(config.flood_per_minute / workers),
                   flood_burst=math.ceil(config.flood_burst / workers),
                   max_connections=math.ceil(config.max_connections / workers))


def _run_worker(home: Path, url: str | None, sock: socket.socket | None, host: str, port: int, workers: int,
                log_level: str, tls_cert: str | None, tls_key: str | None,
                on_ready: Callable[[str], None] | None = None) -> None:
    from sync.gateway.app import make_server
    from sync.gateway.platform import Platform

    with Platform.open(home, url) as platform:
        platform.config = share(platform.config, workers)
        server = make_server(platform, host, port, log_level=log_level, tls_cert=tls_cert, tls_key=tls_key)
        if on_ready:
            on_ready(platform.config.name)
        from sync.gateway.ops import start_trimming

        stop_trimming = start_trimming(platform)
        try:
            server.run(sockets=[sock] if sock else None)
        finally:
            stop_trimming.set()


def serve(home: Path, url: str | None, host: str, port: int, workers: int = 1, log_level: str = "info",
          tls_cert: str | None = None, tls_key: str | None = None,
          on_ready: Callable[[str], None] | None = None) -> None:
    """Run the gateway in this process (one worker) or as a supervisor of ``workers`` forked processes."""
    from sync.gateway.platform import Platform

    if workers <= 1:
        sock = bind(host, port)  # a port taken is a clear error, not uvicorn's log line and exit status 3
        try:
            _run_worker(home, url, sock, host, port, 1, log_level, tls_cert, tls_key, on_ready)
        finally:
            sock.close()
        return
    # Checked (and migrated) once, before any worker starts; the workers find nothing left to migrate
    with Platform.open(home, url) as platform:
        name = platform.config.name
    metrics_dir = tempfile.mkdtemp(prefix="station-metrics-")
    os.environ[MULTIPROC_ENV] = metrics_dir  # before any worker imports prometheus_client
    sock = bind(host, port)
    children: dict[int, int] = {}  # pid -> worker number
    stopping = False

    def spawn(n: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 0
            try:
                _run_worker(home, url, sock, host, port, workers, log_level, tls_cert, tls_key)
            except BaseException:  # noqa: BLE001 - a worker reports and exits; the supervisor restarts it
                log.exception("worker %d failed", n)
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children[pid] = n

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for n in range(workers):
        spawn(n)
    if on_ready:
        on_ready(name)
    try:
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            n = children.pop(pid, None)
            if n is None or stopping:
                continue
            log.warning("worker %d (pid %d) ended with status %d; starting a new one", n, pid, status)
            time.sleep(0.2)
            spawn(n)
    finally:
        sock.close()
        _cleanup_metrics(metrics_dir)


def _cleanup_metrics(path: str) -> None:
    for name in os.listdir(path):
        try:
            os.remove(os.path.join(path, name))
        except OSError:
            pass
    try:
        os.rmdir(path)
    except OSError:
        pass
