"""Test vectors for docs/protocol.md: fixed keys, fixed events. ``python -m sync.vectors`` prints them.

HPKE encapsulation is randomised, so the sealed blob printed here differs on every run; the one in
docs/protocol.md was produced once and is checked by tests/test_envelope.py (it must open with the
fixed recipient key to exactly these events). Everything else is deterministic.
"""

from __future__ import annotations

import json
from typing import Any

from sync import envelope as env

SENDER_ID = "421381105201"
RECIPIENT_ID = "platform"
SENDER_SECRET = bytes(range(0, 64))      # X25519 private (32) || Ed25519 seed (32)
RECIPIENT_SECRET = bytes(range(64, 128))
STAMP = "0001795628551657-0003"
EVENTS: list[dict[str, Any]] = [
    {"id": "421381105201:1", "station": "421381105201", "seq": 1, "hlc": "0001795628551657-0002",
     "operator": "系统", "case": None, "type": "station.initialised",
     "body": {"name": "测试村便民服务站", "role": "village", "station_id": "421381105201"},
     "recorded_at": "2026-11-25T10:00:00"},
    {"id": "421381105201:2", "station": "421381105201", "seq": 2, "hlc": "0001795628551657-0003",
     "operator": "王小红", "case": "421381105201-261125-0001-3", "type": "material.received",
     "body": {"materials": ["hukou_book"], "holder_id": {"$pii": "42138119521119121X"}},
     "recorded_at": "2026-11-25T10:05:00"},
]


def keys() -> tuple[env.SecretKeys, env.SecretKeys]:
    return (env.SecretKeys.from_bytes(SENDER_ID, SENDER_SECRET),
            env.SecretKeys.from_bytes(RECIPIENT_ID, RECIPIENT_SECRET))


def deterministic() -> dict[str, str]:
    sender, recipient = keys()
    payload = env.encode_events(EVENTS)
    plaintext = "\n".join(json.dumps(e, ensure_ascii=False, sort_keys=True, separators=(",", ":")) for e in EVENTS)
    ms, _, counter = STAMP.partition("-")
    header = env.Header(env.VERSION, env.SUITE_X25519_AES256GCM_ED25519, SENDER_ID, RECIPIENT_ID, 1,
                        env.GENESIS_HASH, len(EVENTS), int(ms), int(counter),
                        env.ENC_LEN + len(payload) + env.TAG_LEN)
    return {
        "sender_kem_public": sender.public.kem.hex(), "sender_sig_public": sender.public.sig.hex(),
        "sender_fingerprint": sender.public.fingerprint(),
        "recipient_kem_public": recipient.public.kem.hex(), "recipient_sig_public": recipient.public.sig.hex(),
        "recipient_fingerprint": recipient.public.fingerprint(),
        "plaintext_utf8_hex": plaintext.encode("utf-8").hex(),
        "payload_zstd_len": str(len(payload)),
        "header_hex": header.encode().hex(),
    }


def sealed_example() -> bytes:
    sender, recipient = keys()
    return env.seal(EVENTS, sender, recipient.public, 1, env.GENESIS_HASH, STAMP)


def ack_for(blob: bytes) -> bytes:
    _, recipient = keys()
    return env.sign_ack(recipient, SENDER_ID, 1, env.batch_hash(blob))


if __name__ == "__main__":
    for key, value in deterministic().items():
        print(f"{key}: {value}")
    blob = sealed_example()
    print("sealed_hex:", blob.hex())
    print("batch_hash:", env.batch_hash(blob).hex())
    print("ack_hex:", ack_for(blob).hex())
