"""A tampered station: events of any shape sealed and signed with a station's own keys and sent to the
gateway, as a PC whose key was copied could send them."""

from __future__ import annotations

from pathlib import Path

import requests

from sync import envelope as env
from sync.keys import load_or_create, platform_keys

_SENT = {"batches": 0}  # one numbering for every forger of the test session: never a batch number twice


def send_forged(url: str, home: Path, code: str, forged: list[tuple[str, dict, str | None]]) -> tuple[list[str], requests.Response]:
    """Send ``forged`` (type, body, case) from station ``code`` (its home ``home``) as one batch, numbered far
    beyond the station's own events and batches (a gap, which the platform accepts), so its genuine chain
    goes on untouched. The gateway must take the batch (200); returns the events' ids and the answer."""
    _SENT["batches"] += 1
    n = _SENT["batches"]
    events = [{"id": f"{code}:{1_000_000 + 100 * n + i}", "station": code, "seq": 1_000_000 + 100 * n + i,
               "hlc": "0001795628551657-0000", "operator": "伪造者", "case": case, "type": type_, "body": body,
               "recorded_at": "2026-11-25T10:00:00"} for i, (type_, body, case) in enumerate(forged)]
    blob = env.seal(events, load_or_create(home, code), platform_keys(home).keys, 10_000 + 2 * n, bytes([n]) * 32,
                    "0001795628551657-0000")
    resp = requests.post(url + "/v1/batches", data=blob, timeout=10)
    assert resp.status_code == 200, resp.text
    return [e["id"] for e in events], resp
