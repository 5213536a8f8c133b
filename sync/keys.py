"""Key files and enrolment files: where a party's sync keys live, and what it hands to others.

Private keys: ``<home>/keys/sync.key`` (64 raw bytes, owner-only), created on first use. The
enrolment file is JSON: who the party is (id, role, name) and its public keys with a fingerprint
to read out on the phone when the township or the platform registers it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sync.envelope import EnvelopeError, PublicKeys, SecretKeys
from sync.errors import SyncError

KEY_FILE = "keys/sync.key"
PLATFORM_KEYS_FILE = "keys/platform.json"
ENROLMENT_FORMAT = "village-station-enrolment/1"
PLATFORM_ID = "platform"
ROLES = ("village", "township", "platform")


def load_or_create(home: Path, party_id: str) -> SecretKeys:
    """The party's keys, created (owner-only) the first time they are needed."""
    path = home / KEY_FILE
    if not path.exists():
        keys = SecretKeys.generate(party_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created them first: use theirs
            pass
        else:
            try:
                os.write(fd, keys.to_bytes())
                os.fsync(fd)
            finally:
                os.close(fd)
            return keys
    try:
        return SecretKeys.from_bytes(party_id, path.read_bytes())
    except EnvelopeError:
        raise SyncError("bad_key_file", f"同步密钥文件 {path} 已损坏，请从备份恢复（或删除后重新登记本站）") from None


@dataclass(frozen=True)
class Enrolment:
    """A party as others know it: identity, role, name and public keys."""

    id: str
    role: str
    name: str
    keys: PublicKeys

    def to_dict(self) -> dict[str, Any]:
        return {"format": ENROLMENT_FORMAT, "station_id": self.id, "role": self.role, "name": self.name,
                **{k: v for k, v in self.keys.to_dict().items() if k != "id"}}

    @classmethod
    def from_dict(cls, data: Any, source: str = "") -> "Enrolment":
        where = f"{source}：" if source else ""
        if not isinstance(data, dict) or data.get("format") != ENROLMENT_FORMAT:
            raise SyncError("bad_enrolment", f"{where}不是站点登记文件（格式应为 {ENROLMENT_FORMAT}）")
        role = data.get("role")
        if role not in ROLES:
            raise SyncError("bad_enrolment", f"{where}站点角色无效：{role!r}")
        try:
            keys = PublicKeys.from_dict({**data, "id": data.get("station_id", "")})
        except EnvelopeError as err:
            raise SyncError("bad_enrolment", f"{where}{err.message}") from None
        return cls(keys.id, role, str(data.get("name", "")), keys)


def write_json_atomic(path: Path, data: Any) -> None:
    write_bytes_atomic(path, (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """tmp + fsync + rename: a power cut or a pulled USB stick leaves the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.unlink(missing_ok=True)  # a leftover, or a link planted where the temp file goes: never followed
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o666)
        with open(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:  # disk full, stick pulled: leave no half-written temp file behind
        tmp.unlink(missing_ok=True)
        raise


def read_enrolment(path: Path) -> Enrolment:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SyncError("bad_enrolment", f"无法读取登记文件 {path}：{exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SyncError("bad_enrolment", f"登记文件 {path} 不是有效的JSON") from None
    return Enrolment.from_dict(data, str(path))


def station_enrolment(home: Path, station_id: str, role: str, name: str) -> Enrolment:
    return Enrolment(station_id, role, name, load_or_create(home, station_id).public)


MAX_KEYS_FILE = 64 * 1024


def find_platform_keys(source: Path) -> Path:
    """The platform keys file at ``source``, or the one file of them in the folder ``source`` (a USB
    stick's folder, as an agent picks it); several or none is a clear error."""
    source = Path(source).expanduser()
    if not source.is_dir():
        return source
    found = []
    for candidate in sorted(source.glob("*.json")):
        try:
            if candidate.is_file() and candidate.stat().st_size <= MAX_KEYS_FILE and \
                    read_enrolment(candidate).role == "platform":
                found.append(candidate)
        except (SyncError, OSError):
            continue  # other JSON files on the stick
    if len(found) != 1:
        names = "、".join(p.name for p in found)
        raise SyncError("bad_platform_keys", f"文件夹 {source} 中{'没有' if not found else '有多个'}平台公钥文件"
                                             f"{('：' + names) if found else ''}，请选择具体的文件")
    return found[0]


def install_platform_keys(home: Path, source: Path) -> Enrolment:
    """Check a platform keys file (or the one in a folder) and keep a copy in the station home."""
    enrolment = read_enrolment(find_platform_keys(source))
    if enrolment.role != "platform":
        raise SyncError("bad_platform_keys", f"{source} 不是平台公钥文件（角色为 {enrolment.role}）")
    write_json_atomic(home / PLATFORM_KEYS_FILE, enrolment.to_dict())
    return enrolment


def platform_keys(home: Path) -> Enrolment:
    path = home / PLATFORM_KEYS_FILE
    if not path.exists():
        raise SyncError("not_configured", "尚未导入平台公钥：请运行 station sync configure --platform-keys 平台公钥文件"
                                          "（只用U盘同步时不需要 --url），或在“设置”中从U盘载入平台公钥文件")
    return read_enrolment(path)
