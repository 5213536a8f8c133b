"""Where a station keeps its state: one folder, resolved in one place for every command.

Resolution order: an explicit ``--home`` argument, then ``$STATION_HOME``, then the per-user data
folder of the platform (platformdirs). Layout of a home::

    station.toml        station identity and local settings (name, division code, role, printer…)
    station.db          the SQLite store (event log + projections)
    keys/data.key       AES-256 data key for personal data at rest (owner-only, never in the DB)
    keys/               sync key pairs (created by sync on first use)
    prints/             archive of every printed document
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import MISSING, asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import platformdirs

from forms.problems import StationError

CONFIG_FILE = "station.toml"
DB_FILE = "station.db"
DATA_KEY_FILE = "keys/data.key"
ROLES = ("village", "township")


@dataclass(frozen=True)
class StationConfig:
    """Identity and local settings of one station (not business data: those are events)."""

    station_id: str  # the service point's division code (the key every station.toml has always had)
    name: str
    role: str = "village"
    device: int = 1  # which PC of the service point this home is (station/devices.py)
    phone: str = ""
    address: str = ""
    printer: str = ""          # the printer's address: a CUPS name, or an ESC/POS address (printouts.printer_target)
    printer_kind: str = "cups"  # cups | escpos-usb | escpos-serial | escpos-network
    paper_format: str = "a4"
    large_print: bool = False
    font_path: str = ""
    sync_url: str = ""
    sync_interval_minutes: int = 15
    rating_followup_days: int = 5
    backup_reminder_days: int = 7  # the home screen reminds to back up after this many days (station/health.py)
    idle_lock_minutes: int = 15  # the TUI locks after this many minutes without a key or mouse event (0 = never)
    # Printed on refusal notices: who decided, where to apply for reconsideration, which court.
    authority_name: str = "乡镇人民政府"
    reconsideration_body: str = "县（市、区）人民政府"
    court_name: str = "县（市、区）人民法院"
    # Filled into the catalog's body names ({county}民政局, {township}人民政府) when a case is filed.
    county_name: str = ""
    township_name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def division_code(self) -> str:
        return self.station_id

    @property
    def device_id(self) -> str:
        """The identity this home's events, keys, enrolment and batches carry (station/devices.py)."""
        from station.devices import station_id

        return station_id(self.station_id, self.device)


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The one place that decides which folder a command works on."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("STATION_HOME")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("village-station", appauthor=False))


def is_station_home(home: Path) -> bool:
    return (home / CONFIG_FILE).is_file() and (home / DB_FILE).is_file()


def refuse_inside_home(home: Path, target: Path, what: str = "文件") -> Path:
    """``target`` unless it lands in ``home`` (links followed): an export, a copy or a backup written there
    could replace station.toml, station.db or the data key, and every personal datum with it."""
    try:
        resolved, root = target.expanduser().resolve(), home.expanduser().resolve()
    except (OSError, RuntimeError):  # a link loop
        raise StationError("file_error", f"无法使用路径 {target}：路径中有循环的链接") from None
    if resolved == root or root in resolved.parents:
        raise StationError("output_in_home", f"不能把{what}写到站点目录 {home} 里（会覆盖站点数据）："
                                             "请换一个位置，如U盘或桌面")
    return target


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def write_config(home: Path, config: StationConfig) -> None:
    """Write station.toml atomically (tmp + fsync + rename), so a power cut leaves old or new."""
    data = asdict(config)
    extra = data.pop("extra") or {}
    lines = ["# 村级便民服务站 station settings. Change them in the TUI's 设置 screen (admin), or with",
             "# `station sync configure …` for the sync settings; editing by hand works while the station is closed."]
    lines += [f"{key} = {_toml_value(val)}" for key, val in data.items()]
    if extra:
        lines.append("\n[extra]")
        lines += [f"{key} = {_toml_value(val)}" for key, val in extra.items()]
    tmp = home / (CONFIG_FILE + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, home / CONFIG_FILE)


def read_config(home: Path) -> StationConfig:
    path = home / CONFIG_FILE
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StationError("not_a_station", f"目录 {home} 不是服务站目录（缺少 {CONFIG_FILE}），请先运行 station init") from None
    except UnicodeDecodeError:
        raise StationError("bad_config", f"站点配置文件 {path} 已损坏（不是UTF-8文本），请从备份恢复") from None
    except tomllib.TOMLDecodeError as exc:
        raise StationError("bad_config", f"站点配置文件 {path} 格式错误：{exc}") from None
    known = {f for f in StationConfig.__dataclass_fields__}
    kwargs = {k: v for k, v in raw.items() if k in known}
    try:
        config = StationConfig(**kwargs)
    except TypeError as exc:
        raise StationError("bad_config", f"站点配置文件 {path} 缺少必要项：{exc}") from None
    wrong = _config_problem(config)
    if wrong:
        raise StationError("bad_config", f"站点配置文件 {path} 有误：{wrong}，请改正或从备份恢复")
    return config


def _config_problem(config: StationConfig) -> str:
    """What a hand-edited or damaged station.toml got wrong ('' when nothing): each setting has the type of
    its default, the division code is 12 digits, the role and the device number are ones that exist."""
    for name, spec in StationConfig.__dataclass_fields__.items():
        value = getattr(config, name)
        expected = dict if name == "extra" else str if spec.default is MISSING else type(spec.default)
        if type(value) is not expected:
            return f"{name} 的值 {value!r} 类型不对"
    if not (len(config.station_id) == 12 and config.station_id.isascii() and config.station_id.isdigit()):
        return f"station_id 应为12位区划代码，现为 {config.station_id!r}"
    if config.role not in ROLES:
        return f"role 只能是 {' 或 '.join(ROLES)}，现为 {config.role!r}"
    if not 1 <= config.device <= 9:
        return f"device 应为 1 到 9，现为 {config.device}"
    return ""


def update_config(home: Path, **changes: Any) -> StationConfig:
    config = replace(read_config(home), **changes)
    write_config(home, config)
    return config


def write_private_file(path: Path, data: bytes) -> None:
    """Create a file readable by the owner only, refusing to overwrite one that exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_data_key(home: Path) -> bytes:
    path = home / DATA_KEY_FILE
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        raise StationError("missing_data_key", f"缺少数据密钥文件 {path}：个人信息无法解密，请从备份恢复该文件") from None
    if len(key) != 32:
        raise StationError("bad_data_key", f"数据密钥文件 {path} 已损坏（长度不对），请从备份恢复")
    return key


def create_home_files(home: Path, station_id: str, name: str, role: str, device: int = 1) -> StationConfig:
    """Create the folder, settings and data key of a new station (inputs already checked by
    ``station.setup.init_station``). The store is created by the caller."""
    if home.exists() and any(home.iterdir()):
        if (home / CONFIG_FILE).exists():
            raise StationError("home_exists", f"目录 {home} 已经是一个服务站，不会覆盖。换一个目录，或使用现有站点")
        raise StationError("home_not_empty", f"目录 {home} 不是空目录，不会在其中创建服务站")
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    write_private_file(home / DATA_KEY_FILE, secrets.token_bytes(32))
    config = StationConfig(station_id=station_id, name=name.strip(), role=role, device=device)
    write_config(home, config)
    (home / "prints").mkdir(exist_ok=True)
    return config
