"""The sync envelope: seal/open, every refusal with its reason, acks, request signatures, vectors."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from sync import envelope as env
from sync import vectors

PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
EVENTS = vectors.EVENTS


@pytest.fixture
def parties() -> tuple[env.SecretKeys, env.SecretKeys]:
    return env.SecretKeys.generate("421381105201"), env.SecretKeys.generate("platform")


def sealed(parties, seq: int = 1, prev: bytes = env.GENESIS_HASH) -> bytes:
    sender, recipient = parties
    return env.seal(EVENTS, sender, recipient.public, seq, prev, "0001795628551657-0003")


def test_round_trip_gives_back_the_events_and_header(parties) -> None:
    sender, recipient = parties
    blob = sealed(parties, seq=7, prev=b"\x11" * 32)
    batch = env.open_(blob, recipient, {sender.id: sender.public})
    assert batch.events == EVENTS
    assert (batch.sender, batch.seq, batch.header.prev_hash) == (sender.id, 7, b"\x11" * 32)
    assert batch.header.count == 2 and batch.header.stamp == "0001795628551657-0003"
    assert batch.hash == hashlib.sha256(blob).digest()


def test_personal_data_is_not_visible_in_the_envelope(parties) -> None:
    blob = sealed(parties)
    assert b"42138119521119121X" not in blob
    assert "材料".encode() not in blob and b"hukou_book" not in blob


def test_sealing_twice_gives_different_bytes(parties) -> None:
    assert sealed(parties) != sealed(parties)  # fresh HPKE encapsulation each time


def _expect(reason: str, blob: bytes, recipient: env.SecretKeys, known) -> None:
    with pytest.raises(env.EnvelopeError) as info:
        env.open_(blob, recipient, known)
    assert info.value.reason == reason
    assert info.value.code == reason
    assert info.value.message  # Chinese text for the operator


@pytest.mark.parametrize("where", ["header", "ciphertext", "signature"])
def test_any_flipped_byte_is_refused(parties, where: str) -> None:
    sender, recipient = parties
    blob = bytearray(sealed(parties))
    head_len = len(env.Header.encode(env.peek(bytes(blob))))
    index = {"header": 40, "ciphertext": head_len + 50, "signature": len(blob) - 3}[where]
    blob[index] ^= 0x01
    _expect("bad_signature", bytes(blob), recipient, {sender.id: sender.public})


def test_header_change_with_a_valid_signature_still_fails_decryption(parties) -> None:
    """The header is bound into HPKE: re-signing an altered header (a sender key thief) is not enough."""
    sender, recipient = parties
    blob = sealed(parties)
    header = env.peek(blob)
    head = header.encode()
    altered = env.Header(**{**header.__dict__, "seq": 99}).encode()
    body = altered + blob[len(head):-64]
    forged = body + sender._sign(body)
    _expect("decrypt_failed", forged, recipient, {sender.id: sender.public})


def test_wrong_recipient_unknown_sender_and_wrong_sender_key(parties) -> None:
    sender, recipient = parties
    blob = sealed(parties)
    other = env.SecretKeys.generate("421381105000")
    _expect("wrong_recipient", blob, other, {sender.id: sender.public})
    _expect("unknown_sender", blob, recipient, {})
    impostor = env.SecretKeys.generate(sender.id).public
    _expect("bad_signature", blob, recipient, {sender.id: impostor})


def test_unknown_suite_and_version_are_clear_refusals(parties) -> None:
    sender, recipient = parties
    blob = bytearray(sealed(parties))
    blob[5] = 9
    _expect("unknown_suite", bytes(blob), recipient, {sender.id: sender.public})
    blob[5], blob[4] = 1, 2
    _expect("unknown_version", bytes(blob), recipient, {sender.id: sender.public})


@pytest.mark.parametrize("cut", [0, 3, 20, 100, -1, -64])
def test_truncated_envelopes_are_format_errors(parties, cut: int) -> None:
    sender, recipient = parties
    blob = sealed(parties)
    _expect("bad_format", blob[:cut], recipient, {sender.id: sender.public})


def test_count_mismatch_and_garbage_payload(parties) -> None:
    sender, recipient = parties
    good = env.encode_events(EVENTS[:1])
    blob = env.seal(EVENTS, sender, recipient.public, 1, env.GENESIS_HASH, "1-0", payload=good)
    _expect("bad_payload", blob, recipient, {sender.id: sender.public})
    blob = env.seal(EVENTS, sender, recipient.public, 1, env.GENESIS_HASH, "1-0", payload=b"not zstd")
    _expect("bad_payload", blob, recipient, {sender.id: sender.public})


def test_ack_verifies_only_for_exactly_that_batch(parties) -> None:
    sender, platform = parties
    blob = sealed(parties)
    h = env.batch_hash(blob)
    ack = env.sign_ack(platform, sender.id, 1, h)
    assert ack == env.sign_ack(platform, sender.id, 1, h)  # deterministic
    assert env.verify_ack(ack, platform.public, sender.id, 1, h).seq == 1
    for station, seq, hash_ in ((sender.id, 2, h), ("421381105202", 1, h), (sender.id, 1, bytes(32))):
        with pytest.raises(env.EnvelopeError) as info:
            env.verify_ack(ack, platform.public, station, seq, hash_)
        assert info.value.reason == "bad_ack"
    forged = env.sign_ack(sender, sender.id, 1, h)  # signed by the wrong party
    with pytest.raises(env.EnvelopeError):
        env.verify_ack(forged, platform.public, sender.id, 1, h)
    with pytest.raises(env.EnvelopeError):
        env.verify_ack(ack[:-1], platform.public, sender.id, 1, h)


def test_request_signature(parties) -> None:
    sender, _ = parties
    value = env.sign_request(sender, "GET", "/v1/inbox?after=3")
    assert env.request_signer(value) == sender.id
    env.verify_request(value, sender.public, "GET", "/v1/inbox?after=3")
    with pytest.raises(env.EnvelopeError):
        env.verify_request(value, sender.public, "GET", "/v1/inbox?after=0")
    with pytest.raises(env.EnvelopeError):
        env.verify_request(value, env.SecretKeys.generate(sender.id).public, "GET", "/v1/inbox?after=3")
    with pytest.raises(env.EnvelopeError):
        env.request_signer("Bearer abc")


def test_public_keys_file_round_trip_and_tamper_detection(parties) -> None:
    sender, _ = parties
    data = sender.public.to_dict()
    assert env.PublicKeys.from_dict(data) == sender.public
    assert re.fullmatch(r"\d{4}-\d{4}-\d{4}-\d{4}", data["fingerprint"])
    other = env.SecretKeys.generate(sender.id).public.to_dict()
    with pytest.raises(env.EnvelopeError):
        env.PublicKeys.from_dict({**data, "sig_public": other["sig_public"]})


# --- the documented vectors -----------------------------------------------------------------

def _doc_vectors() -> dict[str, str]:
    text = PROTOCOL.read_text(encoding="utf-8")
    block = text.split("```vectors\n", 1)[1].split("```", 1)[0]
    return dict(line.split(": ", 1) for line in block.strip().splitlines())


def test_documented_deterministic_vectors_match_the_code() -> None:
    doc = _doc_vectors()
    for key, value in vectors.deterministic().items():
        assert doc[key] == value, key


def test_documented_sealed_blob_opens_to_the_documented_plaintext() -> None:
    doc = _doc_vectors()
    blob = bytes.fromhex(doc["sealed_hex"])
    sender, recipient = vectors.keys()
    batch = env.open_(blob, recipient, {sender.id: sender.public})
    assert batch.events == vectors.EVENTS
    assert batch.hash.hex() == doc["batch_hash"]
    assert len(blob) - 64 == int(doc["signature_input_len"])
    assert blob.startswith(bytes.fromhex(doc["header_hex"])[:-4])  # same header up to ct_len
    plaintext = "\n".join(line for line in bytes.fromhex(doc["plaintext_utf8_hex"]).decode().split("\n"))
    assert env.decode_events(env.encode_events(vectors.EVENTS)) == [__import__("json").loads(x) for x in plaintext.split("\n")]
    ack = bytes.fromhex(doc["ack_hex"])
    assert ack == vectors.ack_for(blob)
    env.verify_ack(ack, recipient.public, sender.id, 1, batch.hash)
