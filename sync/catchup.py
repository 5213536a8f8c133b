"""Catch-up: before a device cuts its first batch after starting, it checks its chain with the platform.

The platform is each device's remote backup. A home restored from a backup, or an old folder copied
back, is behind what the platform already acknowledged from that device: its next batch would reuse
a batch number (a fork), its next events would reuse event ids, its next case could reuse a number the
platform holds for another citizen. So, once per process before the first push (and always while a
restored home is marked), the station asks the platform for its own chain (``GET /v1/chain``, signed
both ways) and, when the platform is ahead, its own events (``GET /v1/own``), and compares them with
its log from the last acknowledged event on:

* **in step**: nothing the platform holds is missing here; batches the platform holds under numbers
  this home has only built are replaced by the platform's (their events are the same).
* **behind**: every event both hold is the same, the platform has more: they are adopted as this
  device's own (same ids, seqs and stamps), the platform's batches recorded as acknowledged, and the
  chain continues from the platform's head. A restored home gets back every acknowledged event.
* **rebased** (a restored home that filed before it could reach the platform): the events this home
  wrote after the backup are put back after the platform's, under the next seqs; a filing whose number
  the platform already holds gets the next free number of this device's block (listed in the report,
  a new receipt is printed for the citizen).
* **forked** (a home copied to a second PC, both running): the platform keeps the chain that reached
  it first. Nothing is changed here; the operator is told what happened and the one command that makes
  this PC a new device of the same service point (``station device split``, sync/split.py).

The events a dead PC can lose are those it neither synced nor backed up; the ones below the highest
event number known (gaps: neither here nor on the platform) are counted and reported.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from station import events as ev
from station.casenumber import parse as parse_number, serial_block
from station.events import Event, canonical_json
from station.store import Store
from sync import envelope as env
from sync import outbox
from sync.errors import SyncError
from sync.keys import load_or_create, platform_keys
from sync.settings import SyncSettings
from sync.transport import HttpTransport

CATCHUP_KEY = "catchup.required"  # check before the next batch: set by a restore and after a fork refusal
RESTORED_KEY = "restore.from_backup"
PENDING_KEY = "restore.pending"  # a restored home not yet caught up: its own later events are rebased
LOST_KEY = "catchup.lost_ranges"  # JSON [[first, last], …] of own seqs known lost (station db check skips them)
FORK_KEY = "catchup.fork"  # JSON of the last fork found: the operator must split this home

class ChainSource(Protocol):
    """Where the platform's answer comes from: the network (HttpTransport) or a stick (sync/usb_catchup.py)."""

    def chain(self, signer: env.SecretKeys, platform: env.PublicKeys, after: int = 0) -> dict[str, Any]: ...

    def own(self, signer: env.SecretKeys, after: int) -> tuple[list[bytes], bool]: ...


IN_STEP, BEHIND, REBASED, FORKED = "in_step", "caught_up", "rebased", "forked"
_checked: set[str] = set()  # homes checked by this process (the scheduler checks once, then trusts its chain)


@dataclass
class CatchupReport:
    status: str
    platform_last_event: int = 0
    local_last_event: int = 0
    adopted_events: int = 0
    adopted_batches: int = 0
    reissued_events: int = 0
    renumbered: list[tuple[str, str]] = field(default_factory=list)
    lost_events: int = 0
    fork_at: int = 0
    forked_cases: list[str] = field(default_factory=list)
    message: str = ""
    inbox_events: int = 0  # pulled from its inbox right after a restore

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        lines = [self.message] if self.message else []
        if self.adopted_events:
            lines.append(f"已从平台取回本机已上报的 {self.adopted_events} 条事件（{self.adopted_batches} 批）")
        if self.inbox_events:
            lines.append(f"已取回其他站点发来的 {self.inbox_events} 条消息（审核决定等）")
        if self.reissued_events:
            lines.append(f"本机恢复后新录入的 {self.reissued_events} 条事件已排在平台记录之后重新上报")
        for old, new in self.renumbered:
            lines.append(f"办件编号 {old} 已被平台上的另一件占用，改为 {new}：请打印新的收件回执交给群众"
                         f"（station print receipt {new}）")
        if self.status in (BEHIND, REBASED) or self.lost_events:
            lines.append(f"丢失事件：{self.lost_events} 条（既未上报平台、也不在备份中）"
                         + ("" if not self.lost_events else "，请按纸质材料补录")
                         + "；原电脑最后一次同步之后录入而未备份的数据无法得知，请核对纸质回执")
        return "\n".join(lines)


def _wire(store: Store, e: Event) -> dict[str, Any]:
    return store.wire_event(e)


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("id", "seq", "hlc", "operator", "case", "type", "body", "recorded_at")
    return canonical_json([a.get(k) for k in keys]) == canonical_json([b.get(k) for k in keys])


def _fetch_own(transport: ChainSource, keys: env.SecretKeys, platform: env.PublicKeys, after: int) -> list[dict]:
    out: list[dict[str, Any]] = []
    start = after
    while True:
        blobs, more = transport.own(keys, after)
        asked = after
        for blob in blobs:
            batch = env.open_(blob, keys, {platform.id: platform})
            for e in batch.events:
                if e.get("station") == keys.id and 0 < int(e.get("seq", 0)) <= start:
                    continue  # a stick answer made for an earlier acknowledged point: this home has them
                if e.get("station") != keys.id or int(e.get("seq", 0)) <= after:
                    raise SyncError("bad_answer", "平台返回的本机数据不属于本机，未作任何改动")
                out.append(e)
                after = int(e["seq"])
        if not more or not blobs:
            return out
        if after == asked:  # "more" after a page that moved nothing: a replayed page, forever
            raise SyncError("bad_answer", "平台返回的本机数据没有进展（重复的旧数据却仍提示还有更多），未作任何改动",
                            retry=True)


def check_chain(store: Store, transport: ChainSource, keys: env.SecretKeys | None = None,
                platform: env.PublicKeys | None = None) -> CatchupReport:
    """Compare this device's log and chain with the platform's and catch up (see the module doc)."""
    keys = keys or load_or_create(store.home, store.station_id)
    platform = platform or platform_keys(store.home).keys
    acked_batch = _acked_prefix(store)
    chain = transport.chain(keys, platform, acked_batch)
    platform_last = int(chain.get("last_event_seq") or 0)
    local_last = store.last_local_seq()
    acked_seq = int(store.meta_get("sync.acked_seq", "0") or 0)
    report = CatchupReport(IN_STEP, platform_last, local_last)
    mine: list[dict[str, Any]] = []
    if platform_last > acked_seq:
        mine = _fetch_own(transport, keys, platform, acked_seq)
    by_seq = {int(e["seq"]): e for e in mine}
    fork = 0
    for local in store.iter_events("station=? AND seq>? AND seq<=?", (store.station_id, acked_seq, platform_last),
                                   order="seq"):
        held = by_seq.get(local.seq)
        if held is not None and not _same(_wire(store, local), held):
            fork = local.seq
            break
    restored = store.meta_get(PENDING_KEY, "") == "1"
    if fork and not restored and _has_data_after(store, fork):
        return _forked(store, report, fork)
    with store.transaction():
        if fork:
            _rebase(store, fork, [e for e in mine if int(e["seq"]) >= fork], report)
        elif platform_last > local_last:
            behind = [e for e in mine if int(e["seq"]) > local_last]
            report.adopted_events = store.adopt_own(behind)
            report.status = BEHIND
        report.adopted_batches = _reconcile_batches(store, chain["batches"])
        report.lost_events = _record_losses(store, {int(e["seq"]) for e in mine})
        store.meta_set(CATCHUP_KEY, "")
        store.meta_set(PENDING_KEY, "")
        store.meta_set(FORK_KEY, "")
    if report.status == IN_STEP and restored:
        report.message = "已与平台核对：平台上没有本机更新的数据，本机数据完整"
    elif report.status == BEHIND:
        report.message = "已与平台核对：本机落后于平台，已补回平台已收到的本机数据"
    elif report.status == REBASED:
        report.message = "已与平台核对：已补回平台已收到的本机数据，并把恢复后新录入的数据排在其后"
    _checked.add(str(store.home))
    return report


def _has_data_after(store: Store, fork: int) -> bool:
    """Did this home record work of its own from ``fork`` on? Logins and other audit-only records (an old
    folder copied back, then logged into to run `station sync now`) are simply put after the platform's
    events; work means a second PC ran as this device, and only splitting it off is safe."""
    marks = ",".join("?" * len(ev.AUDIT_ONLY))
    row = store.conn.execute(f"SELECT 1 FROM events WHERE station=? AND seq>=? AND type NOT IN ({marks}) LIMIT 1",
                             (store.station_id, fork, *sorted(ev.AUDIT_ONLY))).fetchone()
    return row is not None


def _acked_prefix(store: Store) -> int:
    """The last batch number up to which every local batch is acknowledged (the platform holds them)."""
    n = 0
    for seq, state in store.conn.execute("SELECT seq, state FROM sync_batches ORDER BY seq"):
        if seq != n + 1 or state != outbox.ACKED:
            break
        n = seq
    return n


def _reconcile_batches(store: Store, batches: list[dict[str, Any]]) -> int:
    """Make the local outbox agree with the platform's record of this device's chain: the platform's
    batches are acknowledged here (a batch only built here under a number the platform holds with other
    bytes is dropped, its events are the platform's), and the watermark follows what they carry."""
    if not batches:
        return 0
    added = 0
    first_conflict = None
    local = {seq: (h, state) for seq, h, state in store.conn.execute("SELECT seq, hash, state FROM sync_batches")}
    for b in batches:
        held = local.get(b["seq"])
        if held is not None and held[0] != bytes.fromhex(b["hash"]) and held[1] != outbox.ACKED:
            first_conflict = b["seq"] if first_conflict is None else min(first_conflict, b["seq"])
    if first_conflict is not None:  # later local batches chain from the dropped one: drop them too
        store.conn.execute("DELETE FROM sync_batches WHERE seq>=? AND state<>?", (first_conflict, outbox.ACKED))
    at = store.clock().isoformat(timespec="seconds")
    for b in batches:
        row = store.conn.execute("SELECT hash FROM sync_batches WHERE seq=?", (b["seq"],)).fetchone()
        if row is not None:
            if row[0] == bytes.fromhex(b["hash"]):
                store.conn.execute("UPDATE sync_batches SET state=?, acked_at=coalesce(acked_at, ?) WHERE seq=?",
                                   (outbox.ACKED, at, b["seq"]))
            continue
        first, last = int(b.get("first_event") or 0), int(b.get("last_event") or 0)
        if not first:
            prev = store.conn.execute("SELECT last_seq FROM sync_batches WHERE seq<? ORDER BY seq DESC LIMIT 1",
                                      (b["seq"],)).fetchone()
            first = (prev[0] if prev else 0) + 1
            last = first + int(b["events"]) - 1
        store.conn.execute(
            "INSERT INTO sync_batches(seq, first_seq, last_seq, events, hash, prev_hash, state, blob, created_at,"
            " acked_at, via) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (b["seq"], first, last, int(b["events"]), bytes.fromhex(b["hash"]), bytes.fromhex(b["prev_hash"]),
             outbox.ACKED, b"", at, at, "catch-up"))
        added += 1
    # batches only built or sent here that carry events the platform holds in its batches: their events
    # are the platform's now (a held batch the platform never took is left alone, with its events)
    for b in batches:
        row = store.conn.execute("SELECT first_seq, last_seq FROM sync_batches WHERE seq=?", (b["seq"],)).fetchone()
        if row is not None:
            store.conn.execute("DELETE FROM sync_batches WHERE state<>? AND first_seq<=? AND last_seq>=?",
                               (outbox.ACKED, row[1], row[0]))
    top = store.conn.execute("SELECT MAX(last_seq) FROM sync_batches").fetchone()[0] or 0
    store.meta_set("sync.batched_seq", str(top))
    outbox.recompute_cursor(store)
    return added


def _record_losses(store: Store, platform_seqs: set[int]) -> int:
    """Own seqs below the highest known that are in neither the log nor the platform's answer."""
    have = [s for (s,) in store.conn.execute("SELECT seq FROM events WHERE station=? ORDER BY seq", (store.station_id,))]
    ranges: list[list[int]] = json.loads(store.meta_get(LOST_KEY, "") or "[]")
    expected, lost = 1, 0
    known = {tuple(r) for r in ranges}
    for seq in have:
        if seq > expected and (expected, seq - 1) not in known:
            ranges.append([expected, seq - 1])
            lost += seq - expected
        expected = seq + 1
    if lost:
        store.meta_set(LOST_KEY, json.dumps(ranges))
    return lost


def _rebase(store: Store, fork: int, theirs: list[dict[str, Any]], report: CatchupReport) -> None:
    """Put the platform's events of this device from ``fork`` on first, then what this home wrote after
    them (re-sequenced, a filing renumbered when the platform holds its number)."""
    row = store.conn.execute("SELECT rowid FROM events WHERE station=? AND seq=?", (store.station_id, fork)).fetchone()
    removed = store.cut_log(row[0])
    report.adopted_events = store.adopt_own(theirs)
    mine = [e for e in removed if e.station == store.station_id]
    for e in removed:
        if e.station != store.station_id:
            store.put_back(e)
    taken = {n for (n,) in store.conn.execute("SELECT case_number FROM events WHERE type=? AND case_number IS NOT NULL",
                                              (ev.CASE_FILED,))}
    report.renumbered = reissue(store, mine, taken, renumber_all=False)
    report.reissued_events = len(mine)
    store.refold_all()
    report.status = REBASED


def reissue(store: Store, events: list[Event], taken: set[str], renumber_all: bool) -> list[tuple[str, str]]:
    """Append ``events`` again under this device's next seqs. A filing whose number is ``taken`` (or every
    filing, with ``renumber_all``) gets the next free number of this device's block on its day, and so
    do the events that follow on that case; the new filing names the number it replaces."""
    mapping: dict[str, str] = {}
    for e in events:
        number = e.case_number
        if e.type == ev.CASE_FILED and number and (renumber_all or number in taken):
            mapping[number] = _free_number(store, number, taken)
            taken.add(mapping[number])
            body = store.codec.open_body(e.body)
            body["renumbered_from"] = number
            store.reissue(e, mapping[number], body)
            continue
        if e.type == ev.CASE_FILED and number:
            taken.add(number)
        store.reissue(e, mapping.get(number, number) if number else None)
    return sorted(mapping.items())


def _free_number(store: Store, old: str, taken: set[str]) -> str:
    n = parse_number(old)
    first, last = serial_block(store.device)
    for serial in range(first, last + 1):
        candidate = str(type(n)(store.division_code, n.day, serial))
        if candidate not in taken and not store.conn.execute("SELECT 1 FROM cases WHERE number=?", (candidate,)).fetchone():
            return candidate
    raise SyncError("sequence_exhausted", f"{n.day} 本机的办件编号已用完，无法改号")


def _forked(store: Store, report: CatchupReport, fork: int) -> CatchupReport:
    cases = [n for (n,) in store.conn.execute(
        "SELECT case_number FROM events WHERE station=? AND seq>=? AND type=? ORDER BY seq",
        (store.station_id, fork, ev.CASE_FILED))]
    with store.transaction():
        store.meta_set(FORK_KEY, json.dumps({"fork_at": fork, "cases": cases}))
        store.meta_set(CATCHUP_KEY, "1")
    report.status, report.fork_at, report.forked_cases = FORKED, fork, cases
    report.message = fork_message(store, fork, cases)
    return report


def fork_message(store: Store, fork: int, cases: list[str]) -> str:
    return (f"本机数据与平台上本设备（{store.station_id}）的记录从第 {fork} 条事件起分叉：这个站点目录很可能被复制到"
            f"另一台电脑上同时使用。平台保留先上报的那台电脑的数据，本机的新数据暂不上报。"
            f"本机分叉后登记了 {len(cases)} 件办件，不会丢失。请在本机运行（N 为本服务点尚未使用的电脑编号）：\n"
            f"    station device split --device N\n"
            "本机将成为本服务点的一台新电脑，分叉后的数据以新设备重新上报，办件改用新设备的编号，并打印改号通知交给群众。")


def needs_check(store: Store) -> bool:
    """Before the first push of this process, and whenever a restore or a fork refusal marked the home."""
    return str(store.home) not in _checked or store.meta_get(CATCHUP_KEY, "") == "1"


def forget_checks() -> None:
    """Start over as a new process would (tests simulate a restart)."""
    _checked.clear()


def catch_up_home(home: Path) -> CatchupReport:
    """After `station restore`: check with the platform if it is configured and reachable."""
    with Store.open(home) as store:
        settings = SyncSettings.of(store.config)
        if not settings.url or not (home / "keys" / "platform.json").exists():
            return CatchupReport("not_configured", local_last_event=store.last_local_seq(),
                                 message="本站未配置平台地址：联网同步（station sync now）或U盘同步时再与平台核对")
        transport = HttpTransport(settings.url, settings.ca_bundle, settings.proxy, settings.timeout_seconds,
                                  settings.retries)
        try:
            report = check_chain(store, transport)
            if report.status != FORKED:  # and what others sent it since the backup (decisions, calendars)
                from sync.service import StationSync, SyncSummary

                session = StationSync(store, transport)
                try:
                    pulled = SyncSummary()
                    session.pull(pulled)
                    report.inbox_events = pulled.applied
                finally:
                    session.pool.shutdown(wait=True)
            return report
        except SyncError as err:
            return CatchupReport("offline", local_last_event=store.last_local_seq(),
                                 message=f"暂时无法与平台核对（{err.message}）：联网后运行 station sync now，"
                                         "会先补回平台已收到的本机数据，再上报新数据")
        finally:
            transport.close()
