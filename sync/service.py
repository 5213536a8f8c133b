"""Station sync, the library the CLI, the scheduler and the UI call: push then pull, and status.

Push sends the outbox in batch order. Per gateway answer:
  * ack                  verified against (station, seq, hash), then the batch is acknowledged;
  * link trouble / busy  stop, the outbox stays as it is, try again next time;
  * station-level refusal (not enrolled, signature, wrong platform key): stop and say why —
    every batch would fail the same way;
  * batch-level refusal (format, suite, chain, fork, size…): counted; after MAX_REFUSALS (at once for
    the ones retrying cannot fix) the batch is held and shown, and the batches after it keep flowing.
Pushes keep up to four batches in flight, and the first inbox page is fetched while the push runs
(on an 800 ms link the directions overlap instead of queueing round trips); if the gateway reports
conflicts for what was just pushed, the inbox is pulled once more at the end so their notices arrive
in the same sync. Pull fetches the station's inbox after its cursor, verifies each envelope (platform signature,
recipient, chain) and applies its events through ``Store.ingest_remote`` in the same transaction
that moves the cursor.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import chain
from typing import Any, Callable, Iterator

from station import clock_check
from station.health import station_health
from station.store import Store
from station.sync_state import OutboxCursor, data_events_after, read_cursor
from sync import envelope as env
from sync import outbox
from sync.errors import SyncError
from sync.keys import load_or_create, platform_keys
from sync.settings import SyncSettings
from sync.transport import HttpTransport, PushReply, busy

MAX_REFUSALS = 3
STATION_LEVEL = frozenset({"unknown_sender", "bad_signature", "wrong_recipient", "bad_request_auth"})
HOLD_AT_ONCE = frozenset({"too_large", "unknown_suite", "unknown_version", "fork", "chain_broken"})

LINK_UP, LINK_DOWN, LINK_UNKNOWN = "up", "down", "unknown"
#: The link state as the operator reads it (sync screen, home screen, ``station sync status``).
LINK_LABELS = {LINK_UP: "正常", LINK_DOWN: "不通", LINK_UNKNOWN: "未知"}
NOT_CONFIGURED = "未配置平台"


@dataclass
class SyncSummary:
    batches_built: int = 0
    batches_sent: int = 0
    events_sent: int = 0
    batches_acknowledged: int = 0
    events_acknowledged: int = 0
    batches_held: int = 0
    inbox_batches: int = 0
    events_pulled: int = 0
    applied: int = 0
    duplicates: int = 0
    conflicts: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    link: str = LINK_UNKNOWN
    retry_after: float = 0.0  # the platform asked us to wait this long before the next sync
    events_refused: int = 0  # pushed events the platform refused as not this station's to send
    catchup: dict[str, Any] | None = None  # what checking the chain with the platform found (sync/catchup.py)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, code: str, message: str) -> None:
        self.errors.append({"code": code, "message": message})

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    def text(self) -> str:
        lines = [f"上传：{self.batches_sent} 批 {self.events_sent} 条事件，平台已确认 {self.batches_acknowledged} 批"
                 f" {self.events_acknowledged} 条",
                 f"下载：{self.inbox_batches} 批 {self.events_pulled} 条（新 {self.applied}，重复 {self.duplicates}，"
                 f"冲突 {self.conflicts}）"]
        if self.batches_held:
            lines.append(f"有 {self.batches_held} 批被平台拒收，已搁置，请查看 station sync status")
        if self.events_refused:
            lines.append(f"平台拒收了 {self.events_refused} 条无权操作的事件（详见办件的同步冲突记录），其余已接收")
        if self.catchup and self.catchup.get("status") not in (None, "in_step", "forked"):
            from sync.catchup import CatchupReport

            lines.append(CatchupReport(**self.catchup).text())
        lines += [f"错误：{e['message']}" for e in self.errors]
        lines.append("同步完成" if self.ok else "同步未完成，待办数据仍保留在本站，稍后会自动重试")
        return "\n".join(lines)


class StationSync:
    """One sync session of a station: its keys, the platform's keys, the transport."""

    def __init__(self, store: Store, transport: HttpTransport | None = None, window: int = 4):
        self.store = store
        self.window = max(1, window)
        self.conflicts_reported = 0
        self.acks = 0
        self.prefetched: Future[tuple[list[bytes], bool]] | None = None  # the inbox page asked for during the push
        self.clock_ahead_ms = 0  # the most any acknowledged batch was stamped ahead of the platform's clock
        self.fork_seen = False  # the platform refused a batch as a fork or a broken chain
        self.pool = ThreadPoolExecutor(max_workers=self.window + 1, thread_name_prefix="sync")
        self.settings = SyncSettings.of(store.config)
        self.keys = load_or_create(store.home, store.station_id)
        self.platform = platform_keys(store.home).keys
        self.transport = transport or HttpTransport(self.settings.url, self.settings.ca_bundle, self.settings.proxy,
                                                    self.settings.timeout_seconds, self.settings.retries)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.transport.close()

    def cut(self) -> int:
        return len(outbox.cut(self.store, self.keys, self.platform, self.settings.batch_bytes,
                              self.settings.batch_events))

    # --- push -------------------------------------------------------------------------------

    def push(self, summary: SyncSummary, retry_held: bool = False, prefetch_inbox: bool = False) -> None:
        """Send the outbox with up to ``window`` batches in flight (a slow, long link stays busy instead
        of idling one round trip per batch); answers are handled strictly in batch order.

        New batches are cut as they are needed, each committed before it is sent, so the first one is
        on the wire while the rest are still being sealed. With ``prefetch_inbox`` the first inbox page
        is requested right after the first batch is handed over, and runs beside the push."""
        if retry_held:
            outbox.release_held(self.store)
        pending = outbox.batches(self.store, (outbox.BUILT, outbox.SENT))
        queue = chain(pending, self._cut_as_needed(summary))
        inflight: deque[tuple[outbox.OutBatch, Future[PushReply]]] = deque()
        pool = self.pool

        def submit() -> None:
            batch = next(queue, None)
            if batch is not None:
                inflight.append((batch, pool.submit(self.transport.push, batch.blob)))

        submit()
        if prefetch_inbox:
            self.prefetched = self.start_pull()
        for _ in range(self.window - 1):
            submit()
        while inflight:
            batch, future = inflight.popleft()
            reply = future.result()  # SyncError (link) propagates: the outbox stays as it is
            self._handle(batch, reply, summary)
            submit()

    def _cut_as_needed(self, summary: SyncSummary) -> Iterator[outbox.OutBatch]:
        for seq in outbox.cut_each(self.store, self.keys, self.platform, self.settings.batch_bytes,
                                   self.settings.batch_events):
            summary.batches_built += 1
            batch = outbox.get(self.store, seq)
            if batch is not None:
                yield batch

    def _handle(self, batch: outbox.OutBatch, reply: PushReply, summary: SyncSummary) -> None:
        outbox.mark_sent(self.store, batch.seq, "network")
        summary.batches_sent += 1
        summary.events_sent += batch.events
        if reply.ack is not None:
            try:
                outbox.mark_acknowledged(self.store, batch, reply.ack, self.platform)
            except env.EnvelopeError as err:
                raise SyncError("bad_ack", f"平台回执无效，批次 {batch.seq} 未标记为已确认：{err.message}") from None
            summary.batches_acknowledged += 1
            summary.events_acknowledged += batch.events
            self.conflicts_reported += reply.conflicts + reply.events_refused
            summary.events_refused += reply.events_refused
            self.acks += 1
            self.clock_ahead_ms = max(self.clock_ahead_ms, reply.clock_ahead_ms)
            return
        if reply.retry_after:
            raise busy(reply.retry_after, reply.message)
        if reply.status == 429 or reply.status >= 500:
            raise SyncError(reply.code, f"平台暂时无法处理：{reply.message}", retry=True)
        if reply.code == "revoked":
            raise SyncError("revoked", f"{reply.message}。如果这台电脑是找回的或重新安装的，请联系平台管理员，"
                                       "并运行 station device split --device N 把它登记为本服务点的新电脑")
        if reply.code in ("fork", "chain_broken"):
            self.fork_seen = True
        if reply.code in STATION_LEVEL:
            raise SyncError(reply.code, f"平台拒收本站数据：{reply.message}。请确认本站已在平台登记、平台公钥正确")
        hold = reply.code in HOLD_AT_ONCE or batch.refusals + 1 >= MAX_REFUSALS
        outbox.record_refusal(self.store, batch.seq, reply.code, reply.message, hold)
        if hold:
            summary.batches_held += 1
        summary.error(reply.code, f"批次 {batch.seq} 被平台拒收：{reply.message}"
                      + ("（已搁置，后续批次继续上传）" if hold else "（下次同步时重试）"))

    # --- pull -------------------------------------------------------------------------------

    def start_pull(self) -> Future[tuple[list[bytes], bool]]:
        """Fetch the first inbox page while the push runs: on a long-RTT link the two directions
        overlap instead of paying for the pull's round trips after the last ack."""
        cursor, _ = outbox.inbox_cursor(self.store)
        return self.pool.submit(self.transport.pull, self.keys, cursor)

    def pull(self, summary: SyncSummary, first: Future[tuple[list[bytes], bool]] | None = None) -> None:
        if first is None:
            first, self.prefetched = self.prefetched, None
        while True:
            if first is not None:
                blobs, more = first.result()
                first = None
            else:
                cursor, _ = outbox.inbox_cursor(self.store)
                blobs, more = self.transport.pull(self.keys, cursor)
            before, _ = outbox.inbox_cursor(self.store)
            for blob in blobs:
                apply_inbox_envelope(self.store, self.keys, self.platform, blob, summary, "network")
            if not more or not blobs:
                return
            if outbox.inbox_cursor(self.store)[0] == before:
                # "more" after a page that moved nothing: an old page replayed (by a proxy, or anyone on
                # the link), and asking again would get it again, forever
                raise SyncError("inbox_stalled", "平台消息下载没有进展（收到的都是已处理过的旧消息，却仍提示还有更多），"
                                                 "可能被代理或网络重放；已停止下载，下次同步会继续", retry=True)


def apply_inbox_envelope(store: Store, keys: env.SecretKeys, platform: env.PublicKeys, blob: bytes,
                         summary: SyncSummary, via: str) -> bool:
    """Verify one inbox envelope and apply it; False if it was already applied (idempotent)."""
    batch = env.open_(blob, keys, {platform.id: platform})
    with store.transaction():
        cursor, last_hash = outbox.inbox_cursor(store)
        if batch.seq <= cursor:
            return False
        if batch.seq != cursor + 1:
            raise SyncError("inbox_gap", f"平台消息缺少第 {cursor + 1} 批（收到第 {batch.seq} 批），请重新同步")
        if batch.header.prev_hash != last_hash:
            raise SyncError("inbox_chain", f"平台消息第 {batch.seq} 批与前一批衔接不上，已拒收")
        result = store.ingest_remote(batch.events)
        outbox.record_inbox(store, batch, result.applied, result.duplicates, result.conflicts, via)
    summary.inbox_batches += 1
    summary.events_pulled += len(batch.events)
    summary.applied += result.applied
    summary.duplicates += result.duplicates
    summary.conflicts += result.conflicts
    return True


def _record_outcome(store: Store, summary: SyncSummary) -> None:
    now = store.clock().isoformat(timespec="seconds")
    with store.transaction():
        store.meta_set("sync.last_attempt", now)
        store.meta_set("sync.link", summary.link)
        if summary.ok:
            store.meta_set("sync.last_success", now)
            store.meta_set("sync.last_error", "")
        else:
            store.meta_set("sync.last_error", f"{now} {summary.errors[-1]['message']}")


Progress = Callable[[str, int, int], None]


def _report_push_progress(session: StationSync, summary: SyncSummary, retry_held: bool, progress: Progress) -> None:
    """Cut the outbox up front so the number of batches is known, then report after each answer.

    Wraps this session's batch handler instead of changing ``push``: the batches are handled
    strictly in order there, so counting handled batches is the progress."""
    if retry_held:
        outbox.release_held(session.store)
    summary.batches_built += session.cut()
    total = len(outbox.batches(session.store, (outbox.BUILT, outbox.SENT)))
    done = 0
    handle = session._handle

    def counted(batch: outbox.OutBatch, reply: PushReply, summary: SyncSummary) -> None:
        nonlocal done
        handle(batch, reply, summary)
        done += 1
        progress("push", done, total)

    session._handle = counted  # type: ignore[method-assign]
    progress("push", 0, total)


def _in_step(store: Store, session: StationSync, summary: SyncSummary) -> bool:
    """Check the chain with the platform before the first batch of this process is cut (and while a
    restore or a fork refusal marks the home); False when this home is a fork the operator must split."""
    from sync.catchup import FORKED, check_chain, needs_check

    if not needs_check(store):
        return True
    try:
        report = check_chain(store, session.transport, session.keys, session.platform)
    except SyncError as err:
        if err.code == "not_found":  # a platform from before catch-up existed: nothing to compare with
            return True
        if err.code == "bad_request_auth":  # not enrolled, or other keys: the push says exactly which
            return True
        raise
    summary.catchup = report.to_dict()
    return report.status != FORKED


def sync_now(store: Store, transport: HttpTransport | None = None, retry_held: bool = False,
             progress: Progress | None = None) -> SyncSummary:
    """Push everything pending, then pull the inbox. Never raises for link or gateway trouble: the
    summary carries the errors (in Chinese) and the outbox is left intact for the next attempt.

    ``progress`` (optional) is called as ``("push", batches_done, batches_total)`` after each pushed
    batch and ``("pull", n, n)`` once the inbox (``n`` batches) has been applied."""
    summary = SyncSummary()
    session = StationSync(store, transport)
    try:
        try:
            if not _in_step(store, session, summary):
                raise SyncError("forked", summary.catchup["message"] if summary.catchup else "本机数据与平台分叉")
            if progress is not None:
                _report_push_progress(session, summary, retry_held, progress)
            session.push(summary, retry_held, prefetch_inbox=True)
            if session.fork_seen:  # find out why now, and tell the operator in this same sync
                with store.transaction():
                    store.meta_set("catchup.required", "1")
                if not _in_step(store, session, summary) and summary.catchup:
                    summary.error("forked", summary.catchup["message"])
            session.pull(summary)
            if session.conflicts_reported:  # the gateway routed conflict notices back to us just now
                session.pull(summary)
            if progress is not None:
                progress("pull", summary.inbox_batches, summary.inbox_batches)
            summary.link = LINK_UP
        except SyncError as err:
            summary.error(err.code, err.message)
            summary.retry_after = float(err.details.get("retry_after", 0.0))
            # a retryable error is the link or a busy platform; any other means the platform answered
            summary.link = LINK_DOWN if err.retry else LINK_UP
    finally:
        session.close()
    _record_clock(store, session)
    _record_outcome(store, summary)
    return summary


CLOCK_SLACK_MS = 24 * 3600 * 1000


def _record_clock(store: Store, session: StationSync) -> None:
    """Keep the platform's time from its answers (``sync.platform_time_ms``, which station/clock_check.py
    judges the PC clock by), how far this PC's clock was from it (``sync.clock_skew_ms``), and how far
    ahead the gateway found our acknowledged batches stamped (``sync.clock_ahead_ms``, 0 = not flagged)."""
    platform_ms = getattr(session.transport, "platform_time_ms", None)
    with store.transaction():
        if platform_ms:
            store.meta_set(clock_check.PLATFORM_TIME_KEY, str(platform_ms))
            store.meta_set("sync.clock_skew_ms", str(int(store.clock().timestamp() * 1000) - platform_ms))
        if session.acks:
            store.meta_set("sync.clock_ahead_ms", str(session.clock_ahead_ms))


def _days(ms: int) -> int:
    return max(1, round(ms / 86_400_000))


def clock_warnings(store: Store) -> list[str]:
    """What the operator should hear about this PC's clock (Chinese), from the last sync and the log."""
    out: list[str] = []
    skew = int(store.meta_get("sync.clock_skew_ms", "0") or 0)
    ahead = int(store.meta_get("sync.clock_ahead_ms", "0") or 0)
    if skew > CLOCK_SLACK_MS:
        out.append(f"上次同步时，本机电脑时间比平台快约 {_days(skew)} 天，请校正电脑日期时间")
    elif skew < -CLOCK_SLACK_MS:
        out.append(f"上次同步时，本机电脑时间比平台慢约 {_days(-skew)} 天，请校正电脑日期时间")
    if ahead > CLOCK_SLACK_MS:
        out.append(f"平台发现本站上传的数据时间戳比平台时间快约 {_days(ahead)} 天（电脑时间曾被调快），已标记；"
                   "请确认电脑日期时间正确")
    local = clock_check.assess_store(store)
    if local.warning and local.warning not in out:
        out.append(local.warning)
    return out


SYNC_MODE_NETWORK, SYNC_MODE_USB, SYNC_MODE_NONE = "network", "usb", "none"
SYNC_MODE_LABELS = {SYNC_MODE_NETWORK: "网络同步（也可用U盘）", SYNC_MODE_USB: "仅U盘同步（未设置平台地址）",
                    SYNC_MODE_NONE: "未配置（请导入平台公钥文件）"}


@dataclass(frozen=True)
class SyncStatus:
    """Where this station's sync stands: what is waiting, the batches, the last attempt, the link."""

    station_id: str
    configured: bool
    mode: str
    url: str
    pending_events: int  # data events the platform has not acknowledged (logins and the like not counted)
    unsent_events: int
    last_local_seq: int
    cursor: OutboxCursor
    batched_seq: int
    batches: dict[str, int]
    held: tuple[outbox.OutBatch, ...]
    refused_pending: tuple[outbox.OutBatch, ...]
    inbox_cursor: int
    last_success: str | None
    last_attempt: str | None
    last_error: str | None
    link: str
    platform_time_ms: int | None
    clock_warnings: tuple[str, ...]
    health: Any = None  # station.health.Health: days since sync and backup, calendar, catalog, warnings

    @property
    def link_label(self) -> str:
        """The link as the operator reads it; a station with no platform configured says so."""
        return LINK_LABELS.get(self.link, self.link) if self.configured else NOT_CONFIGURED

    @property
    def last_success_at(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.last_success) if self.last_success else None
        except ValueError:
            return None

    def to_dict(self) -> dict[str, Any]:
        """The ``station sync status --json`` document."""
        return {
            "station_id": self.station_id,
            "configured": self.configured,
            "mode": self.mode,
            "url": self.url,
            "pending_events": self.pending_events,
            "unsent_events": self.unsent_events,
            "pending_audit_events": self.last_local_seq - self.cursor.acked_seq - self.pending_events,
            "unbatched_events": self.last_local_seq - self.batched_seq,
            "last_local_seq": self.last_local_seq,
            "sent_seq": self.cursor.sent_seq,
            "acked_seq": self.cursor.acked_seq,
            "batches": dict(self.batches),
            "held": [b.to_dict() for b in self.held],
            "refused_pending": [b.to_dict() for b in self.refused_pending],
            "inbox_cursor": self.inbox_cursor,
            "last_success": self.last_success,
            "last_attempt": self.last_attempt,
            "last_error": self.last_error,
            "link": self.link,
            "platform_time_ms": self.platform_time_ms,
            "clock_warnings": list(self.clock_warnings),
            "health": self.health.to_dict() if self.health is not None else None,
        }

    def text(self) -> str:
        """``station sync status`` without ``--json``."""
        lines = [f"同步方式：{SYNC_MODE_LABELS[self.mode]}",
                 f"平台地址：{self.url or '（未配置）'}",
                 f"待确认事件：{self.pending_events} 条（未上传 {self.unsent_events} 条）",
                 "批次：" + ("，".join(f"{outbox.STATE_LABELS.get(k, k)} {v}" for k, v in self.batches.items())
                            or "无"),
                 f"上次成功：{self.last_success or '从未'}",
                 f"网络状态：{LINK_LABELS.get(self.link, self.link)}"]
        if self.last_error:
            lines.append(f"上次错误：{self.last_error}")
        lines += [f"时钟警告：{w}" for w in self.clock_warnings]
        for b in self.held:
            lines.append(f"已搁置批次 {b.seq}（{b.events} 条事件）：{b.reason}")
        if self.health is not None:
            lines += self.health.lines()
            lines += [f"警告：{w}" for w in self.health.warnings]
        return "\n".join(lines)


def sync_status(store: Store, with_health: bool = True) -> SyncStatus:
    settings = SyncSettings.of(store.config)
    has_keys = (store.home / "keys" / "platform.json").exists()
    configured = bool(settings.url) and has_keys
    cursor = read_cursor(store)
    return SyncStatus(
        station_id=store.station_id,
        configured=configured,
        mode=SYNC_MODE_NETWORK if configured else SYNC_MODE_USB if has_keys else SYNC_MODE_NONE,
        url=settings.url,
        pending_events=data_events_after(store, cursor.acked_seq),
        unsent_events=data_events_after(store, cursor.sent_seq),
        last_local_seq=store.last_local_seq(),
        cursor=cursor,
        batched_seq=outbox.batched_seq(store),
        batches=outbox.counts(store),
        held=tuple(outbox.batches(store, (outbox.HELD,))),
        refused_pending=tuple(b for b in outbox.batches(store, (outbox.BUILT, outbox.SENT)) if b.refusals),
        inbox_cursor=outbox.inbox_cursor(store)[0],
        last_success=store.meta_get("sync.last_success", "") or None,
        last_attempt=store.meta_get("sync.last_attempt", "") or None,
        last_error=store.meta_get("sync.last_error", "") or None,
        link=store.meta_get("sync.link", LINK_UNKNOWN) or LINK_UNKNOWN,
        platform_time_ms=int(store.meta_get(clock_check.PLATFORM_TIME_KEY, "0") or 0) or None,
        clock_warnings=tuple(clock_warnings(store)),
        health=station_health(store) if with_health else None,
    )
