"""Event bodies at rest: each accepted batch's payload, sealed whole under the platform's key.

A station's batch arrives as one zstd frame of JSON lines (sync/envelope.py). The platform used to
seal every personal data value of every event on its own (AES-GCM per value, ~370 per batch of
filings) and store each event's text in its own row: a 2.3 KB filing took a 4 KB SQLite page, and
sealing plus writing those bytes was half of the ingest's CPU (docs/benchmarks.md). Now the frame the
station compressed is stored as it came, encrypted once under a key derived from ``keys/data.key``
with the batch's identity as associated data (a body cannot be moved to another batch's row), and
each event row points at its batch and line. Nothing of an event's content is in clear at rest (the
row keeps only the columns the platform queries): the personal data is sealed with everything around
it. Rows stored before this (and the events the platform writes itself, and events released after
waiting for their filing) keep their own text, personal data sealed value by value; readers take
either (:meth:`Platform.wire_events`).
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sync.envelope import EnvelopeError, payload_lines
from sync.errors import SyncError

FORMAT = b"\x01"  # AES-256-GCM, 12-byte nonce, the station's zstd frame inside
NONCE_LEN = 12


class BodyUnreadable(SyncError):
    """A stored batch body that does not open: the wrong key, a damaged row, or one moved between rows."""

    def __init__(self, station: str, seq: int, why: str):
        super().__init__("body_unreadable", f"平台所存批次 {station}#{seq} 的内容无法读取（{why}）")


def _aad(station: str, seq: int) -> bytes:
    return b"platform batch body v1|" + station.encode("utf-8") + b"|" + str(seq).encode("ascii")


class BatchBodies:
    """Seals and opens batch bodies with the platform's data key (a key of their own, derived from it)."""

    def __init__(self, data_key: bytes):
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"platform batch bodies v1").derive(data_key)
        self._aead = AESGCM(key)

    def seal(self, payload: bytes, station: str, seq: int) -> bytes:
        """The stored form of batch ``seq`` of ``station``: its payload (the zstd frame) encrypted."""
        nonce = os.urandom(NONCE_LEN)
        return FORMAT + nonce + self._aead.encrypt(nonce, payload, _aad(station, seq))

    def lines(self, sealed: bytes, station: str, seq: int) -> list[bytes]:
        """The event lines of a stored batch body, in the order the station sent them."""
        if sealed[:1] != FORMAT or len(sealed) < 1 + NONCE_LEN + 16:
            raise BodyUnreadable(station, seq, "格式不对")
        try:
            payload = self._aead.decrypt(sealed[1:1 + NONCE_LEN], sealed[1 + NONCE_LEN:], _aad(station, seq))
        except InvalidTag:
            raise BodyUnreadable(station, seq, "密钥不符或内容被改动") from None
        try:  # unpacked as at ingest, within the same bound
            return payload_lines(payload)
        except EnvelopeError as err:
            raise BodyUnreadable(station, seq, err.message) from None
