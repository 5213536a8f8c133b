"""Splitting a home off as a new device of its service point (`station device split --device N`).

A station folder copied to a second PC and run on both forks the device's chain: the platform keeps the
chain that reached it first and refuses the other (sync/catchup.py finds out and says so). The second
PC becomes device N of the same service point, losing nothing it filed meanwhile:

* the events it wrote after the fork are put back under the new device's id (``<code>-dN:1`` …), in
  their order, with their operators and recorded times;
* every case it filed after the fork gets a new number from device N's block (the first serial digit
  is N-1), the filing names the number it replaces, and a new receipt carrying a 改号通知 is printed
  for each: the old numbers came from device 1's block, which the first PC keeps issuing from (offline,
  perhaps that very day), so keeping them could collide later; device N's block is its own;
* its outbox, inbox cursor and sync keys start afresh (the old key is the first PC's and is removed
  from this one); the enrolment file of the new device is written for the platform to register.

The events both PCs share (before the fork) stay in the log as the first device's; the platform's later
events of the first device arrive through the new device's inbox like any other device's.

The same command turns a home restored for a revoked (lost or stolen) device into a new device.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from forms.problems import Problem, StationError
from station import projections
from station.devices import check_device, station_id
from station.home import update_config
from station.store import Store
from sync.catchup import CATCHUP_KEY, FORK_KEY, reissue
from sync.keys import KEY_FILE, load_or_create, station_enrolment, write_json_atomic

DEVICE_KEY = "device.id"  # the device this store's log was last written as (a half-done split is finished on open)


@dataclass
class SplitReport:
    old_id: str
    new_id: str
    device: int
    fork_at: int
    reissued_events: int
    renumbered: list[tuple[str, str]] = field(default_factory=list)
    enrolment_file: str = ""
    receipts: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        lines = [f"本机已成为服务点 {self.new_id[:12]} 的 {self.device}号机（站点标识 {self.new_id}，原为 {self.old_id}）",
                 f"分叉后本机录入的 {self.reissued_events} 条事件已改为新设备的数据，登记平台后会上报"]
        for old, new in self.renumbered:
            lines.append(f"  办件 {old} 改号为 {new}")
        if self.receipts:
            lines.append(f"已打印 {len(self.receipts)} 份带改号通知的新收件回执，请交给群众（或电话告知新编号）")
        lines.append(f"下一步：把登记文件 {self.enrolment_file} 交给平台管理员登记"
                     f"（station platform enroll --home 平台目录 {Path(self.enrolment_file).name}），然后 station sync now")
        return "\n".join(lines)


def split_device(store: Store, device: int) -> SplitReport:
    """Make this home device ``device`` of its service point (see the module doc). One transaction for
    the log; station.toml and the keys follow, and a half-done split is finished on the next open."""
    check_device(device)
    old_id = store.station_id
    new_id = station_id(store.division_code, device)
    if new_id == old_id:
        raise StationError("same_device", f"本机已经是 {device}号机，请选择本服务点尚未使用的另一个编号",
                           [Problem("device", "same_device", "与本机编号相同")])
    fork = json.loads(store.meta_get(FORK_KEY, "") or "{}")
    fork_at = int(fork.get("fork_at") or store.last_local_seq() + 1)
    new_config = replace(store.config, device=device)
    with store.transaction():
        row = store.conn.execute("SELECT rowid FROM events WHERE station=? AND seq>=? ORDER BY seq LIMIT 1",
                                 (old_id, fork_at)).fetchone()
        removed = store.cut_log(row[0]) if row else []
        store.config = new_config
        store.fold_context = projections.FoldContext(new_id, store.codec)
        mine = [e for e in removed if e.station == old_id]
        for e in removed:
            if e.station != old_id:
                store.put_back(e)
        taken = {n for (n,) in store.conn.execute("SELECT case_number FROM events WHERE type='case.filed'"
                                                  " AND case_number IS NOT NULL")}
        renumbered = reissue(store, mine, taken, renumber_all=True)
        for table in ("sync_batches", "sync_inbox"):
            store.conn.execute(f"DELETE FROM {table}")
        for key in ("sync.batched_seq", "sync.sent_seq", "sync.acked_seq"):
            store.meta_set(key, "0")
        for key in (FORK_KEY, CATCHUP_KEY, "sync.last_error"):
            store.meta_set(key, "")
        store.meta_set(DEVICE_KEY, new_id)
        store.refold_all()
    finish_split(store.home, device)
    enrolment = station_enrolment(store.home, new_id, store.config.role, store.config.name)
    target = store.home / f"enrolment-{new_id}.json"
    write_json_atomic(target, {**enrolment.to_dict(), "division_code": store.division_code, "device": device})
    return SplitReport(old_id, new_id, device, fork_at, len(mine), renumbered, str(target))


def finish_split(home: Path, device: int) -> None:
    """The old device's sync key leaves this PC (it is the first PC's), then station.toml names the new
    device and its keys are made. ``Store.open`` redoes the first two if a split stopped half-way."""
    (home / KEY_FILE).unlink(missing_ok=True)
    update_config(home, device=device)
    load_or_create(home, station_id(_division(home), device))


def _division(home: Path) -> str:
    from station.home import read_config

    return read_config(home).division_code
