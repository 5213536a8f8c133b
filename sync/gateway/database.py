"""Which database holds a platform's state, and opening it.

Order of precedence: ``--database URL`` on the command line, then the environment variable
``STATION_PLATFORM_DATABASE``, then the URL recorded in the platform home by
``station platform init --database`` (``database.url``, owner-only, like the keys), and otherwise the
embedded SQLite file ``platform.db`` in the home.

A URL may carry a password; it is shown and logged only through :func:`mask_url`. Better still, keep
it out of the URL (``~/.pgpass`` or ``PGPASSFILE``, docs/deployment.md).

A PostgreSQL database belongs to one platform: ``init`` writes the platform's key fingerprint into
its ``meta`` table and every open checks it, so a home never runs against another platform's data.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sync.errors import SyncError

ENV_VAR = "STATION_PLATFORM_DATABASE"
URL_FILE = "database.url"
DB_FILE = "platform.db"
FINGERPRINT_KEY = "platform_fingerprint"


def is_postgres(url: str | None) -> bool:
    return bool(url) and url.split(":", 1)[0] in ("postgresql", "postgres")  # type: ignore[union-attr]


def mask_url(url: str | None) -> str:
    """The URL with any password replaced by ``***`` (in the authority and in a ``password=`` parameter)."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{host}"
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def check_url(url: str) -> str:
    url = url.strip()
    if not is_postgres(url):
        raise SyncError("bad_database", f"数据库地址应以 postgresql:// 开头：{mask_url(url)}")
    return url


def resolve(home: Path, explicit: str | None = None) -> str | None:
    """The PostgreSQL URL this platform uses, or None for the SQLite file in its home."""
    if explicit:
        return check_url(explicit)
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return check_url(env)
    recorded = home / URL_FILE
    if recorded.is_file():
        return check_url(recorded.read_text(encoding="utf-8"))
    return None


def record(home: Path, url: str | None) -> None:
    """Remember the database in the home (owner-only file), so later commands need no --database."""
    from station.home import write_private_file

    if url:
        write_private_file(home / URL_FILE, url.encode("utf-8"))


def open_store(home: Path, url: str | None, fingerprint: str | None = None, pool_size: int = 10,
               creating: bool = False) -> Any:
    """The store for ``home``: PostgreSQL at ``url`` (migrated; claimed for this platform when ``creating``)
    or the home's SQLite file."""
    if not url:
        from sync.gateway.store import SqliteGatewayStore

        return SqliteGatewayStore(home / DB_FILE)
    from sync.gateway.pg_store import PostgresGatewayStore

    try:
        import psycopg

        store = PostgresGatewayStore(url, pool_size=pool_size)
    except psycopg.Error as exc:
        raise SyncError("database_unreachable", f"无法连接平台数据库 {mask_url(url)}：{_reason(exc)}") from None
    except Exception as exc:  # the pool's timeout and the like
        if type(exc).__module__.startswith("psycopg"):
            raise SyncError("database_unreachable", f"无法连接平台数据库 {mask_url(url)}：{_reason(exc)}") from None
        raise
    if fingerprint:
        try:
            owner = store.meta(FINGERPRINT_KEY)
            if owner is None and creating:
                store.set_meta(FINGERPRINT_KEY, fingerprint)
            elif owner is None:
                raise SyncError("database_empty", f"数据库 {mask_url(url)} 还没有平台数据：请先运行 station platform init"
                                                  " --database 或 station platform migrate --to")
            elif owner != fingerprint:
                raise SyncError("database_foreign", f"数据库 {mask_url(url)} 属于另一个平台（公钥核对码 {owner}），"
                                                    "不会在其上运行本平台")
        except BaseException:
            store.close()
            raise
    return store


def _reason(exc: BaseException) -> str:
    """The driver's message, with any password in it masked."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"(?i)(password[=:]\s*)\S+", r"\1***", text)[:300]
