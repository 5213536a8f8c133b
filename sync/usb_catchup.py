"""Catch-up over a USB stick: the platform's signed answer of a device's chain, carried in its folder.

A restored home must learn from the platform what it already acknowledged of this device's chain before
it cuts new batches (sync/catchup.py). Over the network that is ``GET /v1/chain`` and ``GET /v1/own``;
over a stick it is two more kinds of file in the station's folder, written by ``station platform import``
(sync/gateway/usb_import.py)::

    FOLDER/<station_id>/chain.json          the platform's signed answer of this device's chain
    FOLDER/<station_id>/own/<n>.vse         this device's own events the platform holds above the
                                            acknowledged seq the manifest stated (only when asked)

A restored home's ``station sync export`` cuts no new batch: it writes a catch-up request (a fresh
nonce, kept in the home) into its manifest. The platform answers every station folder with a chain
answer signed over ``usb-chain v1 <station> <nonce> <made_at>`` and the answer's bytes (the same
signature as ``/v1/chain``'s, bound to the stick request instead of an HTTP one), listing the own files
by SHA-256. ``station sync import`` verifies it with :class:`StickTransport` and runs ``check_chain``
unchanged. An answer made for another request (an old stick, another PC's export), for another
station, or changed by one byte is refused and changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from station.store import Store
from sync import envelope as env
from sync.errors import SyncError
from sync.usb import read_stick_file, real_dir

CHAIN_FILE = "chain.json"
OWN_DIR = "own"
CHAIN_FORMAT = "village-station-chain/1"
MAX_CHAIN_FILE = 16 * 1024 * 1024  # a long-offline device's chain: ~200 bytes a batch
REQUEST_KEY = "catchup.usb_request"  # the nonce of this home's open stick request
REQUEST_RULE = re.compile(r"[A-Za-z0-9_-]{8,64}")
PENDING_CODE = "catchup_pending"


def binding(station: str, request: str, made_at: str) -> str:
    """What the platform's signature binds a stick answer to (in place of a signed HTTP request)."""
    return f"usb-chain v1 {station} {request} {made_at}"


def needs_catchup(store: Store) -> bool:
    """A restored (or otherwise marked) home not yet checked with the platform, and not a known fork
    (a fork keeps its own path: the message and ``station device split``)."""
    from sync.catchup import CATCHUP_KEY, FORK_KEY, PENDING_KEY

    marked = store.meta_get(CATCHUP_KEY, "") == "1" or store.meta_get(PENDING_KEY, "") == "1"
    return marked and not store.meta_get(FORK_KEY, "")


def open_request(store: Store) -> str:
    """The nonce of this home's stick request (made once, kept until the answer is taken)."""
    nonce = store.meta_get(REQUEST_KEY, "")
    if not nonce:
        nonce = base64.urlsafe_b64encode(os.urandom(18)).decode().rstrip("=")
        with store.transaction():
            store.meta_set(REQUEST_KEY, nonce)
    return nonce


def close_request(store: Store) -> None:
    with store.transaction():
        store.meta_set(REQUEST_KEY, "")


PENDING_MESSAGE = ("本机是从备份恢复的（或被标记为需要核对），在与平台核对之前不能导出新数据，否则平台会以“分叉”拒收"
                   f"（代码 {PENDING_CODE}）。本次没有导出新数据，已在U盘上写入核对请求：请把U盘送到平台导入一次"
                   "（station platform import），再拿回本机导入（station sync import），之后再导出即可。"
                   "本机的办件都已保存，不会丢失。")
NO_ANSWER_MESSAGE = ("本机需要先与平台核对，但U盘上没有平台对本机的核对结果：请先导出（station sync export），"
                     "把U盘送到平台导入后再拿回本机导入")


def _bad(reason: str) -> SyncError:
    return SyncError("bad_answer", f"U盘上平台的核对结果无效（{reason}），未作任何改动。请重新导出，"
                                   "把U盘送到平台导入后再导入")


class StickTransport:
    """``chain`` and ``own`` like :class:`sync.transport.HttpTransport`, read from a station's stick folder
    and verified with the platform's signature; ``check_chain(store, StickTransport(...))`` works as is."""

    def __init__(self, folder: Path, request: str) -> None:
        self.folder = folder
        self.request = request
        self._answer: dict[str, Any] | None = None
        self._platform: env.PublicKeys | None = None

    def present(self) -> bool:
        return os.path.lexists(self.folder / CHAIN_FILE)

    def _load(self, signer: env.SecretKeys, platform: env.PublicKeys) -> dict[str, Any]:
        if self._answer is not None:
            return self._answer
        try:
            outer = json.loads(read_stick_file(self.folder / CHAIN_FILE, MAX_CHAIN_FILE).decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise _bad("文件损坏") from None
        if not isinstance(outer, dict) or outer.get("format") != CHAIN_FORMAT:
            raise _bad("格式不对")
        station, request, made_at = outer.get("station"), outer.get("request"), outer.get("made_at")
        answer, signature = outer.get("answer"), outer.get("signature")
        if not all(isinstance(v, str) for v in (station, request, made_at, answer, signature)):
            raise _bad("格式不对")
        if station != signer.id:
            raise _bad(f"这是站点 {station} 的核对结果，不是本站的")
        try:
            env.verify_answer(platform, binding(station, request, made_at), answer.encode("utf-8"), signature)
        except env.EnvelopeError:
            raise _bad("平台签名不对：文件被改动过，或不是本平台写的") from None
        if not self.request or request != self.request:
            raise _bad("不是针对本机这次导出的请求：可能是旧的U盘内容或另一台电脑的")
        try:
            data = json.loads(answer)
        except (ValueError, RecursionError):
            raise _bad("内容损坏") from None
        if not isinstance(data, dict) or data.get("station") != signer.id or not isinstance(data.get("batches"), list) \
                or not isinstance(data.get("own"), list):
            raise _bad("内容不对")
        data["made_at"] = made_at
        self._answer = data
        return data

    def chain(self, signer: env.SecretKeys, platform: env.PublicKeys, after: int = 0) -> dict[str, Any]:
        self._platform = platform
        data = self._load(signer, platform)
        if after < int(data.get("after") or 0):  # the answer starts later than this home's acknowledged batches
            raise _bad("平台按另一份清单作答")
        return data

    def own(self, signer: env.SecretKeys, after: int) -> tuple[list[bytes], bool]:
        if self._platform is None:
            raise _bad("缺少批次链")
        data = self._load(signer, self._platform)
        own_after = int(data.get("own_after") or 0)
        if after < own_after and int(data.get("last_event_seq") or 0) > after:
            raise _bad("平台按另一份清单作答")
        folder = self.folder / OWN_DIR
        if data["own"] and not real_dir(folder):
            raise _bad("缺少 own 文件夹")
        blobs: list[bytes] = []
        for item in data["own"]:
            name = item.get("file") if isinstance(item, dict) else None
            if not isinstance(name, str) or not re.fullmatch(r"\d{8}\.vse", name):
                raise _bad("文件清单不对")
            blob = read_stick_file(folder / name, env.MAX_CT_LEN + 512)
            if hashlib.sha256(blob).hexdigest() != item.get("sha256"):
                raise _bad(f"{OWN_DIR}/{name} 与平台的清单不符")
            blobs.append(blob)
        return blobs, False
