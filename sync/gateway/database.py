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
from urllib.parse import unquote

from sync.errors import SyncError

ENV_VAR = "STATION_PLATFORM_DATABASE"
URL_FILE = "database.url"
DB_FILE = "platform.db"
FINGERPRINT_KEY = "platform_fingerprint"


def is_postgres(url: str | None) -> bool:
    return bool(url) and url.split(":", 1)[0] in ("postgresql", "postgres")  # type: ignore[union-attr]


def mask_url(url: str | None) -> str:
    """The URL with any password replaced by ``***``: in the authority (everything after the user name up
    to the last ``@``, as libpq reads it, so an unencoded ``/ ? # :`` in a password stays hidden) and in
    a ``password=``/``sslpassword=`` parameter; a libpq keyword/value string likewise."""
    if not url:
        return ""
    if "://" not in url:  # a keyword/value string ("host=… password=…") or something else
        return re.sub(r"(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)", r"\1***", url)
    scheme, rest = url.split("://", 1)
    if "@" in rest:
        userinfo, hostpart = rest.rsplit("@", 1)
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        rest = f"{userinfo}@{hostpart}"
    if "?" in rest:
        head, query = rest.split("?", 1)
        rest = head + "?" + "&".join(_mask_param(p) for p in query.split("&"))
    return f"{scheme}://{rest}"


def _mask_param(param: str) -> str:
    key, sep, _ = param.partition("=")
    return f"{key}=***" if sep and "password" in unquote(key).lower() else param


def _secrets(url: str) -> list[str]:
    """The password as written in ``url`` (raw and as libpq decodes it), to scrub from driver messages."""
    found: list[str] = []
    if "://" in url:
        rest = url.split("://", 1)[1]
        if "@" in rest and ":" in rest.rsplit("@", 1)[0]:
            found.append(rest.rsplit("@", 1)[0].split(":", 1)[1])
        if "?" in rest:
            for param in rest.split("?", 1)[1].split("&"):
                key, sep, value = param.partition("=")
                if sep and "password" in unquote(key).lower():
                    found.append(value)
    else:
        found += [m.strip("'") for m in re.findall(r"(?i)password\s*=\s*('(?:[^'\\]|\\.)*'?|\S*)", url)]
    try:
        from psycopg.conninfo import conninfo_to_dict

        parsed = conninfo_to_dict(url)
        found += [str(v) for k, v in parsed.items() if "password" in k and v]
    except Exception:  # noqa: BLE001 - unparsable: the raw pieces above are all there is
        pass
    found += [unquote(s) for s in found]
    return sorted({s for s in found if s}, key=len, reverse=True)


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
        import sqlite3

        from sync.gateway.store import SqliteGatewayStore

        try:
            return SqliteGatewayStore(home / DB_FILE)
        except sqlite3.DatabaseError as exc:  # not a database, damaged, or a disk that refuses it
            raise SyncError("database_corrupt", f"无法打开平台数据库文件 {home / DB_FILE}：{exc}。"
                                                "请从备份恢复该文件（docs/deployment.md）") from None
    from sync.gateway.pg_store import PostgresGatewayStore

    import psycopg

    try:
        _probe(url)
        store = PostgresGatewayStore(url, pool_size=pool_size)
    except psycopg.Error as exc:
        raise unreachable(url, exc) from None
    except Exception as exc:  # the pool's timeout and the like
        if type(exc).__module__.startswith("psycopg"):
            raise unreachable(url, exc) from None
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


def _probe(url: str) -> None:
    """One connection, given up after ``pg_store.CONNECT_TIMEOUT_S`` (unless the URL sets its own): a wrong URL, a
    refused port or a bad password fails at once with libpq's reason, instead of the pool retrying in the
    background (and logging each try) until its wait runs out with no reason at all."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    from sync.gateway.pg_store import CONNECT_TIMEOUT_S

    timeout = {} if "connect_timeout" in conninfo_to_dict(url) else {"connect_timeout": CONNECT_TIMEOUT_S}
    psycopg.connect(url, **timeout).close()


def unreachable(url: str, exc: BaseException) -> SyncError:
    return SyncError("database_unreachable", f"无法连接平台数据库 {mask_url(url)}：{_reason(exc, url)}")


def _reason(exc: BaseException, url: str = "") -> str:
    """The driver's message (its first line), with the URL and any password in it masked: libpq quotes
    the whole URI when it cannot parse it, and the bad token when one is."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if url:
        text = text.replace(url, mask_url(url))
        for secret in _secrets(url):
            text = text.replace(secret, "***")
    return re.sub(r"(?i)(password[=:]\s*)\S+", r"\1***", text)[:300]
