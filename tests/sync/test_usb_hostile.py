"""A stick is whatever its last holder made of it: links, FIFOs, folders and odd names where the station
expects its files, and thousands of entries. Export and import never hang, never crash, never follow a
link out of the stick, and apply nothing that does not verify."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Iterator

import pytest

from station.store import Store
from sync.gateway.testing import file_cases, make_platform, make_station
from sync.usb import export, import_
from tests.support import VILLAGE

pytestmark = pytest.mark.usefixtures("platform_store")


@pytest.fixture(autouse=True)
def no_hang() -> Iterator[None]:
    def stop(*_: object) -> None:
        raise TimeoutError("a stick file made the station wait")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def _hostile(folder: Path, outside: Path, suffix: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / f"00000001{suffix}")
    (folder / f"00000002{suffix}").mkdir()
    (folder / f"00000003{suffix}").symlink_to(outside)
    (folder / f"0000\n0004{suffix}").write_bytes(b"x")
    (folder / f"-rf {suffix}").write_bytes(b"x")
    (folder / f"９９{suffix}").write_bytes(b"x")  # full-width digits are not a batch number
    (folder / f"{'9' * 40}{suffix}").write_bytes(b"x")
    for i in range(2000):
        (folder / f"{10_000 + i:08d}{suffix}").write_bytes(b"junk")


def test_links_fifos_folders_and_odd_names_on_the_stick_neither_hang_nor_crash_export_or_import(tmp_path: Path) -> None:
    phome, keys = make_platform(tmp_path)
    village = make_station(tmp_path, phome, keys, VILLAGE)
    outside = tmp_path / "outside.txt"
    outside.write_text("不属于U盘的文件", encoding="utf-8")
    stick = tmp_path / "usb"
    own = stick / VILLAGE
    for sub, suffix in (("out", ".vse"), ("in", ".vse"), ("acks", ".ack"), ("own", ".vse")):
        _hostile(own / sub, outside, suffix)
    os.mkfifo(own / "manifest.json")
    (own / "chain.json").symlink_to(outside)
    with Store.open(village) as store:
        file_cases(store, 2)
        result = export(store, stick)
        assert result["batches"] == 1
        imported = import_(store, stick)
    assert imported["acks_applied"] == 0 and imported["applied"] == 0 and imported["inbox_batches"] == 0
    assert not imported["ok"] and imported["errors"]  # the junk is reported, not applied
    assert outside.read_text(encoding="utf-8") == "不属于U盘的文件"
    assert (own / "manifest.json").is_file() and not (own / "manifest.json").is_symlink()
