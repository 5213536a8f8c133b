"""Creating a station: the home folder, its settings, its data key and its store."""

from __future__ import annotations

import shutil
from pathlib import Path

from station import events as ev
from station.home import StationConfig, create_home_files
from forms.problems import StationError
from station.store import Clock, Store


def init_station(home: Path, division_code: str, name: str, role: str = "village",
                 clock: Clock | None = None, admin: tuple[str, str] | None = None) -> StationConfig:
    """Create a new station home; refuses an existing one. Leaves nothing behind if it fails.

    ``admin`` = (name, password) creates the first administrator with the home; without it the
    home has no operator until the TUI's first run (or ``station operator add``) creates one.
    """
    from station.operators import check_password_rules, create_first_admin

    if admin is not None:
        check_password_rules(admin[1])  # before anything is written
    existed = home.exists()
    config = create_home_files(home, division_code, name, role)
    try:
        with Store.open(home, create=True, clock=clock) as store:
            store.append(ev.STATION_INITIALISED, {"station_id": config.station_id, "name": config.name,
                                                  "role": config.role}, "系统")
            if admin is not None:
                create_first_admin(store, *admin)
    except (StationError, OSError):
        if not existed:
            shutil.rmtree(home, ignore_errors=True)
        raise
    return config
