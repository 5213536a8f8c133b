"""The sync envelope: the only module that touches ciphers and keys for transport.

One binary format for the network and USB sticks (docs/protocol.md is the spec, with vectors):

    header     magic "VSEB", version, suite, sender, recipient, batch seq, prev batch hash,
               event count, sender HLC stamp, ciphertext length
    ciphertext HPKE base mode (RFC 9180) to the recipient's X25519 key; suite 1 =
               DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM; the header is the HPKE ``info``
               (the single-shot API's authenticated context, RFC 9180 §8.1), so a changed header
               byte makes decryption fail; plaintext = zstd frame of canonical JSON lines
    signature  Ed25519 by the sender over header || ciphertext

The batch hash (SHA-256 of the whole envelope) chains a sender's batches. Acknowledgements
("VSEA") are signed by the recipient and name sender, sequence and batch hash. Callers get
:func:`seal`, :func:`open_`, :func:`peek`, :func:`sign_ack` / :func:`verify_ack`,
:func:`sign_request` / :func:`verify_request`, and key objects; every failure is an
:class:`EnvelopeError` with a reason code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import orjson
import zstandard
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from sync.errors import SyncError

MAGIC_BATCH = b"VSEB"
MAGIC_ACK = b"VSEA"
REQUEST_CONTEXT = b"VSER"
VERSION = 1
SUITE_X25519_AES256GCM_ED25519 = 1
SUITES = {SUITE_X25519_AES256GCM_ED25519: Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)}
GENESIS_HASH = bytes(32)
SIGNATURE_LEN = 64
ENC_LEN = 32
TAG_LEN = 16
MAX_ID_LEN = 32
MAX_PLAINTEXT = 32 * 1024 * 1024  # decompression bound: a batch never expands past this
# Header bounds (docs/protocol.md, "Header field ranges"): a field outside them is ``bad_format`` in
# peek(), before any crypto or database, so no number a sender writes can overflow what stores it.
MAX_SEQ = 2**63 - 1  # batch numbers are signed 64-bit integers in every store (SQLite, PostgreSQL)
MAX_EVENTS = 100_000  # far above any batch (2,000 events by default); each event is ≥ 100 bytes of JSON
MAX_CT_LEN = MAX_PLAINTEXT + MAX_PLAINTEXT // 128 + 4096  # zstd's worst-case bound + HPKE
MAX_STAMP_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: the last instant a date type can hold
MAX_STAMP_COUNTER = 999_999  # HLC counter: events in one millisecond of a stuck clock, never near this
ZSTD_LEVEL = 9

REASONS_ZH: dict[str, str] = {
    "bad_format": "同步数据格式错误（文件不完整或已损坏）",
    "unknown_version": "同步数据格式版本不支持，请升级软件",
    "unknown_suite": "同步数据使用了不支持的加密方式，请升级软件",
    "wrong_recipient": "同步数据不是发给本站的",
    "unknown_sender": "发送方未登记（未注册的站点）",
    "bad_signature": "签名校验失败：数据被改动或不是登记的站点发出的",
    "decrypt_failed": "无法解密：数据被改动或密钥不匹配",
    "bad_payload": "同步数据内容无法读取",
    "bad_ack": "回执无效：签名不对或与批次不符",
    "bad_request_auth": "请求未通过身份验证",
}


class EnvelopeError(SyncError):
    """Any refusal of an envelope, ack or request signature. ``reason`` is a stable code."""

    def __init__(self, reason: str, detail: str = ""):
        message = REASONS_ZH.get(reason, reason) + (f"（{detail}）" if detail else "")
        super().__init__(reason, message, retry=False)
        self.reason = reason


# --- keys ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PublicKeys:
    """What others need to know about a party: who it is and its two public keys (raw 32 bytes each)."""

    id: str
    kem: bytes
    sig: bytes

    def fingerprint(self) -> str:
        """A short code to read out on the phone: 16 digits in groups of four."""
        digest = hashlib.sha256(b"VSE fingerprint v1\x00" + self.kem + self.sig).digest()
        digits = f"{int.from_bytes(digest[:8], 'big') % 10**16:016d}"
        return "-".join(digits[i:i + 4] for i in range(0, 16, 4))

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "kem_public": base64.b64encode(self.kem).decode(),
                "sig_public": base64.b64encode(self.sig).decode(), "fingerprint": self.fingerprint()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PublicKeys":
        try:
            keys = cls(str(data["id"]), base64.b64decode(data["kem_public"], validate=True),
                       base64.b64decode(data["sig_public"], validate=True))
        except (KeyError, TypeError, ValueError):
            raise EnvelopeError("bad_format", "公钥文件缺少或损坏了 id / kem_public / sig_public") from None
        if len(keys.kem) != 32 or len(keys.sig) != 32 or not _valid_id(keys.id):
            raise EnvelopeError("bad_format", "公钥长度或站点标识不对")
        fp = data.get("fingerprint")
        if fp and fp != keys.fingerprint():
            raise EnvelopeError("bad_format", "公钥文件的指纹与公钥不符，文件可能被改动")
        return keys


class SecretKeys:
    """A party's private keys: X25519 (to receive) and Ed25519 (to sign). Never leaves this module raw
    except through :meth:`to_bytes` for the owner-only key file."""

    def __init__(self, id_: str, kem: x25519.X25519PrivateKey, sig: ed25519.Ed25519PrivateKey):
        if not _valid_id(id_):
            raise EnvelopeError("bad_format", f"站点标识无效：{id_!r}")
        self.id = id_
        self._kem = kem
        self._sig = sig
        self.public = PublicKeys(id_, _raw_public(kem.public_key()), _raw_public(sig.public_key()))

    @classmethod
    def generate(cls, id_: str) -> "SecretKeys":
        return cls(id_, x25519.X25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate())

    @classmethod
    def from_bytes(cls, id_: str, raw: bytes) -> "SecretKeys":
        if len(raw) != 64:
            raise EnvelopeError("bad_format", "私钥文件长度不对，可能已损坏")
        return cls(id_, x25519.X25519PrivateKey.from_private_bytes(raw[:32]),
                   ed25519.Ed25519PrivateKey.from_private_bytes(raw[32:]))

    def to_bytes(self) -> bytes:
        from cryptography.hazmat.primitives import serialization as ser

        fmt = (ser.Encoding.Raw, ser.PrivateFormat.Raw, ser.NoEncryption())
        return self._kem.private_bytes(*fmt) + self._sig.private_bytes(*fmt)

    def _sign(self, data: bytes) -> bytes:
        return self._sig.sign(data)

    def _decrypt(self, suite: Suite, ciphertext: bytes, info: bytes) -> bytes:
        return suite.decrypt(ciphertext, self._kem, info=info)


def _raw_public(key: x25519.X25519PublicKey | ed25519.Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization as ser

    return key.public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)


def _valid_id(id_: str) -> bool:
    return 0 < len(id_.encode("ascii", "replace")) <= MAX_ID_LEN and id_.isascii() and id_.isprintable() \
        and " " not in id_


def _verify(public: PublicKeys, signature: bytes, data: bytes) -> bool:
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(public.sig).verify(signature, data)
        return True
    except InvalidSignature:
        return False


# --- header ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Header:
    version: int
    suite: int
    sender: str
    recipient: str
    seq: int
    prev_hash: bytes
    count: int
    stamp_ms: int
    stamp_counter: int
    ct_len: int

    def encode(self) -> bytes:
        s, r = self.sender.encode("ascii"), self.recipient.encode("ascii")
        return (MAGIC_BATCH + struct.pack(">BB", self.version, self.suite)
                + struct.pack(">B", len(s)) + s + struct.pack(">B", len(r)) + r
                + struct.pack(">Q", self.seq) + self.prev_hash
                + struct.pack(">IQII", self.count, self.stamp_ms, self.stamp_counter, self.ct_len))

    @property
    def stamp(self) -> str:
        return f"{self.stamp_ms:016d}-{self.stamp_counter:04d}"


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise EnvelopeError("bad_format", "数据被截断")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))

    def ident(self) -> str:
        (n,) = self.unpack(">B")
        raw = self.take(n)
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            raise EnvelopeError("bad_format", "站点标识不是ASCII") from None
        if not _valid_id(text):
            raise EnvelopeError("bad_format", "站点标识无效")
        return text


def _parse_header(blob: bytes) -> tuple[Header, int]:
    r = _Reader(blob)
    if r.take(4) != MAGIC_BATCH:
        raise EnvelopeError("bad_format", "不是同步批次文件")
    version, suite = r.unpack(">BB")
    if version != VERSION:
        raise EnvelopeError("unknown_version", f"版本 {version}")
    if suite not in SUITES:
        raise EnvelopeError("unknown_suite", f"算法套件 {suite}")
    sender, recipient = r.ident(), r.ident()
    (seq,) = r.unpack(">Q")
    prev = r.take(32)
    count, stamp_ms, stamp_counter, ct_len = r.unpack(">IQII")
    return Header(version, suite, sender, recipient, seq, prev, count, stamp_ms, stamp_counter, ct_len), r.pos


def check_ranges(header: Header) -> None:
    """Every numeric field within its documented range, or ``bad_format`` naming the first that is not."""
    for name, value, low, high in (("batch_seq", header.seq, 1, MAX_SEQ),
                                   ("event_count", header.count, 0, MAX_EVENTS),
                                   ("stamp_ms", header.stamp_ms, 0, MAX_STAMP_MS),
                                   ("stamp_counter", header.stamp_counter, 0, MAX_STAMP_COUNTER),
                                   ("ct_len", header.ct_len, ENC_LEN + TAG_LEN, MAX_CT_LEN)):
        if not low <= value <= high:
            raise EnvelopeError("bad_format", f"批次头字段 {name} 超出范围（{low}…{high}）")


def peek(blob: bytes) -> Header:
    """The header alone, without any crypto: lets a gateway refuse cheaply before verifying.

    Every numeric field is range-checked here, so whatever a header says, nothing downstream (a
    database column, a clock, a length) ever sees a value it cannot hold."""
    header, end = _parse_header(blob)
    check_ranges(header)
    if len(blob) != end + header.ct_len + SIGNATURE_LEN:
        raise EnvelopeError("bad_format", f"长度应为 {end + header.ct_len + SIGNATURE_LEN} 字节，实为 {len(blob)}")
    return header


def batch_hash(blob: bytes) -> bytes:
    return hashlib.sha256(blob).digest()


# --- payload ---------------------------------------------------------------------------------

def encode_events(events: list[dict[str, Any]]) -> bytes:
    """Canonical JSON lines (sorted keys, no spaces, UTF-8), one event per line, zstd-compressed."""
    lines = "\n".join(json.dumps(e, ensure_ascii=False, sort_keys=True, separators=(",", ":")) for e in events)
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_content_size=True).compress(lines.encode("utf-8"))


def decode_events(payload: bytes) -> list[dict[str, Any]]:
    """The events of a payload. orjson parses each line (it also refuses what json would let through:
    invalid UTF-8, lone surrogates, NaN, and nesting past 1,024 levels)."""
    return decode_lines(payload)[0]


def payload_lines(payload: bytes) -> list[bytes]:
    """A payload's lines, unpacked within MAX_PLAINTEXT (the gateway also reads its stored bodies so)."""
    try:
        size = zstandard.frame_content_size(payload)
        if size < 0 or size > MAX_PLAINTEXT:
            raise EnvelopeError("bad_payload", "内容长度未知或过大")
        raw = zstandard.ZstdDecompressor().decompress(payload, max_output_size=MAX_PLAINTEXT)
    except zstandard.ZstdError:
        raise EnvelopeError("bad_payload", "解压失败") from None
    return raw.split(b"\n") if raw else []


def decode_lines(payload: bytes) -> tuple[list[dict[str, Any]], list[bytes]]:
    """The events of a payload and each one's line as sent (the gateway stores the line it received)."""
    lines = payload_lines(payload)
    if not lines:
        return [], []
    try:
        events = [orjson.loads(line) for line in lines]
    except orjson.JSONDecodeError:
        raise EnvelopeError("bad_payload", "事件不是有效JSON") from None
    if not all(type(e) is dict for e in events):
        raise EnvelopeError("bad_payload", "事件不是JSON对象")
    return events, lines


# --- seal / open -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Batch:
    header: Header
    events: list[dict[str, Any]]
    hash: bytes
    lines: list[bytes] = field(default_factory=list)  # each event's line as sent (canonical JSON, UTF-8)
    payload: bytes = b""  # the zstd frame of those lines, as decrypted (the platform stores it sealed)

    @property
    def sender(self) -> str:
        return self.header.sender

    @property
    def seq(self) -> int:
        return self.header.seq


def seal(events: list[dict[str, Any]], sender: SecretKeys, recipient: PublicKeys, seq: int,
         prev_hash: bytes, stamp: str, payload: bytes | None = None) -> bytes:
    """Encrypt ``events`` to ``recipient`` and sign as ``sender``. ``stamp`` is an HLC string."""
    if len(prev_hash) != 32 or seq < 1:
        raise EnvelopeError("bad_format", "批次序号或前一批次摘要无效")
    plaintext = payload if payload is not None else encode_events(events)
    ms, _, counter = stamp.partition("-")
    header = Header(VERSION, SUITE_X25519_AES256GCM_ED25519, sender.id, recipient.id, seq, prev_hash,
                    len(events), int(ms), int(counter or 0), ENC_LEN + len(plaintext) + TAG_LEN)
    check_ranges(header)  # never write what no receiver would read
    head = header.encode()
    suite = SUITES[header.suite]
    ciphertext = suite.encrypt(plaintext, x25519.X25519PublicKey.from_public_bytes(recipient.kem), info=head)
    signed = head + ciphertext
    return signed + sender._sign(signed)


SenderLookup = Mapping[str, PublicKeys] | Callable[[str], "PublicKeys | None"]


def _lookup(known: SenderLookup, sender: str) -> PublicKeys | None:
    if callable(known):
        return known(sender)
    return known.get(sender)


def open_(blob: bytes, recipient: SecretKeys, known_senders: SenderLookup, parse: bool = True) -> Batch:
    """Verify and decrypt an envelope addressed to ``recipient``. Order: format, version, suite,
    recipient, sender, signature, decryption, payload; the first failure raises EnvelopeError.
    ``parse=False``: the lines only, undecoded (``events`` empty; the gateway reads each line itself,
    sync/gateway/wire_events.py)."""
    header = peek(blob)
    if header.recipient != recipient.id:
        raise EnvelopeError("wrong_recipient", f"收件方为 {header.recipient}")
    sender = _lookup(known_senders, header.sender)
    if sender is None:
        raise EnvelopeError("unknown_sender", header.sender)
    signed, signature = blob[:-SIGNATURE_LEN], blob[-SIGNATURE_LEN:]
    if not _verify(sender, signature, signed):
        raise EnvelopeError("bad_signature")
    head_len = len(blob) - SIGNATURE_LEN - header.ct_len
    try:
        plaintext = recipient._decrypt(SUITES[header.suite], signed[head_len:], signed[:head_len])
    except (InvalidTag, ValueError):
        raise EnvelopeError("decrypt_failed") from None
    events, lines = decode_lines(plaintext) if parse else ([], payload_lines(plaintext))
    if len(lines) != header.count:
        raise EnvelopeError("bad_payload", f"事件数 {len(lines)} 与批次头 {header.count} 不符")
    return Batch(header, events, batch_hash(blob), lines, plaintext)


# --- acknowledgements ------------------------------------------------------------------------

@dataclass(frozen=True)
class Ack:
    signer: str
    station: str
    seq: int
    batch_hash: bytes

    def encode(self) -> bytes:
        a, s = self.signer.encode("ascii"), self.station.encode("ascii")
        return (MAGIC_ACK + struct.pack(">BB", VERSION, SUITE_X25519_AES256GCM_ED25519)
                + struct.pack(">B", len(a)) + a + struct.pack(">B", len(s)) + s
                + struct.pack(">Q", self.seq) + self.batch_hash)


def sign_ack(signer: SecretKeys, station: str, seq: int, hash_: bytes) -> bytes:
    """"I hold batch ``seq`` of ``station`` with this hash." Deterministic (Ed25519): the same batch
    always gets the same ack bytes, so re-acknowledging a repeat changes nothing."""
    body = Ack(signer.id, station, seq, hash_).encode()
    return body + signer._sign(body)


def verify_ack(blob: bytes, signer: PublicKeys, station: str, seq: int, hash_: bytes) -> Ack:
    """A verified ack for exactly (station, seq, hash) signed by ``signer``; anything else raises."""
    r = _Reader(blob)
    try:
        if r.take(4) != MAGIC_ACK:
            raise EnvelopeError("bad_ack", "不是回执")
        version, suite = r.unpack(">BB")
        if version != VERSION or suite not in SUITES:
            raise EnvelopeError("bad_ack", "回执版本或套件不支持")
        ack = Ack(r.ident(), r.ident(), r.unpack(">Q")[0], r.take(32))
        signature = r.take(SIGNATURE_LEN)
    except EnvelopeError as err:
        if err.reason == "bad_ack":
            raise
        raise EnvelopeError("bad_ack", err.message) from None
    if r.pos != len(blob) or not _verify(signer, signature, blob[:-SIGNATURE_LEN]):
        raise EnvelopeError("bad_ack", "签名不对")
    if (ack.signer, ack.station, ack.seq, ack.batch_hash) != (signer.id, station, seq, hash_):
        raise EnvelopeError("bad_ack", "回执与批次不符")
    return ack


# --- request signatures (pull) ---------------------------------------------------------------

def _request_input(station: str, method: str, target: str, body: bytes, nonce: str) -> bytes:
    return b"\x00".join([REQUEST_CONTEXT, station.encode(), method.upper().encode(), target.encode("utf-8"),
                         hashlib.sha256(body).digest(), nonce.encode()])


def sign_request(signer: SecretKeys, method: str, target: str, body: bytes = b"") -> str:
    """Value of the ``X-Station-Auth`` header: ``v1 <id> <nonce> <base64 signature>``.

    ``target`` is the path with its query string. Clocks at villages are unreliable, so there is no
    time window: a replayed pull returns only what is encrypted to the station anyway.
    """
    nonce = base64.urlsafe_b64encode(os.urandom(12)).decode()
    sig = signer._sign(_request_input(signer.id, method, target, body, nonce))
    return f"v1 {signer.id} {nonce} {base64.b64encode(sig).decode()}"


def request_signer(value: str) -> str:
    """The claimed station id of an auth header (no crypto: for cheap lookups and rate limits)."""
    parts = value.split(" ")
    if len(parts) != 4 or parts[0] != "v1" or not _valid_id(parts[1]):
        raise EnvelopeError("bad_request_auth", "格式错误")
    return parts[1]


def verify_request(value: str, public: PublicKeys, method: str, target: str, body: bytes = b"") -> None:
    station = request_signer(value)
    _, _, nonce, sig_b64 = value.split(" ")
    try:
        sig = base64.b64decode(sig_b64, validate=True)
    except ValueError:
        raise EnvelopeError("bad_request_auth", "签名编码错误") from None
    if station != public.id or not _verify(public, sig, _request_input(station, method, target, body, nonce)):
        raise EnvelopeError("bad_request_auth", "签名不对")


# --- signed answers (catch-up) ---------------------------------------------------------------

ANSWER_CONTEXT = b"village-station answer v1"


def sign_answer(signer: SecretKeys, request_auth: str, body: bytes) -> str:
    """Value of ``X-Platform-Signature``: the platform's signature over the station's signed request
    (its ``X-Station-Auth``, which carries a fresh nonce) and the answer body, so an answer can be
    neither forged nor replayed to another request."""
    data = b"\x00".join([ANSWER_CONTEXT, request_auth.encode("utf-8"), hashlib.sha256(body).digest()])
    return base64.b64encode(signer._sign(data)).decode()


def verify_answer(public: PublicKeys, request_auth: str, body: bytes, signature: str) -> None:
    try:
        sig = base64.b64decode(signature, validate=True)
    except (ValueError, TypeError):
        raise EnvelopeError("bad_signature", "平台应答签名格式不对") from None
    data = b"\x00".join([ANSWER_CONTEXT, request_auth.encode("utf-8"), hashlib.sha256(body).digest()])
    if not _verify(public, sig, data):
        raise EnvelopeError("bad_signature", "平台应答签名不对")
