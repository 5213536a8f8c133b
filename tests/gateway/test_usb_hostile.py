"""Whoever holds the stick: `station platform import` (in its own process, so a hang would show as a timeout)
of a stick with a link to /dev/zero, a FIFO, an oversize file, a batch numbered 2^63, an unknown station, a
linked station folder and a linked acks folder, mixed with genuine batches: the genuine ones are imported,
every other file is refused with its code and recorded, nothing is written through a link, exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from station.store import Store
from sync.gateway.platform import Platform
from sync.gateway.testing import STATION_CLI, file_cases, make_platform, make_station
from sync.keys import load_or_create, platform_keys
from sync.settings import configure
from sync.usb import export
from tests.support import VILLAGE, VILLAGE_2
from tests.support.envelopes import Fields, craft

ROOT = Path(__file__).resolve().parents[2]


def _import(phome: Path, stick: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*STATION_CLI, "platform", "import", "--home", str(phome), "--from", str(stick), "--json"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_a_hostile_stick_is_refused_file_by_file_and_the_genuine_batches_land(tmp_path: Path) -> None:
    phome, keys = make_platform(tmp_path)
    village = make_station(tmp_path, phome, keys, VILLAGE)
    configure(village, sync_batch_bytes=4096)
    stranger = make_station(tmp_path, phome, keys, VILLAGE_2, enroll=False)
    stick = tmp_path / "usb"
    with Store.open(village) as store:
        file_cases(store, 20)
        genuine = export(store, stick)["batches"]
        events = [store.wire_event(e) for e in store.local_events_after(0, limit=3)]
    assert genuine >= 2
    with Store.open(stranger) as store:
        file_cases(store, 1)
        export(store, stick)  # a station the platform never enrolled
    out = stick / VILLAGE / "out"
    (out / "00000090.vse").symlink_to("/dev/zero")
    os.mkfifo(out / "00000091.vse")
    with open(out / "00000092.vse", "wb") as fh:  # one byte over the body limit (sparse: costs no disk)
        fh.truncate(1024 * 1024 + 1)
    (out / "00000093.vse").write_bytes(craft(load_or_create(village, VILLAGE), platform_keys(village).keys, events,
                                             Fields(seq=2**63)))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "manifest.json").write_text((stick / VILLAGE / "manifest.json").read_text(encoding="utf-8"),
                                           encoding="utf-8")
    (stick / "421381105203").symlink_to(outside)  # a station folder that is a link elsewhere
    (stick / VILLAGE / "acks").symlink_to(outside)  # acks would be written through this link

    proc = _import(phome, stick)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    report = json.loads(proc.stdout)
    by_station = {s["station_id"]: s for s in report["stations"]}
    mine = by_station[VILLAGE]
    assert mine["accepted"] == genuine
    refused = {r["file"]: r["code"] for r in mine["refused"]}
    assert refused == {"00000090.vse": "usb_not_a_file", "00000091.vse": "usb_not_a_file",
                       "00000092.vse": "too_large", "00000093.vse": "bad_format"}
    assert {f["file"]: f["result"] for f in mine["files"]}["00000001.vse"] == "accepted"
    assert all("ack_error" in f for f in mine["files"] if f["result"] == "accepted")  # acks/ is a link: not written
    assert not list(outside.glob("*.ack"))
    assert by_station[VILLAGE_2]["refused"][0]["code"] == "unknown_sender"
    assert by_station["421381105203"]["refused"][0]["code"] == "usb_not_a_file"
    assert report["refused"] == 6 and report["ok"] is False

    with Platform.open(phome) as platform:
        assert platform.store.counts()["batches"] == genuine
        logged = {(r["reason"], r["peer"]) for r in platform.store.refusals(100)}  # type: ignore[attr-defined]
    assert {("usb_not_a_file", "usb"), ("too_large", "usb"), ("bad_format", "usb"), ("unknown_sender", "usb")} <= logged


def test_a_clean_stick_exits_zero(tmp_path: Path) -> None:
    phome, keys = make_platform(tmp_path)
    village = make_station(tmp_path, phome, keys, VILLAGE)
    stick = tmp_path / "usb"
    with Store.open(village) as store:
        file_cases(store, 2)
        export(store, stick)
    proc = _import(phome, stick)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] and report["refused"] == 0 and report["stations"][0]["acks_written"] == 1
