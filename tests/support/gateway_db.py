"""The platform's two stores for tests: the SQLite file, and PostgreSQL in a fresh database per platform.

The PostgreSQL server is the one at ``STATION_TEST_PG`` (default
postgresql://postgres@127.0.0.1:5432/postgres; ``scripts/test`` starts one there when none answers).
A test on PostgreSQL is never skipped: if the server does not answer, it fails and says so.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg

from sync.gateway import testing
from sync.gateway.database import DB_FILE, ENV_VAR, URL_FILE

SERVER = os.environ.get("STATION_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
STORES = ("sqlite", "postgres")


def database_url(name: str) -> str:
    parts = urlsplit(SERVER)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def admin() -> psycopg.Connection:
    """An autocommit connection to the test server's maintenance database."""
    try:
        return psycopg.connect(SERVER, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise AssertionError(f"PostgreSQL does not answer at {SERVER} (STATION_TEST_PG; scripts/test starts one):"
                             f" {exc}") from None


def create_database(tag: str = "t") -> str:
    name = f"station_{tag}_{uuid.uuid4().hex[:12]}"
    with admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" STRATEGY FILE_COPY')
    return database_url(name)


def drop_database(url: str) -> None:
    with admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{urlsplit(url).path.lstrip("/")}" WITH (FORCE)')


@contextmanager
def fresh_database(tag: str = "t") -> Iterator[str]:
    """A new, empty database on the test server for the duration; dropped afterwards."""
    url = create_database(tag)
    try:
        yield url
    finally:
        drop_database(url)


@contextmanager
def platform_database(kind: str) -> Iterator[str | None]:
    """Platforms made meanwhile by ``make_platform`` keep their state in ``kind``: the SQLite file (yields
    None), or each in a fresh PostgreSQL database (yields the URL of one made up front, for tests that run
    `station platform init --database` themselves). All are dropped afterwards."""
    saved = os.environ.pop(ENV_VAR, None)  # the developer's own setting must not leak into tests
    made: list[str] = []

    def new() -> str:
        made.append(create_database())
        return made[-1]

    testing.DATABASES["new"] = new if kind == "postgres" else None
    try:
        yield new() if kind == "postgres" else None
    finally:
        testing.DATABASES["new"] = None
        if saved is not None:
            os.environ[ENV_VAR] = saved
        for url in made:
            drop_database(url)


def platform_rows(phome: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of a read on a platform home's store, whichever it is (``?`` placeholders), without opening
    the platform: for polling while a gateway in another process writes. A table not made yet reads empty."""
    url_file = phome / URL_FILE
    if url_file.is_file():
        with psycopg.connect(url_file.read_text(encoding="utf-8"), autocommit=True) as conn:
            try:
                return conn.execute(sql.replace("?", "%s"), params).fetchall()
            except psycopg.errors.UndefinedTable:
                return []
    conn = sqlite3.connect(phome / DB_FILE, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def platform_count(phome: Path, sql: str, params: tuple = ()) -> int:
    rows = platform_rows(phome, sql, params)
    return int(rows[0][0] or 0) if rows else 0
