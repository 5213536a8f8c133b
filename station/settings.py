"""The rules of a station's settings (station.toml), written once and used by every face.

`station init`, `station sync configure` (through ``sync.settings.configure``) and the 设置 screen
all check a setting here, so a limit or a message cannot drift between the CLI and the screens.
Each ``*_problems`` function returns every problem it finds (field, code, Chinese message); the
caller decides how to refuse (the screen lists them, the CLI names the first).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from forms.problems import Problem, ProblemList, StationError
from printouts.formats import ALL_FORMATS, FORMAT_LABELS, ROLL_FORMATS
from printouts.printer_target import ADDRESS_HINTS, ESCPOS_KINDS, PRINTER_KIND_LABELS, PRINTER_KINDS, parse_target

# ADDRESS_HINTS, PRINTER_KIND_LABELS and PRINTER_KINDS are used by the 设置 screen through this module.
from station.operators import Operator, require
from station.store import Store
from station.home import StationConfig, update_config

NAME_MAX_CHARS = 60
PAPER_FORMATS = ALL_FORMATS   # a4, roll80, roll58 (printouts.formats: their print widths)
PAPER_LABELS = FORMAT_LABELS
SYNC_INTERVAL_MINUTES = (1, 1440)
BATCH_BYTES = (2048, 1024 * 1024)
URL_SCHEMES = ("http://", "https://")

NAME_RULE = f"站点名称不能为空，且不超过{NAME_MAX_CHARS}个字"
INTERVAL_RULE = f"自动同步间隔应为{SYNC_INTERVAL_MINUTES[0]}到{SYNC_INTERVAL_MINUTES[1]}之间的整数（分钟）"
URL_RULE = "同步地址应以 http:// 或 https:// 开头"
BATCH_BYTES_RULE = f"每批字节数应在 {BATCH_BYTES[0]} 到 {BATCH_BYTES[1]} 之间"


def station_name_problems(name: str, field: str = "name") -> list[Problem]:
    name = (name or "").strip()
    return [] if name and len(name) <= NAME_MAX_CHARS else [Problem(field, "bad_name", NAME_RULE)]


def is_platform_url(url: str) -> bool:
    return url.startswith(URL_SCHEMES)


def sync_url_problems(url: str, field: str = "sync_url") -> list[Problem]:
    """An empty address is allowed (sync not configured yet); any other must be http(s)."""
    return [] if not url or is_platform_url(url) else [Problem(field, "bad_url", URL_RULE)]


def parse_interval(raw: Any, field: str = "sync_interval_minutes") -> tuple[int | None, list[Problem]]:
    """The sync interval in minutes from a number or typed text, and the problem if it is not one."""
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = None
    low, high = SYNC_INTERVAL_MINUTES
    if value is None or not low <= value <= high:
        return None, [Problem(field, "bad_interval", INTERVAL_RULE)]
    return value, []


def batch_bytes_problems(value: int, field: str = "batch_bytes") -> list[Problem]:
    low, high = BATCH_BYTES
    return [] if low <= value <= high else [Problem(field, "bad_batch_bytes", BATCH_BYTES_RULE)]


def ca_bundle_problems(path: str, field: str = "ca_bundle") -> list[Problem]:
    """A custom CA bundle must exist; an empty value clears the setting."""
    return [] if not path or Path(path).is_file() else [Problem(field, "bad_ca_bundle", f"找不到CA证书文件 {path}")]


PAPER_RULE = "纸张格式只能是 " + "、".join(f"{k}（{v}）" for k, v in PAPER_LABELS.items())


def paper_format_problems(value: Any, field: str = "paper_format") -> list[Problem]:
    return [] if value in PAPER_FORMATS else [Problem(field, "bad_format", PAPER_RULE)]


def check_paper_format(value: str, field: str = "format") -> str:
    """The format a print asks for, or ``bad_format`` naming the choices."""
    problems = paper_format_problems(value, field)
    if problems:
        raise StationError("bad_format", f"{problems[0].message}，收到 {value}", problems)
    return value


def printer_problems(kind: Any, address: Any, paper_format: Any = None) -> list[Problem]:
    """The printer setting: its kind, an address that kind can use, and paper it can print.

    A thermal (ESC/POS) printer needs its address and a roll; an empty CUPS name means archive only."""
    kind = str(kind or "cups")
    address = str(address or "").strip()
    _, problems = parse_target(kind, address)
    if problems:
        return problems
    if kind in ESCPOS_KINDS and paper_format is not None and paper_format not in ROLL_FORMATS:
        return [Problem("paper_format", "bad_format", "热敏打印机请选择80毫米或58毫米卷纸")]
    return []


@dataclass(frozen=True)
class LocalSettings:
    """What the 设置 screen edits: the station's own details, its printer and paper, sync address and interval."""

    name: str
    phone: str
    address: str
    printer: str
    printer_kind: str
    sync_url: str
    sync_interval_minutes: int
    paper_format: str
    large_print: bool
    backup_reminder_days: int = 7
    idle_lock_minutes: int = 15


BACKUP_REMINDER_RULE = "备份提醒间隔应为 1 到 365 之间的整数（天）"


def parse_reminder(raw: Any, field: str = "backup_reminder_days") -> tuple[int | None, list[Problem]]:
    """Days after which the home screen reminds to back up; empty means the default (7)."""
    text = str(raw if raw is not None else "").strip()
    if not text:
        return 7, []
    try:
        value = int(text)
    except ValueError:
        return None, [Problem(field, "bad_reminder", BACKUP_REMINDER_RULE)]
    return (value, []) if 1 <= value <= 365 else (None, [Problem(field, "bad_reminder", BACKUP_REMINDER_RULE)])


IDLE_LOCK_MINUTES = (0, 240)
IDLE_LOCK_DEFAULT = 15
IDLE_LOCK_LABEL = "无操作自动锁定（分钟，0 为不锁定）"
IDLE_LOCK_HELP = ("共用电脑上，超过这么多分钟没有按键或鼠标操作，操作界面自动锁定，须重新输入密码；"
                  "同一操作员登录后回到原来的页面，未保存的办件草稿不会丢失")
IDLE_LOCK_RULE = (f"自动锁定时间应为 {IDLE_LOCK_MINUTES[0]} 到 {IDLE_LOCK_MINUTES[1]} 之间的整数（分钟），"
                  "0 表示不自动锁定")


def parse_idle_lock(raw: Any, field: str = "idle_lock_minutes") -> tuple[int | None, list[Problem]]:
    """Minutes without input after which the TUI locks (0 = never); empty means the default (15)."""
    text = str(raw if raw is not None else "").strip()
    if not text:
        return IDLE_LOCK_DEFAULT, []
    try:
        value = int(text)
    except ValueError:
        return None, [Problem(field, "bad_idle_lock", IDLE_LOCK_RULE)]
    low, high = IDLE_LOCK_MINUTES
    return (value, []) if low <= value <= high else (None, [Problem(field, "bad_idle_lock", IDLE_LOCK_RULE)])


def check_local(values: Mapping[str, Any]) -> LocalSettings:
    """Every problem of the screen's values at once (``invalid_settings``), else the cleaned settings."""
    problems = ProblemList()
    name = str(values.get("name", "")).strip()
    problems.extend(station_name_problems(name))
    interval, bad = parse_interval(values.get("sync_interval_minutes", ""))
    problems.extend(bad)
    reminder, bad = parse_reminder(values.get("backup_reminder_days", ""))
    problems.extend(bad)
    idle_lock, bad = parse_idle_lock(values.get("idle_lock_minutes", ""))
    problems.extend(bad)
    url = str(values.get("sync_url", "")).strip()
    problems.extend(sync_url_problems(url))
    problems.extend(paper_format_problems(values.get("paper_format")))
    kind = str(values.get("printer_kind") or "cups")
    problems.extend(printer_problems(kind, values.get("printer", ""), values.get("paper_format")))
    problems.raise_if_any("invalid_settings", "设置有误，请按提示修改")
    assert interval is not None and idle_lock is not None
    return LocalSettings(name=name, phone=str(values.get("phone", "")).strip(),
                         address=str(values.get("address", "")).strip(),
                         printer=str(values.get("printer", "")).strip(), printer_kind=kind, sync_url=url,
                         sync_interval_minutes=interval, paper_format=str(values["paper_format"]),
                         large_print=bool(values.get("large_print")), backup_reminder_days=reminder or 7,
                         idle_lock_minutes=idle_lock)


def save_local(home: Path, values: Mapping[str, Any], store: Store | None = None,
               operator: Operator | None = None) -> StationConfig:
    """Save the 设置 screen's values; with a store and an operator, only an administrator may."""
    if store is not None and operator is not None:
        require(store, operator, "admin", "修改设置")
    s = check_local(values)
    return update_config(home, name=s.name, phone=s.phone, address=s.address, printer=s.printer,
                         printer_kind=s.printer_kind,
                         sync_url=s.sync_url, sync_interval_minutes=s.sync_interval_minutes,
                         paper_format=s.paper_format, large_print=s.large_print,
                         backup_reminder_days=s.backup_reminder_days, idle_lock_minutes=s.idle_lock_minutes)
