"""Envelopes no honest station would write: any header field value, really encrypted and really signed.

``sync.envelope.seal`` refuses to write a header outside the documented ranges, so the gateway tests
build such envelopes here, byte for byte as docs/protocol.md lays them out, with the sender's real
signing key: whatever the gateway does with them, it cannot be because the signature failed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import x25519

from sync import envelope as env


@dataclass(frozen=True)
class Fields:
    """Every numeric header field, as wide as its slot in the format (u8, u64, u32)."""

    version: int = env.VERSION
    suite: int = env.SUITE_X25519_AES256GCM_ED25519
    seq: int = 1
    count: int | None = None  # None: the real number of events
    stamp_ms: int = 1_795_628_551_657
    stamp_counter: int = 0
    ct_len: int | None = None  # None: the real ciphertext length


def craft(sender: env.SecretKeys, recipient: env.PublicKeys, events: list[dict[str, Any]], f: Fields,
          prev_hash: bytes = env.GENESIS_HASH) -> bytes:
    payload = env.encode_events(events)
    real_ct = env.ENC_LEN + len(payload) + env.TAG_LEN
    s, r = sender.id.encode(), recipient.id.encode()
    head = (env.MAGIC_BATCH + struct.pack(">BB", f.version, f.suite) + struct.pack(">B", len(s)) + s
            + struct.pack(">B", len(r)) + r + struct.pack(">Q", f.seq) + prev_hash
            + struct.pack(">IQII", len(events) if f.count is None else f.count, f.stamp_ms, f.stamp_counter,
                          real_ct if f.ct_len is None else f.ct_len))
    suite = env.SUITES[env.SUITE_X25519_AES256GCM_ED25519]
    ciphertext = suite.encrypt(payload, x25519.X25519PublicKey.from_public_bytes(recipient.kem), info=head)
    signed = head + ciphertext
    return signed + sender._sign(signed)


def in_range(f: Fields, real_count: int) -> bool:
    """Would ``peek`` take these fields (docs/protocol.md, "Header field ranges")?"""
    count = real_count if f.count is None else f.count
    return (1 <= f.seq <= env.MAX_SEQ and 0 <= count <= env.MAX_EVENTS and 0 <= f.stamp_ms <= env.MAX_STAMP_MS
            and 0 <= f.stamp_counter <= env.MAX_STAMP_COUNTER)
