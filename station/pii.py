"""Personal data at rest: ID numbers, phone numbers and bank accounts never sit in the DB in clear.

Values are sealed with AES-256-GCM under the station data key (``keys/data.key``, owner-only, kept
out of the database). In stored event bodies and projections a sealed value is the JSON object
``{"$enc": "<base64 nonce+ciphertext>"}``; in the wire form (inside an encrypted sync envelope only)
it is ``{"$pii": "<plaintext>"}`` so the receiving station can seal it under its own key.

A keyed hash (HMAC-SHA256 under a subkey derived from the data key) gives exact-match lookup of an
ID number without revealing it; a copied station.db alone reveals none of these values.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Any, Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from forms.problems import StationError

ENC = "$enc"
PII = "$pii"
_AAD = b"village-station pii v1"


class PiiCodec:
    """Seal, open and hash personal data with one station's data key."""

    def __init__(self, data_key: bytes):
        self._aead = AESGCM(data_key)
        self._mac_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                             info=b"village-station lookup-hash v1").derive(data_key)
        self.audit_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                              info=b"village-station audit-chain v1").derive(data_key)

    def seal(self, value: str) -> dict[str, str]:
        nonce = os.urandom(12)
        ct = self._aead.encrypt(nonce, value.encode("utf-8"), _AAD)
        return {ENC: base64.b64encode(nonce + ct).decode("ascii")}

    def sealer(self, nonces_per_read: int = 256) -> Callable[[str], dict[str, str]]:
        """``seal`` for many values in a row (the gateway seals hundreds per batch): nonces are read from
        the OS's random source a block at a time instead of one system call per value. Every nonce is
        still fresh random bytes, used once."""
        raw = self.raw_sealer(nonces_per_read)
        return lambda value: {ENC: raw(value.encode("utf-8")).decode("ascii")}

    def raw_sealer(self, nonces_per_read: int = 256) -> Callable[[bytes], bytes]:
        """As :meth:`sealer`, for a value already UTF-8 encoded; gives the base64 text of ``{"$enc": …}``
        (the gateway seals personal data inside the JSON line it received, sources in bytes)."""
        aead, pool, at = self._aead, b"", 0

        def seal(value: bytes) -> bytes:
            nonlocal pool, at
            if at == len(pool):
                pool, at = os.urandom(12 * nonces_per_read), 0
            nonce = pool[at:at + 12]
            at += 12
            return base64.b64encode(nonce + aead.encrypt(nonce, value, _AAD))

        return seal

    def open(self, sealed: Any) -> str:
        if not is_sealed(sealed):
            raise StationError("not_sealed", "内部错误：该字段不是加密数据")
        raw = base64.b64decode(sealed[ENC])
        try:
            return self._aead.decrypt(raw[:12], raw[12:], _AAD).decode("utf-8")
        except (InvalidTag, ValueError):  # wrong key, altered ciphertext, or a token cut short
            raise StationError("pii_unreadable", "个人信息无法解密：数据密钥不匹配或数据被改动") from None

    def lookup_hash(self, value: str) -> str:
        return hmac.new(self._mac_key, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def last4_token(self, last4: str) -> str:
        """The search token for an ID's last four characters: keyed, so a copied database cannot tell
        which four digits it stands for (10,000 guesses would be enough without the key)."""
        return "k" + self.lookup_hash("id-last4:" + last4.strip().upper())[:20]

    # --- whole-body transforms -------------------------------------------------------------

    def seal_body(self, body: Any) -> Any:
        """Local/wire form → stored form: every ``{"$pii": v}`` becomes ``{"$enc": …}``."""
        if isinstance(body, dict):
            if set(body) == {PII}:
                return self.seal(body[PII])
            return {k: self.seal_body(v) for k, v in body.items()}
        if isinstance(body, list):
            return [self.seal_body(v) for v in body]
        return body

    def open_body(self, body: Any) -> Any:
        """Stored form → wire form: every ``{"$enc": …}`` becomes ``{"$pii": plaintext}``."""
        if isinstance(body, dict):
            if is_sealed(body):
                return {PII: self.open(body)}
            return {k: self.open_body(v) for k, v in body.items()}
        if isinstance(body, list):
            return [self.open_body(v) for v in body]
        return body


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {ENC}


def pii(value: str) -> dict[str, str]:
    """Mark a plaintext value as personal data in an event body before it is appended."""
    return {PII: value}
