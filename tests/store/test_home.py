"""Station home: creation, refusal to overwrite, resolution order, owner-only secrets."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from station.home import read_config, resolve_home
from forms.problems import StationError
from station.setup import init_station
from station.store import Store


def test_init_creates_a_complete_home(tmp_path: Path) -> None:
    home = tmp_path / "s"
    config = init_station(home, "421381105201", "测试村便民服务站")
    assert config.station_id == "421381105201" and config.role == "village"
    assert read_config(home).name == "测试村便民服务站"
    assert (home / "station.db").is_file()
    with Store.open(home) as store:
        assert store.schema_version >= 1
        assert store.conn.execute("SELECT type FROM events").fetchone()[0] == "station.initialised"


def test_secrets_and_home_are_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "s"
    init_station(home, "421381105201", "测试村")
    assert stat.S_IMODE(os.stat(home).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(home / "keys" / "data.key").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(home / "keys").st_mode) == 0o700


def test_init_refuses_an_existing_station(tmp_path: Path) -> None:
    home = tmp_path / "s"
    init_station(home, "421381105201", "测试村")
    before = (home / "station.db").stat().st_size
    with pytest.raises(StationError) as err:
        init_station(home, "421381105202", "另一个村")
    assert err.value.code == "home_exists"
    assert read_config(home).station_id == "421381105201"
    assert (home / "station.db").stat().st_size == before


def test_init_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(StationError) as err:
        init_station(tmp_path, "421381105201", "测试村")
    assert err.value.code == "home_not_empty"
    assert not (tmp_path / "station.toml").exists()


@pytest.mark.parametrize("code, role", [
    ("42138110520", "village"),       # 11 digits
    ("421381105000", "village"),      # a township code for a village station
    ("421381105201", "township"),     # a village code for a township station
    ("4213811052O1", "village"),      # letter O
])
def test_division_code_is_validated(tmp_path: Path, code: str, role: str) -> None:
    with pytest.raises(StationError) as err:
        init_station(tmp_path / "s", code, "测试", role)
    assert err.value.problems and err.value.problems[0].field == "division_code"
    assert not (tmp_path / "s").exists()


def test_township_home(tmp_path: Path) -> None:
    config = init_station(tmp_path / "t", "421381105000", "示范镇便民服务中心", "township")
    assert config.role == "township"


def test_resolve_home_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATION_HOME", str(tmp_path / "env"))
    assert resolve_home(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_home(None) == tmp_path / "env"
    monkeypatch.delenv("STATION_HOME")
    assert "village-station" in str(resolve_home(None))


def test_opening_a_folder_that_is_not_a_station(tmp_path: Path) -> None:
    with pytest.raises(StationError) as err:
        Store.open(tmp_path)
    assert err.value.code == "not_a_station"
