"""The platform's side of the USB path: ingest every station folder on a stick, write acks and inboxes back.

The folder layout and the file helpers are the station side's (``sync.usb``); this module only adds
what the platform does with them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sync import envelope as env
from sync.errors import SyncError
from sync.gateway.platform import Platform
from sync.usb import MANIFEST_FORMAT, MAX_SEQ_DIGITS, _name, _read, _write_if_changed


def platform_import(platform: Platform, folder: Path) -> dict[str, Any]:
    """Ingest every station folder found; write signed acks and each station's inbox envelopes back."""
    report: list[dict[str, Any]] = []
    for manifest_path in sorted(folder.glob("*/manifest.json")):
        own = manifest_path.parent
        entry: dict[str, Any] = {"station_id": own.name, "accepted": 0, "duplicates": 0, "refused": [],
                                 "acks_written": 0, "inbox_written": 0}
        report.append(entry)
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            if manifest.get("format") != MANIFEST_FORMAT or manifest.get("station_id") != own.name:
                raise ValueError
            inbox_after = int(manifest.get("inbox_after", 0))
            if not 0 <= inbox_after < 10**MAX_SEQ_DIGITS:
                raise ValueError
        except (ValueError, UnicodeDecodeError, AttributeError, TypeError, OverflowError, OSError):
            entry["refused"].append({"file": "manifest.json", "code": "bad_manifest", "message": "清单文件损坏"})
            continue
        if platform.station_keys(own.name) is None:
            entry["refused"].append({"file": "manifest.json", "code": "unknown_sender",
                                     "message": f"站点 {own.name} 未在平台登记"})
            continue
        for path in sorted((own / "out").glob("*.vse")):
            try:
                blob = _read(path)
                outcome = platform.ingest(blob, via="usb", peer="usb")
            except SyncError as err:
                entry["refused"].append({"file": path.name, "code": err.code, "message": err.message})
                continue
            entry["duplicates" if outcome.duplicate else "accepted"] += 1
            seq = env.peek(blob).seq
            if _write_if_changed(own / "acks" / _name(seq, "ack"), outcome.ack):
                entry["acks_written"] += 1
        blobs, _ = platform.inbox(own.name, inbox_after, max_bytes=1 << 62)
        for blob in blobs:
            if _write_if_changed(own / "in" / _name(env.peek(blob).seq, "vse"), blob):
                entry["inbox_written"] += 1
    return {"folder": str(folder), "stations": report}
