"""Creating a station: the home folder, its settings, its data key and its store."""

from __future__ import annotations

import shutil
from pathlib import Path

from forms.identity import parse_division
from forms.problems import StationError
from station import events as ev
from station.devices import check_device
from station.home import ROLES, StationConfig, create_home_files
from station.settings import station_name_problems
from station.store import Clock, Store


def init_station(home: Path, division_code: str, name: str, role: str = "village",
                 clock: Clock | None = None, admin: tuple[str, str] | None = None, device: int = 1) -> StationConfig:
    """Create a new station home (device ``device`` of the service point ``division_code``, see
    station/devices.py); refuses an existing one. Leaves nothing behind if it fails.

    ``admin`` = (name, password) creates the first administrator with the home; without it the
    home has no operator until the TUI's first run (or ``station operator add``) creates one.
    """
    from station.operators import check_password_rules, create_first_admin

    if role not in ROLES:
        raise StationError("bad_role", f"站点角色只能是 village（村站）或 township（乡镇中心），收到 {role!r}")
    division = parse_division(division_code, "division_code", expect="township" if role == "township" else "village")
    check_device(device)
    bad_name = station_name_problems(name)
    if bad_name:
        raise StationError(bad_name[0].code, bad_name[0].message)
    if admin is not None:
        check_password_rules(admin[1])  # before anything is written
    existed = home.exists()
    config = create_home_files(home, division.code, name, role, device)
    try:
        with Store.open(home, create=True, clock=clock) as store:
            store.append(ev.STATION_INITIALISED, {"station_id": config.station_id, "name": config.name,
                                                  "role": config.role, "device": config.device}, "系统")
            if admin is not None:
                create_first_admin(store, *admin)
    except (StationError, OSError):
        if not existed:
            shutil.rmtree(home, ignore_errors=True)
        raise
    return config
