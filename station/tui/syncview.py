"""How the UI reads the sync service: its status as rows of Chinese text, and a sync run.

The sync service is written alongside the UI; this adapter keeps the screens independent of the
exact shape of its answers (an object with ``to_dict()`` or a plain dict) and passes a progress
callback only when ``sync_now`` accepts one.
"""

from __future__ import annotations

import inspect
from datetime import datetime
from typing import Any, Callable

LINK_ZH = {"up": "正常", "down": "不通", "unknown": "未知", "online": "正常", "offline": "不通"}
BATCH_ZH = {"built": "待发送", "sent": "已发送待确认", "acknowledged": "已确认", "held": "已搁置"}


def as_dict(value: Any) -> dict[str, Any]:
    if hasattr(value, "to_dict"):
        return dict(value.to_dict())
    return dict(value) if isinstance(value, dict) else {}


def status(service: Any, store: Any) -> dict[str, Any]:
    return as_dict(service.sync_status(store))


def link_label(status: dict[str, Any]) -> str:
    if status.get("configured") is False:
        return "未配置平台"
    raw = status.get("link") or status.get("link_state") or "unknown"
    return LINK_ZH.get(str(raw), str(raw))


def last_success(status: dict[str, Any]) -> datetime | None:
    raw = status.get("last_success")
    if not raw:
        return None
    try:
        return datetime.fromisoformat(str(raw))
    except ValueError:
        return None


def _time(raw: Any) -> str:
    return str(raw)[:16].replace("T", " ") if raw else "从未"


def status_rows(s: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [("平台地址", str(s.get("url") or "（未配置，请在设置中填写）")),
            ("网络状态", link_label(s)),
            ("待上报记录", f"{s.get('pending_events', 0)} 条（未上传 {s.get('unsent_events', s.get('pending_events', 0))} 条）")]
    batches = s.get("batches")
    if isinstance(batches, dict) and batches:
        rows.append(("批次", "，".join(f"{BATCH_ZH.get(k, k)} {v}" for k, v in batches.items())))
    elif "pending_batches" in s:
        rows.append(("待发送批次", str(s["pending_batches"])))
    rows.append(("上次成功同步", _time(s.get("last_success"))))
    if s.get("last_attempt"):
        rows.append(("上次尝试", _time(s.get("last_attempt"))))
    rows.append(("上次错误", str(s.get("last_error") or "无")))
    for b in s.get("held") or []:
        rows.append((f"搁置批次 {b.get('seq', '')}", f"{b.get('events', '')} 条：{b.get('reason', '')}"))
    return rows


def run(service: Any, store: Any, progress: Callable[[str, int, int], None] | None) -> Any:
    params = inspect.signature(service.sync_now).parameters
    if progress is not None and "progress" in params:
        return service.sync_now(store, progress=progress)
    if progress is not None:
        progress("正在上传和下载……", 0, 0)
    return service.sync_now(store)


def summary_text(summary: Any) -> tuple[str, bool]:
    """(Chinese text, ok) of a sync summary."""
    data = as_dict(summary)
    ok = bool(data.get("ok", not data.get("errors")))
    if hasattr(summary, "text"):
        return summary.text(), ok
    return ("同步完成" if ok else "同步未完成：" + "；".join(e.get("message", "") for e in data.get("errors", []))), ok
