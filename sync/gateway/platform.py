"""The provincial platform: its home folder, enrolment, ingest with routing, and station inboxes.

Layout of a platform home (PDIR)::

    platform.toml   name and limits
    platform.db     the gateway store (SQLite by default, see store.py)
    keys/sync.key   the platform's X25519 + Ed25519 keys (owner-only)
    keys/data.key   AES key sealing personal data inside stored events (owner-only)

Ingest refuses a batch for transport reasons (format and header ranges, version, suite, recipient,
enrolment, signature, quota, event shape, chain). Inside an accepted batch, every event is judged by
one rule (sync/gateway/authority.py) before any is stored: an event its sender may not send is kept
as an event refusal, never folded or routed, and the sender is told with a ``sync.conflict`` notice;
the batch itself is acknowledged, so the sender's chain and its genuine events go on. Business
conflicts of authorised events (a decision on a case that has moved on) are recorded and routed back
as ``sync.conflict`` events, never refused.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import os
import secrets
import time
import tomllib
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import orjson

from station import events as ev
from station import lifecycle
from station.events import canonical_json
from forms.identity import parse_division
from station.devices import parse_station_id, service_point
from station.home import write_private_file
from station.pii import PiiCodec
from forms.problems import StationError
from sync import envelope as env
from sync.batching import DEFAULT_BATCH_BYTES, fit
from sync.errors import SyncError
from sync.gateway import authority
from sync.gateway.authority import CONFLICT, PLATFORM_ONLY, CaseFacts
from sync.gateway.refusals import RefusalLog
from sync.gateway import database
from sync.gateway.store import (BatchRow, EventRefusalRow, EventRow, GatewayStore, InboxBatchRow,
                                SqliteGatewayStore, StationRow)
from sync.gateway.batch_bodies import BatchBodies
from sync.gateway.wire_events import WireEvent, check_events, event_head, sealed_text
from sync.keys import PLATFORM_ID, Enrolment, load_or_create

log = logging.getLogger("sync.gateway")

CONFIG_FILE = "platform.toml"
ZERO_ALLOWED = frozenset({"ingest_threads"})  # 0: ingest on the event loop itself
PG_INGEST_THREADS = 2  # written for a PostgreSQL home: parse one batch while another waits on the database
DB_FILE = "platform.db"
DATA_KEY_FILE = "keys/data.key"
PLATFORM_OPERATOR = "省平台"

BODIES_PER_READ = 16  # stored batch bodies fetched per query when reading events (each unpacked one at a time)

HTTP_STATUS = {"too_large": 413, "bad_format": 400, "unknown_version": 400, "unknown_suite": 400,
               "wrong_recipient": 400, "unknown_sender": 403, "bad_signature": 403, "decrypt_failed": 400,
               "bad_payload": 422, "fork": 409, "chain_broken": 409, "rate_limited": 429,
               "bad_request_auth": 401, "not_found": 404, "usb_unreadable": 400, "usb_not_a_file": 400,
               "revoked": 403}

CONFLICT_ZH = {
    "unknown_case": "平台上没有这个办件",
    "illegal_transition": "办件状态已变化，此操作与当前状态不符",
    "duplicate_case_number": "办件编号重复",
    **authority.REASONS_ZH,
}
BATCH_REASONS_ZH = {"fork": "批次分叉：同一序号的批次内容不同", "chain_broken": "批次链断裂：前一批次摘要不符",
                    "revoked": "本设备已被平台吊销（电脑丢失或被盗时），平台不再接收它的数据",
                    "too_large": "批次过大", "rate_limited": "请求过于频繁，请稍后再试"}


class Refused(SyncError):
    """A batch or request the gateway will not take. ``status`` is the HTTP status to answer with;
    ``retry_after`` (seconds) goes out as Retry-After with a 429."""

    def __init__(self, code: str, message: str, retry_after: float = 0.0):
        super().__init__(code, message, retry=code == "rate_limited")
        self.status = HTTP_STATUS.get(code, 400)
        self.retry_after = retry_after


@dataclass(frozen=True)
class PlatformConfig:
    """platform.toml. Sizes are bytes, times seconds. docs/deployment.md explains each limit and the
    matching reverse-proxy setting."""

    name: str
    id: str = PLATFORM_ID
    max_body_bytes: int = 1024 * 1024
    # Per verified station (charged only after its signature checks out): sustained requests a minute.
    rate_per_minute: int = 600
    inbox_batch_bytes: int = DEFAULT_BATCH_BYTES
    pull_max_bytes: int = 256 * 1024
    # A batch stamped further ahead of the platform's clock than this flags the station's clock, and the
    # platform's own stamps derived from it (case updated_hlc, inbox envelope headers) are bounded to it.
    max_future_ms: int = 24 * 3600 * 1000
    # Before any verification: a coarse guard per client address (IPv6: per /64). Sized for a county's
    # NAT or VPN with hundreds of stations behind one address, each syncing a few requests at a time.
    flood_per_minute: int = 12_000
    flood_burst: int = 3_000
    # X-Forwarded-For is believed only from these addresses or networks (the reverse proxy); empty = never.
    trusted_proxies: tuple[str, ...] = ()
    # The HTTP server (sync/gateway/guard.py): open connections, and how long and how slowly a client
    # may take to send its request.
    max_connections: int = 1000
    header_timeout_s: float = 10.0
    body_timeout_s: float = 120.0
    body_min_rate: int = 1024  # bytes a second, averaged from the end of the headers on
    body_grace_s: float = 10.0  # before the minimum rate applies
    keepalive_timeout_s: int = 30
    # PostgreSQL store: connections per worker process (sync/gateway/pg_store.py)
    db_pool_size: int = 10
    # Threads one worker process ingests batches in (the rest wait their turn in the event loop). 0: on
    # the event loop itself, no thread (SQLite's default: one writer anyway, and no GIL hand-over); 2 lets
    # a PostgreSQL worker parse one batch while another waits on the database (`platform init` writes 2
    # for a PostgreSQL home). More only adds GIL contention (docs/benchmarks.md).
    ingest_threads: int = 0
    # SQLite: batches that waited while the last group was written are written together, with one commit
    # (group commit: one fsync for all); at most this many (1: a commit per batch). PostgreSQL commits each
    # batch on its own: a group would lock several stations' chains and case rows in one transaction, in
    # an order another worker's group may cross (a deadlock, the whole group refused).
    ingest_group: int = 16
    # Inbox envelopes a station has acknowledged (pulled past) are removed after this many days
    inbox_retention_days: int = 90
    # /metrics names stations and their activity, and each scrape reads the database: without a token it
    # answers only clients on this host (loopback, after the trusted proxies' X-Forwarded-For); with one,
    # anyone sending "Authorization: Bearer <token>" (a Prometheus on another host)
    metrics_token: str = ""

    def __post_init__(self) -> None:
        problems = []
        if isinstance(self.trusted_proxies, str):
            problems.append("trusted_proxies 应为地址列表，例如 [\"127.0.0.1\"]")
        object.__setattr__(self, "trusted_proxies", () if problems else tuple(self.trusted_proxies))
        if not isinstance(self.metrics_token, str) or (self.metrics_token and len(self.metrics_token) < 16):
            problems.append("metrics_token 应为至少16个字符的字符串（或留空：只允许本机访问 /metrics）")
        for f in fields(self):
            value = getattr(self, f.name)
            least = 0 if f.name in ZERO_ALLOWED else 1
            if f.type == "int" and (isinstance(value, bool) or not isinstance(value, int) or value < least):
                # (a thread count of 2.5 would fail only at the first batch)
                problems.append(f"{f.name} 应为{'非负' if least == 0 else '正'}整数")
            elif f.type == "float" and (isinstance(value, bool) or not isinstance(value, (int, float))
                                        or not math.isfinite(value) or value <= 0):
                problems.append(f"{f.name} 应为正数")  # nan compares false: a deadline that never comes
        for key in ("name", "id"):
            if not isinstance(getattr(self, key), str) or not getattr(self, key).strip():
                problems.append(f"{key} 应为非空字符串")
        networks = []
        for entry in self.trusted_proxies:
            try:
                if not isinstance(entry, str):  # ip_network(1) is 0.0.0.1; uvicorn then fails on it
                    raise TypeError(entry)
                networks.append(str(ipaddress.ip_network(entry.strip(), strict=False)))
            except (TypeError, ValueError):
                problems.append(f"trusted_proxies 中的 {entry!r} 不是IP地址或网段")
        # normalised ("127.0.0.1/8" -> "127.0.0.0/8"): uvicorn takes a network with host bits for a name,
        # trusts nobody, and every client behind the proxy looks like the proxy (a loopback address)
        object.__setattr__(self, "trusted_proxies", tuple(networks))
        if problems:
            raise SyncError("bad_config", "平台配置有误：" + "；".join(problems))


@dataclass(frozen=True)
class IngestOutcome:
    ack: bytes
    duplicate: bool
    events_new: int
    conflicts: int
    clock_ahead_ms: int = 0  # > 0: the sender's clock stamp is this far ahead of the platform's (flagged)
    events_refused: int = 0  # events of this batch its sender had no authority to send (kept as refusals)


Admit = Callable[[str], float]  # verified station id -> 0 to go ahead, or seconds to wait (quota spent)


@dataclass(frozen=True)
class Upload:
    """One batch as it arrived: its bytes, how (``http``/``usb``), from where, and the sender's quota."""

    blob: bytes
    via: str = "http"
    peer: str = ""
    admit: Admit | None = None


@dataclass(frozen=True)
class _Prepared:
    """A batch verified, decrypted and sealed, waiting for the write transaction."""

    sid: str
    seq: int
    header: env.Header
    hash: bytes
    station: StationRow
    events: list[WireEvent]
    via: str
    body: bytes  # the batch's payload sealed for storage (sync/gateway/batch_bodies.py)


# What applying one batch did: '' (or 'raced', or a chain problem) and its (new, conflicts, refused) events
_Applied = tuple[str, tuple[int, int, int]]


def _now() -> datetime:
    return datetime.now()




def is_platform_home(home: Path) -> bool:
    return (home / CONFIG_FILE).is_file()


def init_platform(home: Path, name: str, database_url: str | None = None) -> PlatformConfig:
    """A new platform home; its state in PostgreSQL when a database is given (``database_url``, else
    STATION_PLATFORM_DATABASE), recorded in the home, otherwise in the home's SQLite file."""
    if not name.strip():
        raise SyncError("bad_name", "平台名称不能为空")
    if is_platform_home(home):
        raise SyncError("home_exists", f"目录 {home} 已经是平台目录，不会覆盖")
    if home.exists() and any(home.iterdir()):
        raise SyncError("home_not_empty", f"目录 {home} 不是空目录，不会在其中创建平台")
    url = database.resolve(home, database_url)
    if url:  # reachable, and nobody's yet: checked before anything is written
        with database.open_store(home, url) as store:
            owner = store.meta(database.FINGERPRINT_KEY)
            if owner is not None:
                raise SyncError("database_foreign", f"数据库 {database.mask_url(url)} 已属于另一个平台"
                                                    f"（公钥核对码 {owner}），请换一个空数据库")
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    write_private_file(home / DATA_KEY_FILE, secrets.token_bytes(32))
    config = PlatformConfig(name=name.strip(), ingest_threads=PG_INGEST_THREADS if url else 0)
    lines = [f"{k} = {json.dumps(list(v) if isinstance(v, tuple) else v, ensure_ascii=False)}"
             for k, v in asdict(config).items()]
    (home / CONFIG_FILE).write_text("# 省一体化政务服务平台 reference gateway\n" + "\n".join(lines) + "\n",
                                    encoding="utf-8")
    keys = load_or_create(home, config.id)
    database.open_store(home, url, keys.public.fingerprint(), creating=True).close()
    database.record(home, url)
    return config


def read_platform_config(home: Path) -> PlatformConfig:
    if not is_platform_home(home):
        raise SyncError("not_a_platform", f"目录 {home} 不是平台目录，请先运行 station platform init --home {home} --name 名称")
    try:
        raw = tomllib.loads((home / CONFIG_FILE).read_text(encoding="utf-8"))
        return PlatformConfig(**{k: v for k, v in raw.items() if k in PlatformConfig.__dataclass_fields__})
    except (tomllib.TOMLDecodeError, TypeError, OSError, UnicodeDecodeError) as exc:
        raise SyncError("bad_config", f"平台配置文件格式错误：{exc}") from None


class Platform:
    """The gateway's logic over one store. Thread-safe through the store's transaction lock."""

    def __init__(self, home: Path, config: PlatformConfig, keys: env.SecretKeys, codec: PiiCodec,
                 bodies: BatchBodies, store: GatewayStore, clock: Callable[[], datetime] = _now):
        self.home, self.config, self.keys, self.codec, self.store, self.clock = home, config, keys, codec, store, clock
        self.bodies = bodies
        self.refusals = RefusalLog(store, clock)
        self._routes = _Routes({}, {})
        self._routes_at = float("-inf")  # when the routes were last read (time.monotonic): never yet

    @classmethod
    def open(cls, home: Path, database_url: str | None = None) -> "Platform":
        """The platform of ``home`` over its store (sync/gateway/database.py says which)."""
        config = read_platform_config(home)
        keys = load_or_create(home, config.id)
        data_key = (home / DATA_KEY_FILE).read_bytes()
        store = database.open_store(home, database.resolve(home, database_url), keys.public.fingerprint(),
                                    config.db_pool_size)
        return cls(home, config, keys, PiiCodec(data_key), BatchBodies(data_key), store)

    def close(self) -> None:
        self.refusals.flush()
        self.store.close()

    def __enter__(self) -> "Platform":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _at(self) -> str:
        return self.clock().isoformat(timespec="seconds")

    @property
    def enrolment(self) -> Enrolment:
        return Enrolment(self.config.id, "platform", self.config.name, self.keys.public)

    # --- enrolment --------------------------------------------------------------------------

    def enroll(self, enrolment: Enrolment) -> dict[str, Any]:
        """Register a station (or replace its keys). Backfills its inbox: a township gets the cases of
        the villages under it already held; every station gets the holiday calendars and query URL
        templates published."""
        if enrolment.role not in ("village", "township"):
            raise SyncError("bad_enrolment", "只能登记村站或乡镇中心")
        parsed = parse_station_id(enrolment.id)
        if parsed is None:
            raise SyncError("bad_enrolment", f"站点标识无效：{enrolment.id!r}（应为12位区划码，第2–9台电脑加 -d2…-d9）")
        try:
            division = parse_division(parsed[0], "station_id", expect=enrolment.role)
        except StationError as err:
            raise SyncError("bad_enrolment", f"站点编码无效：{err.message}") from None
        backfilled = 0
        with self.store.transaction():
            existing = self.store.get_station(enrolment.id)
            if existing is not None and existing.revoked_at:
                raise SyncError("revoked", f"设备 {enrolment.id} 已于 {existing.revoked_at} 被吊销，不能再登记。"
                                           "请把这台电脑登记为本服务点的新设备（station device split --device 新编号）")
            self.store.put_station(StationRow(enrolment.id, enrolment.role, enrolment.name, enrolment.keys.kem,
                                              enrolment.keys.sig, self._at()))
            if existing is None:
                for type_ in (ev.CALENDAR_UPDATED, ev.QUERY_URL_PUBLISHED):
                    for row in self.store.events_of_type(type_):
                        self.store.add_inbox(enrolment.id, row.id)
                        backfilled += 1
                # a township's device gets the cases of its villages, a village's device its service
                # point's (another PC of it may have filed them), each with every event on them so far
                prefix = division.jurisdiction_prefix if enrolment.role == "township" else division.code
                for row in self.store.case_events_under(prefix):
                    if row.station != enrolment.id and division.covers(row.case_number[:12]):  # type: ignore[index]
                        self.store.add_inbox(enrolment.id, row.id)
                        backfilled += 1
        self._routes_at = float("-inf")  # routed to from the next batch on (another process's enrolment: within a second)
        log.info("enrolled %s (%s)", enrolment.id, enrolment.role)
        return {"station_id": enrolment.id, "division_code": parsed[0], "device": parsed[1],
                "role": enrolment.role, "name": enrolment.name,
                "fingerprint": enrolment.keys.fingerprint(), "replaced": existing is not None,
                "backfilled_events": backfilled}

    def is_revoked(self, station_id: str) -> bool:
        row = self.store.get_station(station_id)
        return bool(row and row.revoked_at)

    def revoke(self, station_id: str) -> dict[str, Any]:
        """Revoke a device (a lost or stolen PC): its batches and requests are refused from now on; what
        the platform already acknowledged from it stays, folded and routed as before."""
        with self.store.transaction():
            row = self.store.get_station(station_id)
            if row is None:
                raise SyncError("unknown_sender", f"平台上没有登记设备 {station_id}")
            self.store.revoke_station(station_id, self._at())
            row = self.store.get_station(station_id)
        self._routes_at = float("-inf")  # a revoked device gets nothing from now on
        log.warning("revoked %s", station_id)
        return {"station_id": station_id, "revoked_at": row.revoked_at if row else None,
                "events_kept": self.store.last_event_seq(station_id)}

    # --- catch-up: a device learns back what the platform holds of its own ---------------------

    def chain(self, station_id: str, after: int = 0) -> dict[str, Any]:
        """What the platform holds of a device's own chain: its batches after ``after`` (number, hash,
        previous hash, events, the event seqs they carried), and its highest event seq held."""
        row = self.store.get_station(station_id)
        if row is None:
            raise Refused("unknown_sender", f"站点 {station_id} 未登记")
        if row.revoked_at:
            raise Refused("revoked", f"{BATCH_REASONS_ZH['revoked']}（{row.revoked_at}）")
        batches = self.store.batches_after(station_id, after)
        head = batches[-1] if batches else self.store.get_batch(station_id, after) if after else None
        return {"station": station_id, "after": after,
                "batches": [{"seq": b.seq, "hash": b.hash.hex(), "prev_hash": b.prev_hash.hex(), "events": b.events,
                             "first_event": b.first_event, "last_event": b.last_event} for b in batches],
                "head": {"seq": head.seq, "hash": head.hash.hex()} if head else None,
                "last_event_seq": self.store.last_event_seq(station_id)}

    def own_events(self, station_id: str, after: int, max_bytes: int | None = None,
                   limit: int = 5000) -> tuple[list[bytes], bool]:
        """A device's own events above ``after`` as the platform holds them (at most ``limit``), sealed to
        it in envelopes (numbered 1… within this answer; each is verified by the platform's signature)."""
        station = self.station_keys(station_id)
        if station is None:
            raise Refused("unknown_sender", f"站点 {station_id} 未登记")
        if self.is_revoked(station_id):
            raise Refused("revoked", BATCH_REASONS_ZH["revoked"])
        budget = max_bytes or self.config.pull_max_bytes
        rows = self.store.own_events_after(station_id, after, limit)
        out: list[bytes] = []
        size = 0
        events = self.wire_events(rows)
        while events:
            n, payload = fit(events, self.config.inbox_batch_bytes)
            stamp = min(max(e["hlc"] for e in events[:n]), self.stamp_bound())
            blob = env.seal(events[:n], self.keys, station, len(out) + 1, env.GENESIS_HASH, stamp, payload=payload)
            if out and size + len(blob) > budget:
                return out, True
            out.append(blob)
            size += len(blob)
            events = events[n:]
        return out, len(rows) == limit

    def wire_events(self, rows: list[EventRow]) -> list[dict[str, Any]]:
        """Stored events as a station receives them (personal data in clear, to be sealed into its envelope):
        from their batch's body, or from their own text (sealed value by value).

        Each body is opened once and only one is held open at a time, keeping just the lines asked for: a
        body may unpack to MAX_PLAINTEXT (32 MiB), and a hostile village can make every event it routes sit
        in a body of its own padded with events routed nowhere, so holding them all for one read of 1,000
        events could take gigabytes."""
        out: list[Any] = [None] * len(rows)
        wanted: dict[tuple[str, int], list[int]] = {}
        for i, r in enumerate(rows):
            if r.line is None:
                out[i] = self.codec.open_body(json.loads(r.body))
            else:
                wanted.setdefault((r.station, r.batch), []).append(i)  # type: ignore[arg-type]
        keys = sorted(wanted)
        for start in range(0, len(keys), BODIES_PER_READ):  # sealed bodies are ≤ max_body_bytes each
            chunk = keys[start:start + BODIES_PER_READ]
            bodies = self.store.batch_bodies(chunk)
            for key in chunk:
                if key not in bodies:
                    raise SyncError("body_missing", f"平台缺少批次 {key[0]}#{key[1]} 的内容（数据库不完整）")
                lines = self.bodies.lines(bodies.pop(key), *key)
                for i in wanted[key]:
                    n = rows[i].line
                    if not 0 <= n < len(lines):  # type: ignore[operator]
                        raise SyncError("body_missing", f"平台所存批次 {key[0]}#{key[1]} 中没有第 {n + 1} 条事件")  # type: ignore[operator]
                    out[i] = orjson.loads(lines[n])  # type: ignore[index]
                del lines
        return out

    def station_keys(self, station_id: str) -> env.PublicKeys | None:
        row = self.store.get_station(station_id)
        return env.PublicKeys(row.id, row.kem_public, row.sig_public) if row else None

    # --- ingest -----------------------------------------------------------------------------

    def refuse(self, code: str, detail: str, station: str | None = None, seq: int | None = None,
               blob: bytes = b"", peer: str = "", retry_after: float = 0.0, flush: bool = True) -> Refused:
        """Record a refusal in the bounded log (metadata only: nothing of the batch is kept).

        ``flush=False`` from the event loop, which hands a due flush to a worker thread instead."""
        message = env.REASONS_ZH.get(code) or BATCH_REASONS_ZH.get(code, code)
        if detail and detail != message:
            message += f"（{detail}）"
        if self.refusals.record(code, detail, station, seq, env.batch_hash(blob) if blob else b"", peer or "?"):
            # one line per (peer, reason, minute): repeats are counted in the refusal log, not logged
            log.warning("refused peer=%s station=%s seq=%s reason=%s %s", peer, station, seq, code, detail)
        if flush and self.refusals.due:
            self.refusals.flush()
        return Refused(code, message, retry_after)

    def ingest(self, blob: bytes, via: str = "http", peer: str = "", admit: Admit | None = None) -> IngestOutcome:
        """Verify one station batch, judge each of its events, store what its sender may do, or refuse the
        batch (raising :class:`Refused`).

        ``admit`` charges the sender's quota; it is called only once the signature has verified, so
        nobody can spend a station's quota by naming it. A repeat of a batch already held is answered
        with its ack and charged nothing: it costs a hash and a lookup."""
        answer = self.ingest_group([Upload(blob, via, peer, admit)])[0]
        if isinstance(answer, Exception):  # a Refused, or what went wrong unexpectedly with this batch
            raise answer
        return answer

    def group_limit(self) -> int:
        """How many queued uploads one commit may carry (``ingest_group`` on SQLite, 1 on PostgreSQL)."""
        return self.config.ingest_group if isinstance(self.store, SqliteGatewayStore) else 1

    def ingest_group(self, uploads: list["Upload"]) -> list["IngestOutcome | Exception"]:
        """Ingest several batches (of different stations, in this order) with one commit: each is verified,
        decrypted and sealed outside the transaction, then applied in it one after the other — a batch
        refused for its chain writes nothing, the others go on — and one fsync makes them all durable
        (group commit: the gateway's queue hands over the batches that waited while the last group was
        being written). Each upload's answer, in order: its outcome, the :class:`Refused`, or the exception
        that failed it unexpectedly (one batch's failure is never another's: see :meth:`_apply_all`)."""
        answers: list[IngestOutcome | Exception | _Prepared] = []
        for up in uploads:
            try:
                answers.append(self._prepare(up))
            except Refused as err:
                answers.append(err)
            except Exception as exc:  # noqa: BLE001 - this upload's own failure, answered to it alone
                log.exception("ingest failed preparing a batch from peer=%s", up.peer)
                answers.append(exc)
        ready = [(i, a) for i, a in enumerate(answers) if isinstance(a, _Prepared)]
        if not ready:
            return answers  # type: ignore[return-value]
        applied = self._apply_all(ready)
        for i, prep in ready:
            result = applied[i]
            if isinstance(result, Exception):
                answers[i] = result
                continue
            state, (new, conflicts, refused) = result
            up = uploads[i]
            if state == "raced":  # an identical upload got in first (another worker, or earlier in this group)
                try:
                    answers[i] = self.ingest(up.blob, up.via, up.peer)
                except Exception as err:  # noqa: BLE001 - its own answer, as above
                    answers[i] = err
                continue
            if state:  # the chain: recorded now, outside the transaction, so the log keeps it
                answers[i] = self.refuse("chain_broken", state, prep.sid, prep.seq, up.blob, up.peer)
                continue
            if refused:
                log.warning("station %s batch %s: %d events refused by authority", prep.sid, prep.seq, refused)
            answers[i] = IngestOutcome(env.sign_ack(self.keys, prep.sid, prep.seq, prep.hash), False, new, conflicts,
                                       self._check_clock(prep.header), refused)
        return answers  # type: ignore[return-value]

    def _apply_all(self, ready: list[tuple[int, "_Prepared"]]) -> dict[int, "_Applied | Exception"]:
        """Apply the prepared batches in one transaction. When it fails (one batch's content provoking an
        error, a station's poison batch), nothing of it is kept and each batch is applied again in a
        transaction of its own: only the batch that fails alone is answered with its error, the others are
        stored as if they had come one by one (exactly once: the failed transaction wrote nothing)."""
        try:
            with self.store.transaction():
                return {i: self._apply(prep) for i, prep in ready}
        except Exception as exc:  # noqa: BLE001 - found out below, batch by batch
            if len(ready) == 1:
                log.exception("ingest failed: station=%s seq=%s", ready[0][1].sid, ready[0][1].seq)
                return {ready[0][0]: exc}
            log.warning("a group of %d batches failed (%r): applying each alone", len(ready), exc)
        out: dict[int, _Applied | Exception] = {}
        for i, prep in ready:
            try:
                with self.store.transaction():
                    out[i] = self._apply(prep)
            except Exception as exc:  # noqa: BLE001 - this batch's own failure
                log.exception("ingest failed: station=%s seq=%s", prep.sid, prep.seq)
                out[i] = exc
        return out

    def _prepare(self, up: "Upload") -> "_Prepared | IngestOutcome":
        """Everything that does not depend on what the platform holds: refusals of the batch as sent, the
        duplicate answer, verification, decryption, each event's shape and the sealing of its personal
        data. Raises :class:`Refused`."""
        blob, peer = up.blob, up.peer
        if len(blob) > self.config.max_body_bytes:
            raise self.refuse("too_large", f"{len(blob)} 字节，上限 {self.config.max_body_bytes}", blob=blob, peer=peer)
        try:
            header = env.peek(blob)
        except env.EnvelopeError as err:
            raise self.refuse(err.reason, err.message, blob=blob, peer=peer) from None
        sid, seq = header.sender, header.seq
        if header.recipient != self.config.id:
            raise self.refuse("wrong_recipient", header.recipient, sid, seq, blob, peer)
        station = self.store.get_station(sid)
        if station is None:
            raise self.refuse("unknown_sender", sid, sid, seq, blob, peer)
        if station.revoked_at:
            raise self.refuse("revoked", sid, sid, seq, blob, peer)
        hash_ = env.batch_hash(blob)
        seen = self.store.get_batch(sid, seq)
        if seen is not None and seen.hash == hash_:
            return IngestOutcome(env.sign_ack(self.keys, sid, seq, hash_), True, 0, 0, self._check_clock(header))
        try:
            batch = env.open_(blob, self.keys, {sid: env.PublicKeys(sid, station.kem_public, station.sig_public)},
                              parse=False)
        except env.EnvelopeError as err:
            raise self.refuse(err.reason, "", sid, seq, blob, peer) from None
        wait = up.admit(sid) if up.admit is not None else 0.0
        if wait > 0:
            raise self.refuse("rate_limited", f"约 {max(1, round(wait))} 秒后再试", sid, seq, b"", peer, wait)
        if seen is not None:
            raise self.refuse("fork", f"序号 {seq} 已有不同内容的批次", sid, seq, blob, peer)
        events, bad = check_events(sid, batch.lines)
        if bad:
            raise self.refuse("bad_payload", bad, sid, seq, blob, peer)
        return _Prepared(sid, seq, header, hash_, station, events, up.via, self.bodies.seal(batch.payload, sid, seq))

    def _apply(self, prep: "_Prepared") -> "_Applied":
        """Inside the write transaction: check the chain and store the batch's effects. ('', counts) when
        applied; ('raced', …) when the batch is held already; a chain problem otherwise (nothing written)."""
        sid, seq = prep.sid, prep.seq
        self.store.serialize("batches:" + sid)  # one batch of a station at a time, on every worker
        near = self.store.batches_near(sid, seq)  # this number and its two neighbours, in one read
        if seq in near:
            return "raced", (0, 0, 0)
        problem = self._check_chain(seq, prep.header.prev_hash, prep.hash, near)
        if problem:
            return problem, (0, 0, 0)
        if seq > 1 and seq - 1 not in near:
            self.store.add_gap(sid, seq - 1, self._at())
        self.store.close_gap(sid, seq)
        seqs = [w.event["seq"] for w in prep.events]
        self.store.add_batch(BatchRow(sid, seq, prep.hash, prep.header.prev_hash, prep.header.count,
                                      min(seqs, default=0), max(seqs, default=0)), self._at(), prep.via)
        self.store.add_batch_body(sid, seq, prep.body)
        return "", self._store_events(prep.events, seq, prep.station)

    # --- clocks -----------------------------------------------------------------------------

    def now_ms(self) -> int:
        return int(self.clock().timestamp() * 1000)

    def stamp_bound(self) -> str:
        """The latest HLC stamp the platform lets into its own state: now + max_future_ms."""
        return f"{self.now_ms() + self.config.max_future_ms:016d}-9999"

    def _check_clock(self, header: env.Header) -> int:
        """Flag a station whose (authenticated) batch is stamped too far in the future; how far ahead, or 0."""
        now = self.now_ms()
        ahead = header.stamp_ms - now
        if ahead <= self.config.max_future_ms:
            return 0
        log.warning("clock ahead station=%s seq=%s by %.1f days", header.sender, header.seq, ahead / 86_400_000)
        self.store.flag_clock(header.sender, header.stamp_ms, now, self._at())
        return ahead

    def _check_chain(self, seq: int, prev_hash: bytes, hash_: bytes, near: Mapping[int, BatchRow]) -> str:
        """Links are checked both ways whenever both neighbours are held (``near``: the sender's batches
        numbered seq-1 and seq+1 that the platform holds). A missing predecessor (a batch the station set
        aside) is a gap, recorded and checked when it arrives; it never blocks."""
        if seq == 1 and prev_hash != env.GENESIS_HASH:
            return "第一个批次的前一批次摘要应为全零"
        before = near.get(seq - 1)
        if before is not None and before.hash != prev_hash:
            return f"批次 {seq} 指向的前一批次与平台所存批次 {seq - 1} 不符"
        after = near.get(seq + 1)  # (the last number has no successor: none is ever held)
        if after is not None and after.prev_hash != hash_:
            return f"批次 {seq + 1} 所指的前一批次不是此批次"
        return ""

    def verdicts(self, events: list[dict[str, Any]], sender: StationRow) -> list[str]:
        """Authority before effect: for each event, '' (may) or the reason it is refused, judged by
        :func:`authority.authorize` against what the platform holds, and against the filings earlier in
        the same batch, before any of the batch is stored."""
        numbers = sorted({e["case"] for e in events if e.get("case")})
        facts = {r.number: CaseFacts(r.owner, r.level) for r in self.store.case_facts(numbers)}
        out = []
        for e in events:
            number = e.get("case")
            reason = authority.authorize(sender.id, sender.role, e["type"], number, facts.get(number) if number else None)
            if not reason and e["type"] == ev.CASE_FILED and number not in facts:
                facts[number] = CaseFacts(sender.id, _item_text(e["item"], "handling_level", 32))
            out.append(reason)
        return out

    def _store_events(self, events: list[WireEvent], batch_seq: int, sender: StationRow) -> tuple[int, int, int]:
        """The effects of an accepted batch (its body stored already), after every event has been judged:
        (new, conflicts, refused)."""
        self.store.prefetch_events([w.event["id"] for w in events])
        verdicts = self.verdicts([w.event for w in events], sender)
        numbers = sorted({w.event["case"] for w, reason in zip(events, verdicts)
                          if not reason and w.event["type"] == ev.CASE_FILED})
        tally = _Tally(self._at(), sender, self.store.deferred_cases(numbers), self.stamp_bound())
        for w, reason in zip(events, verdicts):
            self._effect(w.event, w, reason, tally, batch_seq)
        return tally.new, tally.conflicts, tally.refused

    def _effect(self, e: dict[str, Any], stored: WireEvent | str, reason: str, tally: "_Tally", batch_seq: int,
                sender: StationRow | None = None) -> None:
        """Do what the verdict says with one event of ``sender`` (the batch's sender unless given: an event
        held back for its filing may be another device's of the service point). ``e``: the event's head
        (wire_events.event_head); ``stored``: the event as a line of the body of batch ``batch_seq``
        (stored already), or its own text (personal data sealed)."""
        sender, at = sender or tally.sender, tally.at
        if reason:  # kept on its own, outside the batch body: sealed value by value
            text = stored if isinstance(stored, str) else sealed_text(stored.decoded(), self.codec)
            if reason == authority.AWAITING_FILING:
                self.store.add_deferred([EventRefusalRow(e["id"], sender.id, batch_seq, e["case"], e["type"], reason,
                                                         text, at)])
                tally.waiting.add(e["case"])
            elif self.store.add_event_refusals([EventRefusalRow(e["id"], sender.id, batch_seq, e.get("case"),
                                                                e["type"], reason, text, at)]):
                tally.refused += 1
                self._notify_conflict(e, reason, sender.id)
            return
        if isinstance(stored, str):
            row = EventRow(e["id"], e["station"], int(e["seq"]), e["hlc"], e.get("case"), e["type"], stored)
        else:
            row = EventRow(e["id"], e["station"], int(e["seq"]), e["hlc"], e.get("case"), e["type"], "",
                           batch_seq, stored.line)
        if not self.store.add_event(row, at):
            return  # the same event id already held: exactly once
        tally.new += 1
        number = row.case_number
        if not number:
            return  # the station's own record (operators, logins): kept, never routed
        village = number[:12]
        conflict = self._fold_case(e, village, sender.id, tally.bound)
        if conflict:
            tally.conflicts += 1
            self.store.add_conflict(row.id, number, row.type, conflict, self.store.case_status(number), at)
            self._notify_conflict(e, conflict, sender.id)
        for target in self._targets(sender, village, tally.routes):
            self.store.add_inbox(target, row.id)
        if row.type == ev.CASE_FILED and not conflict and number in tally.waiting:
            self._release(number, tally)

    def _release(self, number: str, tally: "_Tally") -> None:
        """The filing is in: judge and apply the events that arrived before it, in their sender's order, each
        as its own sender's (any device of the service point may have sent them, not only the filer)."""
        held = self.store.take_deferred(number)
        if not held:
            return
        facts = {r.number: CaseFacts(r.owner, r.level) for r in self.store.case_facts([number])}
        senders: dict[str, StationRow] = {tally.sender.id: tally.sender}
        for row in held:
            if row.station not in senders:
                senders[row.station] = self.store.get_station(row.station) or tally.sender
            sender = senders[row.station]
            e = event_head(json.loads(row.body))
            reason = authority.authorize(sender.id, sender.role, row.type, number, facts.get(number))
            self._effect(e, row.body, reason, tally, row.batch_seq, sender)

    def _fold_case(self, e: dict[str, Any], village: str, sender: str, bound: str) -> str:
        number, type_ = e["case"], e["type"]
        stamp = min(e["hlc"], bound)  # a clock years ahead must not pin the case in the future (stamp_bound)
        status = self.store.case_status(number)
        if type_ == ev.CASE_FILED:
            if status is not None:
                return "duplicate_case_number"
            item = e["item"]  # the texts the head keeps of the item snapshot ({} but for a filing)
            self.store.put_case(number, village, _item_text(item, "code", 64), _item_text(item, "name", 200),
                                lifecycle.RECEIVED, stamp, sender, _item_text(item, "handling_level", 32))
            return ""
        if status is None:
            return "unknown_case"
        if lifecycle.is_transition(type_):
            allowed, target = lifecycle.TRANSITIONS[type_]
            if status not in allowed:
                return "illegal_transition"
            self.store.set_case_status(number, target, stamp)
        else:
            self.store.set_case_status(number, status, stamp)
        return ""

    def _targets(self, sender: StationRow, village: str, cache: dict[tuple[str, str], list[str]]) -> list[str]:
        """Every device of the case's village and of the townships covering it, but the sender: the
        devices of one service point see each other's work, a township's devices each other's decisions."""
        key = (sender.id, village)
        if key not in cache:
            routes = self._routes_cached()
            cache[key] = [t for t in routes.devices.get(village, []) + routes.townships.get(village[:9], [])
                          if t != sender.id]
        return cache[key]

    def _routes_cached(self) -> "_Routes":
        """Who receives a village's cases, looked up in two dicts (it was a scan of every station per
        batch: at province scale, tens of thousands of stations for every batch). Re-read at most once a
        second: `station platform enroll` may run while the server does."""
        now = time.monotonic()
        if self._routes_at < now - 1.0:
            self._routes = _Routes.of(s for s in self.store.stations() if not s.revoked_at)  # a revoked device gets nothing
            self._routes_at = now
        return self._routes

    def _platform_event(self, type_: str, case: str | None, body: dict[str, Any]) -> dict[str, Any]:
        assert type_ in PLATFORM_ONLY, type_  # what the platform emits, no station may send
        seq = self.store.next_platform_seq()
        now = self.clock()
        return {"id": f"{self.config.id}:{seq}", "station": self.config.id, "seq": seq,
                "hlc": f"{int(now.timestamp() * 1000):016d}-0000", "operator": PLATFORM_OPERATOR, "case": case,
                "type": type_, "body": body, "recorded_at": now.isoformat(timespec="seconds")}

    def _notify_conflict(self, e: dict[str, Any], reason: str, sender: str) -> None:
        refused = reason in authority.REASONS_ZH
        label = "平台拒收" if refused else "同步冲突"
        notice = self._platform_event(CONFLICT, e.get("case"), {
            "event": e["id"], "event_type": e["type"], "code": reason, "refused": refused,
            "reason": f"{label}：{CONFLICT_ZH.get(reason, reason)}（事件 {e['id']}）"})
        self.store.add_event(EventRow(notice["id"], notice["station"], notice["seq"], notice["hlc"],
                                      notice["case"], notice["type"], canonical_json(notice)), self._at())
        self.store.add_inbox(sender, notice["id"])

    # --- publishing -------------------------------------------------------------------------

    def publish_calendar(self, data: Mapping[str, Any], source: str) -> dict[str, Any]:
        from station.calendar import parse_holiday_table

        table, years = parse_holiday_table(data)
        body = {"years": sorted(years), "days": {d.isoformat(): kind for d, kind in sorted(table.items())},
                "source": str(data.get("source") or source)}
        event, stations = self._publish(ev.CALENDAR_UPDATED, body)
        return {"event": event, "years": body["years"], "days": len(body["days"]), "stations": stations}

    def _publish(self, type_: str, body: dict[str, Any]) -> tuple[str, int]:
        """A platform event for every station's inbox (stations enrolled later get it on enrolment):
        its id and how many stations it goes to."""
        with self.store.transaction():
            event = self._platform_event(type_, None, body)
            self.store.add_event(EventRow(event["id"], event["station"], event["seq"], event["hlc"], None,
                                          event["type"], canonical_json(event)), self._at())
            stations = self.store.stations()
            for s in stations:
                self.store.add_inbox(s.id, event["id"])
        return event["id"], len(stations)

    def publish_query_url(self, template: str) -> dict[str, Any]:
        """Publish the query URL template of the receipts' QR (``https://…{case_number}…``) to every
        station, through their inboxes like the calendar; stations enrolled later get it on enrolment."""
        from printouts.query_url import query_url_problems

        template = template.strip()
        problems = query_url_problems(template, "url_template")
        if problems:
            raise StationError("bad_query_url", problems[0].message, problems)
        event, stations = self._publish(ev.QUERY_URL_PUBLISHED, {"template": template})
        return {"event": event, "template": template, "stations": stations}

    def withdraw_query_url(self) -> dict[str, Any]:
        """Withdraw the published query URL (the query site moved or is gone): the same event type with
        an empty template and ``withdrawn``, so every station — and one enrolled later, which gets the
        events in order — prints the receipts' QR as text again. (A station of an older version ignores
        it: an empty template fails its check, its QR stays the last link.)"""
        event, stations = self._publish(ev.QUERY_URL_PUBLISHED, {"template": "", "withdrawn": True})
        return {"event": event, "withdrawn": True, "stations": stations}

    # --- inboxes ----------------------------------------------------------------------------

    def inbox(self, station_id: str, after: int, max_bytes: int | None = None) -> tuple[list[bytes], bool]:
        """Sealed inbox envelopes for a station after its cursor. Pending events are cut into new
        batches first; a batch once cut is stored and served unchanged forever (its own chain)."""
        station = self.station_keys(station_id)
        if station is None:
            raise Refused("unknown_sender", f"站点 {station_id} 未登记")
        self._cut_inbox(station)
        self.store.note_pull(station_id, after, self._at())  # it holds every envelope up to ``after``
        return self.store.inbox_batches_after(station_id, after, max_bytes or self.config.pull_max_bytes)

    def _cut_inbox(self, station: env.PublicKeys) -> None:
        with self.store.transaction():
            self.store.serialize("inbox:" + station.id)  # one cutter per inbox: its batches form one chain
            last = self.store.last_inbox_batch(station.id)
            seq, prev, idx = (last.seq, last.hash, last.last_idx) if last else (0, env.GENESIS_HASH, 0)
            while True:
                pending = self.store.inbox_pending(station.id, idx, 1000)
                if not pending:
                    return
                # read once, cut into as many envelopes as it takes (each stored body opened once per read)
                events = self.wire_events([row for _, row in pending])
                while events:
                    n, payload = fit(events, self.config.inbox_batch_bytes)
                    stamp = min(max(e["hlc"] for e in events[:n]), self.stamp_bound())
                    blob = env.seal(events[:n], self.keys, station, seq + 1, prev, stamp, payload=payload)
                    first = pending[0][0]
                    idx = pending[n - 1][0]
                    seq, prev = seq + 1, env.batch_hash(blob)
                    self.store.add_inbox_batch(InboxBatchRow(station.id, seq, prev, idx, blob), first, n, self._at())
                    events, pending = events[n:], pending[n:]

    # --- reading ----------------------------------------------------------------------------

    def overview(self) -> dict[str, Any]:
        store = self.store
        self.refusals.flush()
        return {"platform": self.config.name, "counts": store.counts(), "cases": store.cases(),  # type: ignore[attr-defined]
                "conflicts": store.conflicts(), "refusals": store.refusals(20),  # type: ignore[attr-defined]
                "event_refusals": store.event_refusals(20),  # type: ignore[attr-defined]
                "clock_flags": store.clock_flags(),  # type: ignore[attr-defined]
                "stations": [{"id": s.id, "role": s.role, "name": s.name, "revoked_at": s.revoked_at}
                             for s in store.stations()]}


@dataclass
class _Tally:
    """What one batch's events did; ``routes`` caches the inboxes a sender's case events of a village go to."""

    at: str
    sender: StationRow
    waiting: set[str]  # case numbers with events held back for their filing
    bound: str  # the latest stamp the platform lets into its state (stamp_bound), read once per batch
    new: int = 0
    conflicts: int = 0
    refused: int = 0
    routes: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (sender, village) -> inboxes


@dataclass(frozen=True)
class _Routes:
    """The enrolled, unrevoked stations indexed for routing: village devices by their service point (a
    village's division code), township devices by their township's 9-digit prefix."""

    devices: dict[str, list[str]]
    townships: dict[str, list[str]]

    @classmethod
    def of(cls, stations: Iterable[StationRow]) -> "_Routes":
        devices: dict[str, list[str]] = {}
        townships: dict[str, list[str]] = {}
        for s in stations:
            if s.role == "village":
                devices.setdefault(service_point(s.id), []).append(s.id)
            elif s.role == "township":
                townships.setdefault(s.id[:9], []).append(s.id)
        return cls(devices, townships)


def _item_text(item: dict[str, Any], key: str, limit: int) -> str:
    """A text field of the item snapshot for the case row, or '' when it is not text. Only text: the
    event may be the decoded one, personal data in clear (``{"$pii": …}``, which ``str()`` would have
    written into the row); no NUL, which PostgreSQL's text columns cannot hold."""
    value = item.get(key)
    return value.replace("\x00", "")[:limit] if type(value) is str else ""
