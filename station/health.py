"""Is this station healthy offline? Days since the last successful sync and the last backup, how far
the holiday calendar reaches, how old the service catalog is: each with a plain-Chinese warning past
its threshold. Shown on the home screen and by `station sync status`; intake never stops for them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
import tomllib
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from forms.catalog import DEFAULT_CATALOG_DIR
from station.projections import calendar_for
from station.store import Store

SYNC_WARN_DAYS = 3
CALENDAR_WARN_DAYS = 90
CATALOG_WARN_DAYS = 365
BACKUP_REMINDER_DAYS = 7  # the default of the 设置 value `backup_reminder_days`


@dataclass(frozen=True)
class Health:
    days_since_sync: int | None      # None: never synced successfully
    days_since_backup: int | None    # None: never backed up (from this home)
    calendar_until: date | None      # the last day the holiday calendar knows
    catalog_days: int | None         # days since the catalog (shipped with the software) was last updated
    backup_reminder_days: int
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["calendar_until"] = self.calendar_until.isoformat() if self.calendar_until else None
        data["warnings"] = list(self.warnings)
        return data

    def lines(self) -> list[str]:
        return [f"距上次成功同步：{_days(self.days_since_sync, '从未同步')}",
                f"距上次备份：{_days(self.days_since_backup, '从未备份')}（提醒间隔 {self.backup_reminder_days} 天）",
                f"节假日日历到：{self.calendar_until.isoformat() if self.calendar_until else '无数据'}",
                f"事项目录：{_days(self.catalog_days, '未知')}未更新" if self.catalog_days is not None else "事项目录：未知"]


def _days(n: int | None, never: str) -> str:
    return never if n is None else f"{n} 天"


def _since(raw: str | None, today: date) -> int | None:
    try:
        return max(0, (today - datetime.fromisoformat(raw).date()).days) if raw else None
    except ValueError:
        return None


@lru_cache(maxsize=4)
def catalog_updated(directory: Path = DEFAULT_CATALOG_DIR) -> date | None:
    """How current the catalog is: the oldest ``updated`` date of its items (a catalog is as current as
    its stalest item). None when no item says. Not the files' mtime: that is when the software was
    installed or copied, so a years-old catalog reinstalled today would look fresh."""
    dates = []
    for path in directory.glob("*.toml"):
        try:
            value = tomllib.loads(path.read_text(encoding="utf-8")).get("updated")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue  # a broken file is reported by the catalog loader, not here
        if type(value) is date:
            dates.append(value)
    return min(dates) if dates else None


def station_health(store: Store, today: date | None = None, unsynced_cases: int | None = None,
                   catalog_dir: Path = DEFAULT_CATALOG_DIR) -> Health:
    today = today or store.clock().date()
    reminder = int(store.config.backup_reminder_days or BACKUP_REMINDER_DAYS)
    sync_days = _since(store.meta_get("sync.last_success", "") or None, today)
    backup_days = _since(store.meta_get("backup.last_at", "") or None, today)
    coverage = calendar_for(store.conn).coverage_end()
    until = coverage if coverage > date.min else None
    catalog = catalog_updated(catalog_dir)
    catalog_days = max(0, (today - catalog).days) if catalog else None
    warnings: list[str] = []
    waiting = f"，{unsynced_cases} 件办件未同步" if unsynced_cases else ""
    if sync_days is None:
        warnings.append(f"本站还没有成功同步过{waiting}。请按 s 同步，或用U盘导出。")
    elif sync_days >= SYNC_WARN_DAYS:
        warnings.append(f"已 {sync_days} 天没有同步{waiting}。请检查网络后按 s 同步，或用U盘导出。")
    if backup_days is None:
        warnings.append("本站还没有备份过。请在“同步”页按 b 备份到U盘（电脑坏了也不丢数据）。")
    elif backup_days >= reminder:
        warnings.append(f"已 {backup_days} 天没有备份。请在“同步”页按 b 备份到U盘。")
    if until is None or (until - today).days < CALENDAR_WARN_DAYS:
        warnings.append(f"节假日日历只到 {until.isoformat() if until else '（无）'}，之后的到期日是估算。同步后会更新；"
                        "收件不受影响。")
    if store.meta_get("catchup.fork", ""):
        warnings.insert(0, "本机数据与平台上本设备的记录分叉（站点目录被复制到另一台电脑同时使用？），新数据暂不上报。"
                           "请管理员运行 station device split --device N（详见同步页）。收件不受影响。")
    if catalog_days is not None and catalog_days >= CATALOG_WARN_DAYS:
        warnings.append(f"事项目录已 {catalog_days} 天没有更新，可能与现行规定不符。请联系县里更新本软件。")
    return Health(sync_days, backup_days, until, catalog_days, reminder, tuple(warnings))
