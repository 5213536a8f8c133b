"""The platform's side of the USB path: ingest every station folder on a stick, write acks and inboxes back.

The folder layout and the file helpers are the station side's (``sync.usb``); this module only adds
what the platform does with them. A stick is untrusted input like an HTTP request: only real folders
and regular files are taken (no link, device or FIFO is followed or waited on), sizes are checked
before reading and reads are bounded, every refusal (an unknown station, a bad manifest, a file that
is not a file) is recorded in the platform's refusal log under the peer ``usb``, and one bad file
never stops the others. The report lists every file with what became of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from sync import envelope as env
from sync.errors import SyncError
from sync.gateway.platform import Platform
from sync.usb import (MANIFEST_FORMAT, MAX_MANIFEST_FILE, MAX_SEQ_DIGITS, _name, _write_if_changed, read_stick_file,
                      real_dir, stick_files)
from sync.usb_catchup import CHAIN_FILE, CHAIN_FORMAT, MAX_CHAIN_FILE, OWN_DIR, REQUEST_RULE, binding

USB_PEER = "usb"
STATION_FOLDER = re.compile(r"\d{12}")


def platform_import(platform: Platform, folder: Path) -> dict[str, Any]:
    """Ingest every station folder found; write signed acks and each station's inbox envelopes back.

    The report keeps its shape (``stations`` with accepted / duplicates / refused / acks_written /
    inbox_written) and adds ``files`` per station (every file and its outcome), ``events_refused``,
    and at the top ``refused`` (files and folders refused in all) and ``ok``."""
    report: list[dict[str, Any]] = []
    for own in _station_folders(folder):
        entry: dict[str, Any] = {"station_id": own.name, "accepted": 0, "duplicates": 0, "refused": [],
                                 "acks_written": 0, "inbox_written": 0, "events_refused": 0, "files": []}
        report.append(entry)
        _import_station(platform, own, entry)
    platform.refusals.flush()
    refused = sum(len(s["refused"]) for s in report)
    return {"folder": str(folder), "stations": report, "refused": refused, "ok": refused == 0}


def _station_folders(folder: Path) -> list[Path]:
    """Sub-folders with a manifest, and anything named like a station that is not a real folder (refused)."""
    try:
        with os.scandir(folder) as entries:
            names = sorted(e.name for e in entries)
    except OSError as exc:
        raise SyncError("usb_unreadable", f"无法读取U盘文件夹 {folder}：{exc.strerror or exc}") from None
    out = []
    for name in names:
        path = folder / name
        if real_dir(path):
            if os.path.lexists(path / "manifest.json"):
                out.append(path)
        elif STATION_FOLDER.fullmatch(name) and os.path.islink(path):
            out.append(path)  # a link where a station's folder should be: reported and refused
    return out


def _refuse(platform: Platform, entry: dict[str, Any], file: str, err: SyncError, station: str | None,
            record: bool = True) -> None:
    entry["refused"].append({"file": file, "code": err.code, "message": err.message})
    entry["files"].append({"file": file, "result": "refused", "code": err.code})
    if record:
        platform.refuse(err.code, f"{file}: {err.message}"[:300], station, None, b"", USB_PEER)


def _import_station(platform: Platform, own: Path, entry: dict[str, Any]) -> None:
    station = own.name
    if not real_dir(own):
        _refuse(platform, entry, own.name, SyncError("usb_not_a_file", f"{own.name} 不是普通文件夹（可能是链接），已跳过"),
                None)
        return
    try:
        manifest = json.loads(read_stick_file(own / "manifest.json", MAX_MANIFEST_FILE).decode("utf-8"))
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT \
                or manifest.get("station_id") != station:
            raise ValueError
        inbox_after = manifest.get("inbox_after", 0)
        if type(inbox_after) is not int or not 0 <= inbox_after < 10**MAX_SEQ_DIGITS:
            raise ValueError
        acked = _acked_point(manifest)
    except SyncError as err:
        _refuse(platform, entry, "manifest.json", err, None)
        return
    except (ValueError, UnicodeDecodeError, RecursionError):
        _refuse(platform, entry, "manifest.json", SyncError("bad_manifest", "清单文件损坏"), None)
        return
    if platform.station_keys(station) is None:
        _refuse(platform, entry, "manifest.json", SyncError("unknown_sender", f"站点 {station} 未在平台登记"), station)
        return
    for path in stick_files(own / "out", ".vse"):
        try:
            blob = read_stick_file(path, platform.config.max_body_bytes)
        except SyncError as err:
            _refuse(platform, entry, path.name, err, station)
            continue
        try:
            outcome = platform.ingest(blob, via="usb", peer=USB_PEER)
        except SyncError as err:  # recorded by ingest itself
            _refuse(platform, entry, path.name, err, station, record=False)
            continue
        entry["duplicates" if outcome.duplicate else "accepted"] += 1
        entry["events_refused"] += outcome.events_refused
        result: dict[str, Any] = {"file": path.name, "result": "duplicate" if outcome.duplicate else "accepted"}
        if outcome.events_refused:
            result["events_refused"] = outcome.events_refused
        entry["files"].append(result)
        try:
            if _write_if_changed(own / "acks" / _name(env.peek(blob).seq, "ack"), outcome.ack):
                entry["acks_written"] += 1
        except SyncError as err:  # the batch is held; only the ack could not be put on the stick
            result["ack_error"] = err.message
    blobs, _ = platform.inbox(station, inbox_after, max_bytes=1 << 62)
    for blob in blobs:
        try:
            if _write_if_changed(own / "in" / _name(env.peek(blob).seq, "vse"), blob):
                entry["inbox_written"] += 1
        except SyncError as err:
            entry["inbox_error"] = err.message
            break
    if acked is not None:
        try:
            entry.update(write_chain_answer(platform, own, *acked))
        except SyncError as err:  # revoked since, or the stick refused the write: the rest is done
            entry["chain_error"] = err.message


def _acked_point(manifest: dict[str, Any]) -> tuple[int, int, str] | None:
    """(acknowledged batch prefix, acknowledged event seq, catch-up request nonce or "") the manifest
    states; None for a manifest from before stick catch-up (that station would not read an answer)."""
    if "acked_batch" not in manifest:
        return None
    batch, seq = manifest.get("acked_batch"), manifest.get("acked_seq", 0)
    for n in (batch, seq):
        if type(n) is not int or not 0 <= n < 10**MAX_SEQ_DIGITS:
            raise ValueError
    request = ""
    if "catchup" in manifest:
        ask = manifest["catchup"]
        request = ask.get("request") if isinstance(ask, dict) else None
        if not isinstance(request, str) or not REQUEST_RULE.fullmatch(request):
            raise ValueError
    return batch, seq, request


def write_chain_answer(platform: Platform, own: Path, acked_batch: int, acked_seq: int,
                       request: str) -> dict[str, Any]:
    """Write the platform's signed answer of this device's chain (``chain.json``) and, when the station
    asked to catch up and the platform holds more of its own events than it acknowledged, those events
    sealed to it (``own/*.vse``). An unchanged answer is left as it is (files and made_at): importing a
    stick twice changes nothing on it."""
    station = own.name
    chain = platform.chain(station, acked_batch)
    answer: dict[str, Any] = {**chain, "own_after": acked_seq, "own": []}
    kept = _kept_answer(platform, own, station, request)
    if kept is not None and {k: v for k, v in kept.items() if k != "own"} == {k: v for k, v in answer.items()
                                                                              if k != "own"}:
        return {"chain_written": False, "own_written": 0}
    blobs: list[bytes] = []
    if request and int(chain["last_event_seq"] or 0) > acked_seq:
        blobs, _ = platform.own_events(station, acked_seq, max_bytes=1 << 62,
                                       limit=int(chain["last_event_seq"]) - acked_seq)
    folder = own / OWN_DIR
    names = [_name(i, "vse") for i in range(1, len(blobs) + 1)]
    written = 0
    for name, blob in zip(names, blobs):
        written += _write_if_changed(folder / name, blob)
    for path in stick_files(folder, ".vse"):
        if path.name not in names:  # a former answer's: no longer listed
            path.unlink()
    answer["own"] = [{"file": n, "sha256": hashlib.sha256(b).hexdigest()} for n, b in zip(names, blobs)]
    body = json.dumps(answer, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    made_at = platform.clock().isoformat(timespec="seconds")
    signature = env.sign_answer(platform.keys, binding(station, request, made_at), body.encode("utf-8"))
    outer = {"format": CHAIN_FORMAT, "station": station, "request": request, "made_at": made_at,
             "answer": body, "signature": signature}
    _write_if_changed(own / CHAIN_FILE, (json.dumps(outer, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
    return {"chain_written": True, "own_written": written}


def _kept_answer(platform: Platform, own: Path, station: str, request: str) -> dict[str, Any] | None:
    """The answer already on the stick, if the platform wrote it for this request and its own files are
    intact (else None: it is written again)."""
    try:
        outer = json.loads(read_stick_file(own / CHAIN_FILE, MAX_CHAIN_FILE).decode("utf-8"))
        if outer.get("station") != station or outer.get("request") != request:
            return None
        env.verify_answer(platform.keys.public, binding(station, request, outer["made_at"]),
                          outer["answer"].encode("utf-8"), outer["signature"])
        answer = json.loads(outer["answer"])
        for item in answer["own"]:
            blob = read_stick_file(own / OWN_DIR / item["file"], env.MAX_CT_LEN + 512)
            if hashlib.sha256(blob).hexdigest() != item["sha256"]:
                return None
        if len(stick_files(own / OWN_DIR, ".vse")) != len(answer["own"]):
            return None
        return answer if isinstance(answer, dict) else None
    except (SyncError, ValueError, UnicodeDecodeError, RecursionError, KeyError, TypeError, AttributeError):
        return None
