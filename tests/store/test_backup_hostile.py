"""Hostile backup files, built the way an attacker would: one who knows the format but not the passphrase
(only the unencrypted header is theirs), or one who knows it (their own backup handed to a victim PC, so
every byte inside is theirs too). A restore either gives a working home or a Chinese error with a code,
writes nothing outside the new home, and leaves nothing when it refuses."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import secrets
import struct
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
import zstandard

from forms.problems import StationError
from station import backup as bk
from station.backup import MAGIC, make_backup, restore_station
from station.setup import init_station
from station.testing import TEST_ADMIN, TEST_PASSWORD
from tests.support import VILLAGE

PASS = "attacker-knows-this"
CHEAP = {"name": "argon2id", "memory_kib": 8 * 1024, "iterations": 1, "lanes": 1}


@pytest.fixture(scope="module")
def genuine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The members of a real backup (what an attacker starts from)."""
    base = tmp_path_factory.mktemp("genuine")
    init_station(base / "home", VILLAGE, "测试村便民服务站", admin=(TEST_ADMIN, TEST_PASSWORD))
    info = make_backup(base / "home", base / "real.vsbak", PASS, kdf=CHEAP)
    return _members(Path(info.path))


def _members(path: Path) -> dict[str, bytes]:
    with open(path, "rb") as fh:
        header, raw = bk.read_header(fh)
        key = bk._derive(PASS, header["kdf"])
        reader = io.BufferedReader(bk._OpeningReader(fh, key, bytes.fromhex(header["nonce_prefix"]),
                                                     hashlib.sha256(MAGIC + raw).digest()), bk.CHUNK)
        plain = zstandard.ZstdDecompressor().stream_reader(reader).read()
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r:") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar}  # type: ignore[union-attr]


def _header(kdf: dict[str, Any], key: bytes, prefix: bytes) -> bytes:
    return json.dumps({"format": bk.FORMAT, "kdf": kdf, "cipher": "aes-256-gcm/chunked", "chunk": bk.CHUNK,
                       "nonce_prefix": prefix.hex(), "check": bk._check_value(key)}).encode()


def seal(plain: bytes, out: Path, kdf: dict[str, Any] | None = None) -> Path:
    """A backup file of exactly ``plain`` (the zstd'd tar stream's plaintext), sealed under :data:`PASS`."""
    params = {**(kdf or CHEAP), "salt": secrets.token_hex(16)}
    key = bk._derive(PASS, params)
    prefix = secrets.token_bytes(7)
    header = _header(params, key, prefix)
    with open(out, "wb") as fh:
        fh.write(MAGIC + struct.pack(">I", len(header)) + header)
        sealer = bk._SealingWriter(fh, key, prefix, hashlib.sha256(MAGIC + header).digest())
        zw = zstandard.ZstdCompressor(level=3).stream_writer(sealer, closefd=False)
        zw.write(plain)
        zw.close()
        sealer.finish()
    return out


def tar_of(members: list[tuple[tarfile.TarInfo, Any]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=fmt) as tar:
        for info, data in members:
            tar.addfile(info, data)
    return bio.getvalue()


def file_member(name: str, data: bytes) -> tuple[tarfile.TarInfo, Any]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, io.BytesIO(data)


def with_replaced(genuine: dict[str, bytes], **over: bytes) -> bytes:
    names = {"backup_json": "backup.json"}
    members = {**genuine, **{names.get(k, k): v for k, v in over.items()}}
    return tar_of([file_member(n, d) for n, d in members.items()])


def refused(source: Path, home: Path, code: str = "backup_damaged") -> StationError:
    with pytest.raises(StationError) as err:
        restore_station(source, home, PASS)
    assert err.value.code == code, err.value.message
    assert not home.exists()
    assert [p.name for p in home.parent.iterdir() if bk.TMP_MARK in p.name] == []
    return err.value


def test_the_crafting_helpers_make_a_backup_that_restores(genuine: dict[str, bytes], tmp_path: Path) -> None:
    restore_station(seal(with_replaced(genuine), tmp_path / "ok.vsbak"), tmp_path / "new", PASS)
    assert (tmp_path / "new" / "station.db").is_file()


def test_kdf_parameters_in_the_header_cannot_crash_or_hold_the_restore(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The header is the one part a stranger can write without the passphrase: its KDF parameters are
    checked before any work, a short salt is a damaged file (not a ValueError), and parameters that would
    take minutes and a gigabyte of memory on a village PC are refused without being run."""
    real = seal(b"", tmp_path / "real.vsbak")
    data = real.read_bytes()
    (n,) = struct.unpack(">I", data[10:14])
    header = json.loads(data[14:14 + n])
    rest = data[14 + n:]

    def hostile(**kdf: Any) -> Path:
        h = {**header, "kdf": {**header["kdf"], **kdf}}
        raw = json.dumps(h).encode()
        out = tmp_path / "h.vsbak"
        out.write_bytes(MAGIC + struct.pack(">I", len(raw)) + raw + rest)
        return out

    for salt in ("", "00", "zz", None, 7):
        refused(hostile(salt=salt), tmp_path / "new")
    ran: list[dict[str, int]] = []
    real_argon = bk.Argon2id

    def counting(**kw: Any) -> Any:
        ran.append({k: kw[k] for k in ("memory_cost", "iterations", "lanes")})
        return real_argon(**kw)

    monkeypatch.setattr(bk, "Argon2id", counting)
    for kdf in ({"memory_kib": 1024 * 1024, "iterations": 20}, {"memory_kib": 1024 * 1024, "iterations": 3},
                {"memory_kib": 64 * 1024, "iterations": 20}, {"lanes": 16, "memory_kib": 8 * 1024},
                {"memory_kib": 2 ** 40}, {"iterations": 0}, {"memory_kib": -1}):
        started = time.monotonic()
        refused(hostile(**kdf), tmp_path / "new")
        assert time.monotonic() - started < 5
    assert ran == []


def test_a_hostile_backup_json_is_a_clear_error_and_no_home_is_made(genuine: dict[str, bytes], tmp_path: Path) -> None:
    meta = json.loads(genuine["backup.json"])
    for i, bad in enumerate([b"[]", b"{}", b"\xff\xfe", b"null", b"{" * 100_000, b"not json",
                             json.dumps({k: v for k, v in meta.items() if k != "cases"}).encode(),
                             json.dumps({**meta, "events": "many"}).encode(),
                             json.dumps({**meta, "made_at": {"x": 1}}).encode()]):
        refused(seal(with_replaced(genuine, backup_json=bad), tmp_path / f"m{i}.vsbak"), tmp_path / "new")


def test_an_oversized_extended_tar_header_is_refused_before_it_is_read(genuine: dict[str, bytes],
                                                                       tmp_path: Path) -> None:
    """tarfile reads a pax or GNU long-name header into memory whole: one declaring gigabytes (a few KiB
    once compressed) would exhaust the victim's memory before any name check. Our backups never carry one
    above a few hundred bytes."""
    big = "x" * (2 * 1024 * 1024)
    info, data = file_member("station.toml", genuine["station.toml"])
    info.pax_headers = {"comment": big}
    members = [file_member(n, d) for n, d in genuine.items() if n != "station.toml"] + [(info, data)]
    refused(seal(tar_of(members), tmp_path / "pax.vsbak"), tmp_path / "new")
    long_name = file_member("keys/" + "a" * (2 * 1024 * 1024), b"x")
    refused(seal(tar_of([long_name], fmt=tarfile.GNU_FORMAT), tmp_path / "gnu.vsbak"), tmp_path / "new")


class _Zeros(io.RawIOBase):
    def __init__(self, n: int) -> None:
        self.left = n

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = min(len(b), self.left)
        b[:n] = bytes(n)
        self.left -= n
        return n


def test_a_decompression_bomb_is_refused_before_it_fills_the_disk(genuine: dict[str, bytes], tmp_path: Path) -> None:
    """A few KiB that unpack to gigabytes of zeros: the small members have a small limit, the database one
    proportional to the backup's size; the refusal removes what was unpacked."""
    for name, size in (("station.toml", 4 * 1024 * 1024), ("station.db", 200 * 1024 * 1024)):
        info = tarfile.TarInfo(name)
        info.size = size
        members = [file_member("backup.json", genuine["backup.json"]), (info, _Zeros(size))]
        bomb = seal(tar_of(members), tmp_path / "bomb.vsbak")
        assert bomb.stat().st_size < 64 * 1024
        assert "超出备份应有的大小" in refused(bomb, tmp_path / "new").message, name


def test_a_full_disk_while_unpacking_says_so_and_leaves_nothing(genuine: dict[str, bytes], tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    source = seal(with_replaced(genuine), tmp_path / "ok.vsbak")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(bk.os, "fsync", full)
    err = refused(source, tmp_path / "new", "disk_full")
    assert "磁盘空间不足" in err.message


def test_links_odd_names_and_duplicates_in_the_archive_are_refused(genuine: dict[str, bytes], tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    for i, (name, kind, target) in enumerate([
            ("station.toml", tarfile.SYMTYPE, str(outside)), ("keys/data.key", tarfile.LNKTYPE, "station.toml"),
            ("../outside", tarfile.REGTYPE, ""), (str(outside), tarfile.REGTYPE, ""), ("./station.toml", tarfile.REGTYPE, ""),
            ("keys", tarfile.DIRTYPE, ""), ("station.db", tarfile.FIFOTYPE, ""), ("station.db", tarfile.CHRTYPE, ""),
            ("keys/../../outside", tarfile.REGTYPE, "")]):
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, target
        members = [file_member(n, d) for n, d in genuine.items() if n != name] + [(info, io.BytesIO(b""))]
        refused(seal(tar_of(members), tmp_path / f"l{i}.vsbak"), tmp_path / "new")
    twice = [file_member(n, d) for n, d in genuine.items()] + [file_member("station.toml", b"x")]
    refused(seal(tar_of(twice), tmp_path / "twice.vsbak"), tmp_path / "new")
    assert not outside.exists()


def test_chunks_reordered_duplicated_or_dropped_and_every_cut_are_refused(genuine: dict[str, bytes],
                                                                          tmp_path: Path) -> None:
    """Three chunks (a database of random bytes): each tampering with their order or count is caught, and a
    file cut at any offset is a damaged file, never a traceback."""
    good = seal(with_replaced(genuine, **{"station.db": secrets.token_bytes(int(2.5 * bk.CHUNK))}),
                tmp_path / "three.vsbak")
    data = good.read_bytes()
    (n,) = struct.unpack(">I", data[10:14])
    head, pos, chunks = data[:14 + n], 14 + n, []
    while pos < len(data):
        (size,) = struct.unpack(">I", data[pos:pos + 4])
        chunks.append(data[pos:pos + 4 + size])
        pos += 4 + size
    assert len(chunks) == 3
    a, b, c = chunks
    for i, order in enumerate([(b, a, c), (a, c, b), (a, a, b, c), (a, b, c, c), (a, c), (a, b), (b, c), (c,),
                               (a, b, c, a)]):
        bad = tmp_path / f"o{i}.vsbak"
        bad.write_bytes(head + b"".join(order))
        refused(bad, tmp_path / "new")
    for name, blob in {"huge_header_length": MAGIC + b"\xff\xff\xff\xff" + data[14:],
                       "huge_chunk_length": head + b"\xff\xff\xff\xff" + a[4:],
                       "zero_chunk_length": head + b"\x00\x00\x00\x00",
                       "wrong_magic": b"VSBACKUP2\n" + data[10:]}.items():
        bad = tmp_path / f"{name}.vsbak"
        bad.write_bytes(blob)
        refused(bad, tmp_path / "new", "not_a_backup" if name == "wrong_magic" else "backup_damaged")
    small = seal(b"", tmp_path / "small.vsbak").read_bytes()
    cut = tmp_path / "cut.vsbak"
    for offset in range(len(small)):
        cut.write_bytes(small[:offset])
        with pytest.raises(StationError) as err:
            restore_station(cut, tmp_path / "new", PASS)
        assert err.value.code in ("backup_damaged", "not_a_backup"), offset
    offsets = sorted(set(range(0, len(data), 4099)) | {14 + n + 4 + len(a) - 4 + k for k in range(12)})
    for offset in offsets:
        cut.write_bytes(data[:offset])
        with pytest.raises(StationError) as err:
            restore_station(cut, tmp_path / "new", PASS)
        assert err.value.code in ("backup_damaged", "not_a_backup"), offset
    assert not (tmp_path / "new").exists()
