"""Backup and restore of a station home: one sealed file, made while the station may be running.

A backup holds a consistent copy of ``station.db`` (SQLite's online backup API: one read snapshot, so
filing goes on meanwhile), ``station.toml`` and the keys (``keys/data.key``, ``keys/sync.key``,
``keys/platform.json``). The printed PDFs (``prints/``) are not in it: every paper can be printed again
from the data.

File format (``.vsbak``)::

    MAGIC (10 bytes) | u32 header length | header (JSON) | chunks…
    chunk = u32 length | AES-256-GCM ciphertext of up to 1 MiB of plaintext, with its tag

The plaintext is a zstd-compressed tar stream. The key is derived from the passphrase with Argon2id
(memory-hard: 64 MiB, 3 passes; the parameters and the salt are in the header, and bounded before
they are run: the header is the one part a stranger can write). The header also holds
a check value (HMAC of a constant under the key), so a wrong passphrase is told apart from a damaged
file. Each chunk's nonce is the header's 7-byte prefix, the chunk counter and a final flag, and its
associated data is the SHA-256 of the header: chunks cannot be reordered, dropped, cut short or moved
to another backup without the check failing.

Nothing half-made is ever left under the final name: a backup is written to a temporary file beside the
target, flushed and renamed; a restore is unpacked and opened in a temporary folder beside the new home
and renamed into place only once the store has opened and checked out. A kill -9 at any moment leaves
either nothing (a leftover temporary file or folder, removed by the next run) or the complete result.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import io
import json
import os
import secrets
import shutil
import sqlite3
import struct
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Callable

import zstandard
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from forms.problems import Problem, StationError
from station.home import CONFIG_FILE, DATA_KEY_FILE, DB_FILE, is_station_home, read_config, refuse_inside_home

MAGIC = b"VSBACKUP1\n"
FORMAT = "village-station-backup/1"
SUFFIX = ".vsbak"
CHUNK = 1024 * 1024
KDF = {"name": "argon2id", "memory_kib": 64 * 1024, "iterations": 3, "lanes": 1}
MIN_PASSPHRASE = 8
MAX_HEADER = 64 * 1024
# Bounds on what a file may ask of the victim PC before the passphrase is checked: the KDF parameters are
# read from the (unauthenticated) header, so anything much costlier than ours is refused without running it.
KDF_MAX_MEMORY_KIB = 256 * 1024
KDF_MAX_ITERATIONS = 8
KDF_MAX_LANES = 4
KDF_MAX_COST = 4 * KDF["memory_kib"] * KDF["iterations"]  # KiB x passes
# Bounds on what a backup may unpack to (a decompression bomb is refused, not written to the end of the
# disk): the small members are small; in all, at most RATIO times the backup's size, or FLOOR.
MAX_SMALL_MEMBER = 1024 * 1024
UNPACK_RATIO = 1000
UNPACK_FLOOR = 64 * 1024 * 1024
# What a backup may hold, and nothing else is ever unpacked (a crafted file cannot write elsewhere).
MEMBERS = ("backup.json", CONFIG_FILE, DB_FILE, DATA_KEY_FILE, "keys/sync.key", "keys/platform.json")
PRIVATE = frozenset({DATA_KEY_FILE, "keys/sync.key"})
TMP_MARK = ".partial-"
LAST_BACKUP_KEY = "backup.last_at"


class BackupError(StationError):
    pass


def _damaged(detail: str = "") -> BackupError:
    return BackupError("backup_damaged", "备份文件已损坏或不完整，无法恢复" + (f"（{detail}）" if detail else "")
                       + "。请换用另一份备份", [Problem("from", "damaged", "备份文件已损坏")])


def check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError("weak_passphrase", f"备份口令至少{MIN_PASSPHRASE}个字符（恢复时要用，请另行妥善保管）",
                          [Problem("passphrase", "too_short", f"口令至少{MIN_PASSPHRASE}个字符")])


def _derive(passphrase: str, kdf: dict[str, Any]) -> bytes:
    try:
        salt = bytes.fromhex(kdf["salt"])
        memory, iterations, lanes = kdf["memory_kib"], kdf["iterations"], kdf["lanes"]
        if kdf.get("name") != "argon2id" or not 8 <= len(salt) <= 64 \
                or not all(type(v) is int for v in (memory, iterations, lanes)) \
                or not 8 * 1024 <= memory <= KDF_MAX_MEMORY_KIB or not 1 <= iterations <= KDF_MAX_ITERATIONS \
                or not 1 <= lanes <= KDF_MAX_LANES or memory * iterations > KDF_MAX_COST:
            raise ValueError
    except (KeyError, TypeError, ValueError, AttributeError):
        raise _damaged("文件头参数无效") from None
    return Argon2id(salt=salt, length=32, iterations=iterations, lanes=lanes,
                    memory_cost=memory).derive(passphrase.encode("utf-8"))


def _check_value(key: bytes) -> str:
    return hmac.new(key, b"village-station-backup key check", hashlib.sha256).hexdigest()


def _nonce(prefix: bytes, counter: int, final: bool) -> bytes:
    return prefix + struct.pack(">I", counter) + (b"\x01" if final else b"\x00")


class _SealingWriter(io.RawIOBase):
    """Writes plaintext; emits sealed chunks of :data:`CHUNK` bytes; the last one flagged final on close."""

    def __init__(self, out: IO[bytes], key: bytes, prefix: bytes, aad: bytes):
        self.out, self.aead, self.prefix, self.aad = out, AESGCM(key), prefix, aad
        self.buf = bytearray()
        self.counter = 0
        self.finished = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:  # type: ignore[override]
        self.buf += data
        while len(self.buf) > CHUNK:  # keep at least one byte back: the last chunk is written by finish()
            self._emit(bytes(self.buf[:CHUNK]), False)
            del self.buf[:CHUNK]
        return len(data)

    def _emit(self, plain: bytes, final: bool) -> None:
        sealed = self.aead.encrypt(_nonce(self.prefix, self.counter, final), plain, self.aad)
        self.out.write(struct.pack(">I", len(sealed)) + sealed)
        self.counter += 1

    def finish(self) -> None:
        if not self.finished:
            self._emit(bytes(self.buf), True)
            self.buf.clear()
            self.finished = True


class _OpeningReader(io.RawIOBase):
    """Reads the plaintext back, checking every chunk, and that the stream ends with the final one."""

    def __init__(self, src: IO[bytes], key: bytes, prefix: bytes, aad: bytes):
        self.src, self.aead, self.prefix, self.aad = src, AESGCM(key), prefix, aad
        self.buf = b""
        self.counter = 0
        self.ended = False

    def readable(self) -> bool:
        return True

    def _next(self) -> None:
        head = self.src.read(4)
        if len(head) < 4:
            raise _damaged("文件被截断")
        (n,) = struct.unpack(">I", head)
        if not 16 <= n <= CHUNK + 16:
            raise _damaged("数据块长度不对")
        sealed = self.src.read(n)
        if len(sealed) < n:
            raise _damaged("文件被截断")
        for final in (False, True):
            try:
                self.buf = self.aead.decrypt(_nonce(self.prefix, self.counter, final), sealed, self.aad)
            except InvalidTag:
                continue
            self.counter += 1
            if final:
                self.ended = True
                if self.src.read(1):
                    raise _damaged("结尾有多余数据")
            return
        raise _damaged(f"第 {self.counter + 1} 个数据块校验失败")

    def readinto(self, b: Any) -> int:  # type: ignore[override]
        while not self.buf and not self.ended:
            self._next()
        n = min(len(b), len(self.buf))
        b[:n] = self.buf[:n]
        self.buf = self.buf[n:]
        return n


@dataclass(frozen=True)
class BackupInfo:
    """What a backup says about itself (``backup.json`` inside it), and where it was written."""

    path: str
    made_at: str
    station_id: str
    division_code: str
    device: int
    name: str
    role: str
    last_local_seq: int
    acked_seq: int
    events: int
    cases: int
    bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def default_name(station_id: str, at: datetime) -> str:
    return f"{station_id}-{at:%Y%m%d-%H%M%S}{SUFFIX}"


def _snapshot(home: Path, into: Path) -> None:
    """A consistent copy of station.db through SQLite's online backup API (one read snapshot: writers
    in WAL mode go on meanwhile), made a standalone file (no WAL)."""
    src = sqlite3.connect(f"file:{home / DB_FILE}?mode=ro", uri=True, timeout=30)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        dst = sqlite3.connect(into)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
            if dst.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise StationError("backup_failed", "数据库副本自检未通过，备份没有写出，请稍后重试")
        finally:
            dst.close()
    finally:
        src.close()


def _facts(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        def one(sql: str) -> int:
            try:
                row = conn.execute(sql).fetchone()
                return int(row[0] or 0) if row else 0
            except (sqlite3.Error, ValueError):
                return 0
        return {"events": one("SELECT COUNT(*) FROM events"), "cases": one("SELECT COUNT(*) FROM cases"),
                "acked_seq": one("SELECT value FROM meta WHERE key='sync.acked_seq'")}
    finally:
        conn.close()


def _clear_leftovers(folder: Path, stem: str) -> None:
    for stale in folder.glob(f"{stem}{TMP_MARK}*"):
        try:
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
        except OSError:
            pass


def make_backup(home: Path, to: Path, passphrase: str, now: datetime | None = None,
                kdf: dict[str, Any] | None = None) -> BackupInfo:
    """Write a sealed backup of ``home`` to ``to`` (a file, or a folder: a dated name is chosen in it)."""
    check_passphrase(passphrase)
    if not is_station_home(home):
        raise StationError("not_a_station", f"目录 {home} 不是服务站目录")
    config = read_config(home)
    now = now or datetime.now()
    to = refuse_inside_home(home, Path(to).expanduser(), "备份")
    target = to / default_name(config.device_id, now) if to.is_dir() else to
    if not target.parent.is_dir():
        raise BackupError("no_folder", f"备份位置 {target.parent} 不存在（U盘是否已插好？）",
                          [Problem("to", "missing", "备份位置不存在")])
    _clear_leftovers(target.parent, target.name)
    params = {**(kdf or KDF), "salt": secrets.token_hex(16)}
    key = _derive(passphrase, params)
    prefix = secrets.token_bytes(7)
    header = json.dumps({"format": FORMAT, "kdf": params, "cipher": "aes-256-gcm/chunked", "chunk": CHUNK,
                         "nonce_prefix": prefix.hex(), "check": _check_value(key),
                         "made_at": now.isoformat(timespec="seconds"), "station_id": config.device_id},
                        ensure_ascii=False).encode("utf-8")
    aad = hashlib.sha256(MAGIC + header).digest()
    tmp = target.with_name(target.name + TMP_MARK + secrets.token_hex(4))
    with tempfile.TemporaryDirectory(prefix="station-backup-") as scratch:
        db = Path(scratch) / DB_FILE
        _snapshot(home, db)
        facts = _facts(db)
        conn = sqlite3.connect(db)
        try:
            row = conn.execute("SELECT MAX(seq) FROM events WHERE station=?", (config.device_id,)).fetchone()
        finally:
            conn.close()
        info = BackupInfo(str(target), now.isoformat(timespec="seconds"), config.device_id, config.division_code,
                          config.device, config.name, config.role, int(row[0] or 0), facts["acked_seq"],
                          facts["events"], facts["cases"])
        meta = json.dumps({**info.to_dict(), "format": FORMAT}, ensure_ascii=False, indent=2).encode("utf-8")
        try:
            with open(tmp, "xb") as fh:
                fh.write(MAGIC + struct.pack(">I", len(header)) + header)
                sealer = _SealingWriter(fh, key, prefix, aad)
                zw = zstandard.ZstdCompressor(level=6).stream_writer(sealer, closefd=False)
                with tarfile.open(fileobj=zw, mode="w|") as tar:
                    _add_bytes(tar, "backup.json", meta)
                    tar.add(db, DB_FILE)
                    for name in (CONFIG_FILE, DATA_KEY_FILE, "keys/sync.key", "keys/platform.json"):
                        if (home / name).is_file():
                            _add_bytes(tar, name, (home / name).read_bytes())
                zw.close()
                sealer.finish()
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
            _fsync_dir(target.parent)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise BackupError("backup_failed", f"备份没有写出：{exc.strerror or exc}（U盘空间不足或已拔出？）",
                              [Problem("to", "write_failed", "备份写入失败")]) from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return BackupInfo(**{**info.to_dict(), "bytes": target.stat().st_size})


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    member = tarfile.TarInfo(name)
    member.size = len(data)
    member.mode = 0o600
    tar.addfile(member, io.BytesIO(data))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_header(fh: IO[bytes]) -> tuple[dict[str, Any], bytes]:
    """The header and its bytes exactly as stored (the chunks are bound to them)."""
    if fh.read(len(MAGIC)) != MAGIC:
        raise BackupError("not_a_backup", "这不是服务站备份文件（或文件头已损坏）",
                          [Problem("from", "not_a_backup", "不是备份文件")])
    raw = fh.read(4)
    if len(raw) < 4:
        raise _damaged("文件被截断")
    (n,) = struct.unpack(">I", raw)
    if n > MAX_HEADER:
        raise _damaged("文件头长度不对")
    data = fh.read(n)
    try:
        header = json.loads(data)
        if header.get("format") != FORMAT:
            raise ValueError
        return header, data
    except (ValueError, UnicodeDecodeError, AttributeError):
        raise _damaged("文件头无法读取") from None


def restore_backup(source: Path, home: Path, passphrase: str,
                   check: Callable[[Path, dict[str, Any]], None] | None = None) -> BackupInfo:
    """Make a working home at ``home`` (absent or empty) from a backup. A wrong passphrase or a damaged
    file is a clear error and writes nothing; ``check`` (the store opening the unpacked home) runs
    before the home is renamed into place."""
    source, home = Path(source).expanduser(), Path(home).expanduser()
    if home.exists() and (not home.is_dir() or any(home.iterdir())):
        raise BackupError("home_not_empty", f"目录 {home} 已存在且不是空目录，不会覆盖。请指定一个新目录",
                          [Problem("home", "not_empty", "目录不是空的")])
    if not home.parent.is_dir():
        raise BackupError("no_folder", f"目录 {home.parent} 不存在", [Problem("home", "missing", "上级目录不存在")])
    try:
        fh = open(source, "rb")
    except OSError as exc:
        raise BackupError("backup_unreadable", f"无法读取备份文件 {source}：{exc.strerror}",
                          [Problem("from", "unreadable", "无法读取备份文件")]) from None
    _clear_leftovers(home.parent, f".{home.name}")
    scratch = home.parent / f".{home.name}{TMP_MARK}{secrets.token_hex(4)}"
    try:
        with fh:
            header, raw = read_header(fh)
            key = _derive(passphrase, header.get("kdf") or {})
            if not hmac.compare_digest(_check_value(key), str(header.get("check", ""))):
                raise BackupError("wrong_passphrase", "备份口令不对，没有恢复任何数据。请核对口令（区分大小写）后重试",
                                  [Problem("passphrase", "wrong", "口令不对")])
            try:
                prefix = bytes.fromhex(header["nonce_prefix"])
                if len(prefix) != 7:
                    raise ValueError
            except (KeyError, TypeError, ValueError):
                raise _damaged("文件头参数无效") from None
            aad = hashlib.sha256(MAGIC + raw).digest()
            reader = io.BufferedReader(_OpeningReader(fh, key, prefix, aad), CHUNK)
            scratch.mkdir(mode=0o700)
            budget = max(UNPACK_FLOOR, UNPACK_RATIO * os.fstat(fh.fileno()).st_size)
            found = _unpack(zstandard.ZstdDecompressor().stream_reader(reader), scratch, budget)
            if reader.read(1) or not reader.raw.ended:  # type: ignore[attr-defined]
                raise _damaged("文件结尾不完整")
        for needed in (CONFIG_FILE, DB_FILE, DATA_KEY_FILE, "backup.json"):
            if needed not in found:
                raise _damaged(f"缺少 {needed}")
        meta = _read_meta(scratch / "backup.json")
        (scratch / "backup.json").unlink()
        (scratch / "prints").mkdir()
        if check is not None:
            check(scratch, meta)
        _fsync_dir(scratch)
        if home.exists():
            home.rmdir()
        os.rename(scratch, home)
        _fsync_dir(home.parent)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return BackupInfo(**{k: meta[k] for k in _META_TYPES}, path=str(source))


def _too_large() -> BackupError:
    return _damaged("内容超出备份应有的大小，可能是伪造的文件")


class _BoundedTarInfo(tarfile.TarInfo):
    """tarfile reads a pax or GNU long-name/long-link header into memory whole, before any name is seen:
    one declaring gigabytes would exhaust the memory. Ours are never above a few hundred bytes."""

    def _proc_member(self, tar: tarfile.TarFile) -> tarfile.TarInfo:  # type: ignore[override]
        if self.type in (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME,
                         tarfile.GNUTYPE_LONGLINK) and self.size > MAX_HEADER:
            raise _too_large()
        return super()._proc_member(tar)  # type: ignore[misc]


def _unpack(stream: IO[bytes], into: Path, budget: int) -> set[str]:
    """Write the allowed members into ``into``; at most ``budget`` bytes in all (a small member at most
    :data:`MAX_SMALL_MEMBER`)."""
    found: set[str] = set()
    try:
        with tarfile.open(fileobj=stream, mode="r|", tarinfo=_BoundedTarInfo) as tar:
            for member in tar:
                if member.name not in MEMBERS or not member.isfile() or member.name in found:
                    raise _damaged(f"含有不应有的内容 {member.name!r}")
                limit = budget if member.name == DB_FILE else min(budget, MAX_SMALL_MEMBER)
                if member.size > limit:
                    raise _too_large()
                data = tar.extractfile(member)
                assert data is not None
                target = into / member.name
                target.parent.mkdir(mode=0o700, exist_ok=True)
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if member.name in PRIVATE else 0o644)
                with open(fd, "wb") as out:
                    while block := data.read(CHUNK):
                        budget -= len(block)
                        if budget < 0:
                            raise _too_large()
                        out.write(block)
                    out.flush()
                    os.fsync(out.fileno())
                found.add(member.name)
    except BackupError:
        raise
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise BackupError("disk_full", "磁盘空间不足，没有恢复任何数据。请清理磁盘或换一个位置后重试",
                              [Problem("home", "disk_full", "磁盘空间不足")]) from None
        raise _damaged(type(exc).__name__) from None
    except (tarfile.TarError, zstandard.ZstdError, EOFError) as exc:
        raise _damaged(type(exc).__name__) from None
    return found


_META_TYPES: dict[str, type] = {"made_at": str, "station_id": str, "division_code": str, "device": int, "name": str,
                                "role": str, "last_local_seq": int, "acked_seq": int, "events": int, "cases": int}


def _read_meta(path: Path) -> dict[str, Any]:
    """``backup.json``: what the backup says about itself, shown to the operator; every field of its type."""
    try:
        meta = json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _damaged("backup.json 无法读取") from None
    if not isinstance(meta, dict) or any(type(meta.get(k)) is not t for k, t in _META_TYPES.items()):
        raise _damaged("backup.json 内容不对")
    return meta


def describe(source: Path) -> dict[str, Any]:
    """The unencrypted header of a backup (when, which station), without the passphrase."""
    with open(source, "rb") as fh:
        header, _ = read_header(fh)
    return {"made_at": header.get("made_at"), "station_id": header.get("station_id")}


# --- the station's side: who backed up, when; a restored home -----------------------------------

def backup_station(store: Any, to: Path, passphrase: str, operator: Any, face: str = "cli") -> BackupInfo:
    """Back up the running station (any staff role may: the reminder asks the agent to), and record it:
    the time for the reminder and the health warnings, an audit event naming the operator and the file."""
    from station import events as ev
    from station.operators import require

    require(store, operator, "handle", "备份本站数据")
    check_passphrase(passphrase)
    info = make_backup(store.home, to, passphrase, now=store.clock())
    with store.transaction():
        store.meta_set(LAST_BACKUP_KEY, info.made_at)
        store.meta_set("backup.last_path", info.path)
        store.append(ev.BACKED_UP, {"file": Path(info.path).name, "bytes": info.bytes, "events": info.events,
                                    "cases": info.cases, "up_to_seq": info.last_local_seq, "face": face},
                     operator.name)
    return info


RESTORED_KEY = "restore.from_backup"
CATCHUP_KEY = "catchup.required"


def restore_station(source: Path, home: Path, passphrase: str) -> BackupInfo:
    """Make a working home from a backup; the home is marked to catch up from the platform before it
    cuts its next batch (sync/catchup.py reads the mark)."""
    from station.store import Store

    def check(unpacked: Path, meta: dict[str, Any]) -> None:
        with Store.open(unpacked) as store:  # opens, migrates, reads the keys: a home that works
            with store.transaction():
                store.meta_set(RESTORED_KEY, str(meta.get("made_at", "")))
                store.meta_set(CATCHUP_KEY, "1")
                store.meta_set("restore.pending", "1")  # its own events after the backup may need rebasing
                store.meta_set("catchup.usb_request", "")  # a stick request of the backed-up home is not this one's

    return restore_backup(source, home, passphrase, check)
