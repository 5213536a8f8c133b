"""Intake drafts: what an operator has typed so far, saved as they go, so a crash loses nothing.

One file per operator under ``<home>/drafts/``, written atomically (tmp + fsync + rename). The
draft holds personal data (ID and phone numbers), so the content is sealed with the station's data
key like everything else at rest; the file name is a keyed hash of the operator's name.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from station.pii import PiiCodec

DRAFT_DIR = "drafts"
VERSION = 1


def draft_path(home: Path, codec: PiiCodec, operator: str) -> Path:
    return home / DRAFT_DIR / f"{codec.lookup_hash('draft:' + operator)[:24]}.json"


def save_draft(home: Path, codec: PiiCodec, operator: str, data: dict[str, Any]) -> Path:
    path = draft_path(home, codec, operator)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = json.dumps({"v": VERSION, "operator_hash": path.stem,
                       "sealed": codec.seal(json.dumps(data, ensure_ascii=False))}, ensure_ascii=False)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(blob)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def load_draft(home: Path, codec: PiiCodec, operator: str) -> dict[str, Any] | None:
    """The saved draft, or None. An unreadable draft is kept aside (``.bad``), never silently lost."""
    path = draft_path(home, codec, operator)
    if not path.is_file():
        return None
    try:
        outer = json.loads(path.read_text(encoding="utf-8"))
        data = json.loads(codec.open(outer["sealed"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        os.replace(path, path.with_name(path.name + ".bad"))
        raise DraftUnreadable(str(path.with_name(path.name + ".bad"))) from exc
    return data if isinstance(data, dict) else None


def clear_draft(home: Path, codec: PiiCodec, operator: str) -> None:
    path = draft_path(home, codec, operator)
    path.unlink(missing_ok=True)


class DraftUnreadable(Exception):
    """The draft file could not be read back; it was moved to the path in ``args[0]``."""
