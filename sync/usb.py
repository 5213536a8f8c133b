"""Sneakernet: the same envelopes as the network path, carried as files on a USB stick.

Folder layout (one sub-folder per station, so one stick can carry several)::

    FOLDER/<station_id>/manifest.json     who, the inbox cursor, the batches written
    FOLDER/<station_id>/out/<seq>.vse     the station's sealed batches (exact outbox bytes)
    FOLDER/<station_id>/acks/<seq>.ack    platform-signed acknowledgements
    FOLDER/<station_id>/in/<seq>.vse      the station's inbox envelopes from the platform
    FOLDER/<station_id>/chain.json        the platform's signed answer of the device's chain (catch-up)
    FOLDER/<station_id>/own/<n>.vse       its own events the platform holds, when it asked to catch up

Catch-up over the stick (a restored home: nothing new is cut until the platform answered) is
``sync.usb_catchup``.

The platform's side (ingest a stick, write acks and inbox envelopes back) is
``sync.gateway.usb_import``: nothing on the station side imports the platform.

Every file is written atomically (tmp + fsync + rename). Each file is verified on its own: a
corrupted one is refused and reported, the rest are imported. Importing twice changes nothing:
acks and envelopes are deterministic bytes, already-applied ones are skipped.

A stick is whatever its last holder made it. Files are taken only if they are regular files
(``lstat``, then opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked again by ``fstat``: no symlink,
device or FIFO is ever followed or waited on), their size is checked before reading and the read
is bounded; folders written into must be real folders, not links elsewhere.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any

from station.store import Store
from sync import envelope as env
from sync import outbox
from sync.errors import SyncError
from sync.keys import load_or_create, platform_keys, write_bytes_atomic, write_json_atomic
from sync.service import SyncSummary, apply_inbox_envelope
from sync.settings import SyncSettings

MANIFEST_FORMAT = "village-station-usb/1"


def _name(seq: int, ext: str) -> str:
    return f"{seq:08d}.{ext}"


MAX_SEQ_DIGITS = 18  # batch numbers are SQLite 64-bit integers


def _seq_of(path: Path) -> int | None:
    stem = path.stem
    return int(stem) if stem.isascii() and stem.isdigit() and len(stem) <= MAX_SEQ_DIGITS else None


# Read bounds for files on a stick: an envelope is at most a header plus the largest ciphertext the
# format allows; acks and manifests are small.
MAX_ENVELOPE_FILE = env.MAX_CT_LEN + 512
MAX_ACK_FILE = 4096
MAX_MANIFEST_FILE = 1024 * 1024


def _not_a_file(path: Path) -> SyncError:
    return SyncError("usb_not_a_file", f"{path.name} 不是普通文件（可能是链接、设备或管道），已跳过")


def read_stick_file(path: Path, limit: int) -> bytes:
    """A regular file from the stick, at most ``limit`` bytes; anything else is a clear refusal
    (``usb_not_a_file``, ``too_large``, ``usb_unreadable``), never a hang or a read without end."""
    try:
        before = os.lstat(path)
        if not stat.S_ISREG(before.st_mode):
            raise _not_a_file(path)
        if before.st_size > limit:
            raise SyncError("too_large", f"文件 {path.name} 过大（{before.st_size} 字节，上限 {limit}），已跳过")
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # replaced by a link since lstat
            raise _not_a_file(path) from None
        raise SyncError("usb_unreadable", f"无法读取文件 {path.name}：{exc.strerror or exc}") from None
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino):
            raise _not_a_file(path)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise SyncError("too_large", f"文件 {path.name} 过大（超过 {limit} 字节），已跳过")
        return b"".join(chunks)
    except OSError as exc:
        raise SyncError("usb_unreadable", f"无法读取文件 {path.name}：{exc.strerror or exc}") from None
    finally:
        os.close(fd)


def real_dir(path: Path) -> bool:
    """A folder that is really there and really a folder (not a link to somewhere else)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def stick_files(folder: Path, suffix: str) -> list[Path]:
    """Entries of a stick folder ending in ``suffix``, sorted, without following anything ([] if no folder)."""
    if not real_dir(folder):
        return []
    try:
        with os.scandir(folder) as entries:
            return sorted(folder / e.name for e in entries if e.name.endswith(suffix))
    except OSError:
        return []


def _read(path: Path, limit: int = MAX_ENVELOPE_FILE) -> bytes:
    return read_stick_file(path, limit)


def _write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` unless the file already holds it; refuses to write through a linked folder."""
    parent = path.parent
    try:
        if os.path.lexists(parent) and not real_dir(parent):
            raise SyncError("usb_not_a_file", f"U盘上的 {parent.name} 不是普通文件夹（可能是链接），没有写入")
        try:
            if read_stick_file(path, len(data)) == data:
                return False
        except SyncError:
            pass  # absent, different, or not a regular file: replaced below (rename replaces the entry)
        write_bytes_atomic(path, data)
    except OSError as exc:
        raise _write_error(path, exc) from None
    return True


def _write_error(path: Path, exc: OSError) -> SyncError:
    if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return SyncError("usb_full", f"U盘空间不足（或文件过大），{path.name} 没有写入。已写入的文件完整可用，"
                                     "未写入的批次仍在本站待传；请换一个空间足够的U盘后重新导出")
    return SyncError("usb_write_failed", f"无法写入U盘文件 {path.name}：{exc.strerror or exc}。"
                                         "未写入的批次仍在本站待传，请检查U盘后重新导出")


# --- station side --------------------------------------------------------------------------

def export(store: Store, folder: Path) -> dict[str, Any]:
    """Write every unacknowledged batch and a manifest into ``folder/<station_id>``.

    A home that must first catch up with the platform (restored from a backup: sync/usb_catchup.py) cuts
    no new batch (it would be refused as a fork): its manifest asks the platform for its chain, and the
    result says so (``catchup_pending``, ``notice``)."""
    from sync.catchup import _acked_prefix
    from sync.usb_catchup import PENDING_CODE, PENDING_MESSAGE, needs_catchup, open_request

    settings = SyncSettings.of(store.config)
    keys = load_or_create(store.home, store.station_id)
    platform = platform_keys(store.home).keys
    pending_catchup = needs_catchup(store)
    built = [] if pending_catchup else outbox.cut(store, keys, platform, settings.batch_bytes, settings.batch_events)
    own = folder / store.station_id
    if os.path.lexists(own) and not real_dir(own):
        raise SyncError("usb_not_a_file", f"U盘上的 {own.name} 不是普通文件夹（可能是链接），没有写入")
    out = own / "out"
    pending = outbox.batches(store, (outbox.BUILT, outbox.SENT))
    written = 0
    for batch in pending:
        if _write_if_changed(out / _name(batch.seq, "vse"), batch.blob):
            written += 1
        outbox.mark_sent(store, batch.seq, "usb")
    keep = {_name(b.seq, "vse") for b in pending}
    removed = 0
    if real_dir(out):
        for path in stick_files(out, ".vse"):
            if path.name not in keep and not real_dir(path):  # acknowledged since (or held): no longer carried
                try:
                    path.unlink()
                    removed += 1
                except OSError:  # left as it is: the manifest lists what the platform takes
                    pass
    cursor, _ = outbox.inbox_cursor(store)
    manifest = {"format": MANIFEST_FORMAT, "station_id": store.station_id, "role": store.config.role,
                "name": store.config.name, "inbox_after": cursor,
                "acked_batch": _acked_prefix(store), "acked_seq": int(store.meta_get("sync.acked_seq", "0") or 0),
                "batches": [{"seq": b.seq, "file": f"out/{_name(b.seq, 'vse')}", "sha256": b.hash.hex(),
                             "events": b.events} for b in pending]}
    if pending_catchup:
        manifest["catchup"] = {"request": open_request(store)}
    old = own / "manifest.json"
    try:
        try:
            same = json.loads(read_stick_file(old, MAX_MANIFEST_FILE).decode("utf-8")) == manifest
        except (SyncError, ValueError, UnicodeDecodeError, RecursionError):  # absent or damaged: replace it
            same = False
        if not same:
            write_json_atomic(old, manifest)
    except OSError as exc:
        raise _write_error(old, exc) from None
    result: dict[str, Any] = {"folder": str(own), "batches": len(pending), "events": sum(b.events for b in pending),
                              "batches_built": len(built), "files_written": written, "files_removed": removed,
                              "inbox_after": cursor, "catchup_pending": pending_catchup}
    if pending_catchup:
        result.update({"code": PENDING_CODE, "notice": PENDING_MESSAGE})
    return result


def import_(store: Store, folder: Path) -> dict[str, Any]:
    """Apply the platform's acks and inbox envelopes found in ``folder/<station_id>``."""
    own = folder / store.station_id
    if not real_dir(own):
        raise SyncError("usb_nothing", f"{folder} 中没有本站（{store.station_id}）的数据")
    keys = load_or_create(store.home, store.station_id)
    platform = platform_keys(store.home).keys
    summary = SyncSummary(link="usb")
    catchup = _catch_up(store, own, keys, platform, summary)  # first: the acks on the stick may be for batches
    acked = already = 0                                         # a restored home gets back only now
    from sync.usb_catchup import needs_catchup

    behind = needs_catchup(store)  # not caught up: acks of batches it has not got back yet are no news
    for path in stick_files(own / "acks", ".ack"):
        seq = _seq_of(path)
        batch = outbox.get(store, seq) if seq is not None else None
        if batch is None:
            if not behind:
                summary.error("usb_unknown_ack", f"回执 {path.name} 对应的批次本站没有")
            continue
        try:
            if outbox.mark_acknowledged(store, batch, _read(path, MAX_ACK_FILE), platform):
                acked += 1
                summary.batches_acknowledged += 1
                summary.events_acknowledged += batch.events
            else:
                already += 1
        except SyncError as err:
            summary.error(err.code, f"回执 {path.name} 无效，已跳过：{err.message}")
    inbox = sorted((p for p in stick_files(own / "in", ".vse") if _seq_of(p) is not None), key=_seq_of)  # type: ignore[arg-type]
    skipped = 0
    for path in inbox:
        try:
            if not apply_inbox_envelope(store, keys, platform, _read(path), summary, "usb"):
                skipped += 1
        except SyncError as err:
            summary.error(err.code, f"文件 {path.name} 被拒收：{err.message}")
    result = summary.to_dict()
    result.update({"acks_applied": acked, "acks_already": already, "inbox_skipped": skipped})
    result["catchup"] = catchup.to_dict() if catchup is not None else None
    text = catchup.text() if catchup is not None else ""
    if text:
        result["notice"] = text
    return result


def _catch_up(store: Store, own: Path, keys: env.SecretKeys, platform: env.PublicKeys,
              summary: SyncSummary) -> Any:
    """A home that must catch up checks its chain with the platform's signed answer on the stick (the
    CatchupReport, or None when there was nothing to check; a refused answer is an error and changes
    nothing)."""
    from sync.catchup import check_chain
    from sync.usb_catchup import NO_ANSWER_MESSAGE, PENDING_CODE, REQUEST_KEY, StickTransport, close_request, \
        needs_catchup

    if not needs_catchup(store):
        return None
    transport = StickTransport(own, store.meta_get(REQUEST_KEY, ""))
    if not transport.present():
        summary.error(PENDING_CODE, NO_ANSWER_MESSAGE)
        return None
    try:
        report = check_chain(store, transport, keys, platform)
    except env.EnvelopeError as err:  # an own/ file that does not open: not from the platform, or for another
        summary.error("bad_answer", f"U盘上平台发回的本机数据无效（{err.message}），未作任何改动。请重新导出，"
                                    "把U盘送到平台导入后再导入")
        return None
    except SyncError as err:
        summary.error(err.code, err.message)
        return None
    if not needs_catchup(store):
        close_request(store)
    return report
