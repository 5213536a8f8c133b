"""Sneakernet: station export → platform import → station import; twice changes nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from click.testing import CliRunner

from station.cases import CaseReader
from station.cli import main
from station.store import Store
from sync.gateway.platform import Platform
from sync.service import sync_status
from sync.testing import file_cases, make_platform, make_station

VILLAGE = "421381105201"
TOWNSHIP = "421381105000"


def run(*args: str) -> dict:
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_usb_round_trip_twice_changes_nothing_the_second_time(tmp_path: Path) -> None:
    phome, keys = make_platform(tmp_path)
    village = make_station(tmp_path, phome, keys, VILLAGE)
    township = make_station(tmp_path, phome, keys, TOWNSHIP, "township")
    stick = tmp_path / "usb"
    with Store.open(village) as store:
        numbers = file_cases(store, 4)
    exported = run("sync", "export", "--home", str(village), "--to", str(stick))
    assert exported["batches"] == 1 and (stick / VILLAGE / "manifest.json").exists()
    first = run("platform", "import", "--home", str(phome), "--from", str(stick))
    assert first["stations"][0]["accepted"] == 1
    imported = run("sync", "import", "--home", str(village), "--from", str(stick))
    assert imported["acks_applied"] == 1
    with Store.open(village) as store:
        assert sync_status(store)["pending_events"] == 0
        assert {c.sync_state for c in CaseReader(store).list()} == {"acknowledged"}
        db_before = store.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    with Platform.open(phome) as platform:
        platform_before = platform.store.counts()
    files_before = tree(stick)
    # the same folder, imported again on both sides: nothing changes anywhere
    again = run("platform", "import", "--home", str(phome), "--from", str(stick))
    assert again["stations"][0]["accepted"] == 0 and again["stations"][0]["duplicates"] == 1
    assert again["stations"][0]["acks_written"] == 0
    second = run("sync", "import", "--home", str(village), "--from", str(stick))
    assert second["acks_applied"] == 0 and second["acks_already"] == 1 and second["applied"] == 0
    assert tree(stick) == files_before
    with Platform.open(phome) as platform:
        after = platform.store.counts()
        assert {k: v for k, v in after.items()} == platform_before
    with Store.open(village) as store:
        assert store.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == db_before

    # the township's stick: it gets the cases, decides, and the decision comes back by USB
    t_stick = tmp_path / "usb-t"
    run("sync", "export", "--home", str(township), "--to", str(t_stick))
    run("platform", "import", "--home", str(phome), "--from", str(t_stick))
    got = run("sync", "import", "--home", str(township), "--from", str(t_stick))
    assert got["applied"] == 4
    with Store.open(township) as store:
        store.append("case.accepted", {}, "赵审核", numbers[0])
    run("sync", "export", "--home", str(township), "--to", str(t_stick))
    run("platform", "import", "--home", str(phome), "--from", str(t_stick))
    run("sync", "export", "--home", str(village), "--to", str(stick))
    run("platform", "import", "--home", str(phome), "--from", str(stick))
    back = run("sync", "import", "--home", str(village), "--from", str(stick))
    assert back["applied"] == 1
    with Store.open(village) as store:
        assert CaseReader(store).get(numbers[0]).status == "accepted"


def test_a_corrupted_file_is_refused_and_the_rest_imported(tmp_path: Path) -> None:
    phome, keys = make_platform(tmp_path)
    village = make_station(tmp_path, phome, keys, VILLAGE)
    from sync.settings import configure

    configure(village, sync_batch_bytes=4096)
    stick = tmp_path / "usb"
    with Store.open(village) as store:
        file_cases(store, 30)
    exported = run("sync", "export", "--home", str(village), "--to", str(stick))
    assert exported["batches"] >= 3
    files = sorted((stick / VILLAGE / "out").glob("*.vse"))
    damaged = bytearray(files[1].read_bytes())
    damaged[-10] ^= 0xFF
    files[1].write_bytes(bytes(damaged))
    result = run("platform", "import", "--home", str(phome), "--from", str(stick))
    entry = result["stations"][0]
    assert entry["accepted"] == len(files) - 1
    assert [r["file"] for r in entry["refused"]] == [files[1].name]
    run("sync", "import", "--home", str(village), "--from", str(stick))
    with Store.open(village) as store:
        status = sync_status(store)
        assert status["batches"]["acknowledged"] == len(files) - 1 and status["pending_events"] > 0
    # next trip: the export writes the untouched stored bytes again, and the gap closes
    run("sync", "export", "--home", str(village), "--to", str(stick))
    run("platform", "import", "--home", str(phome), "--from", str(stick))
    run("sync", "import", "--home", str(village), "--from", str(stick))
    with Store.open(village) as store:
        assert sync_status(store)["pending_events"] == 0
    with Platform.open(phome) as platform:
        assert platform.store.counts()["gaps"] == 0
