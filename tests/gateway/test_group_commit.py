"""Group commit (Platform.ingest_group): several stations' batches written with one commit. Each batch is
judged on its own — one refused for its chain writes nothing and the others land; the same batch twice
in one group is stored once and the second answered as a duplicate — and every answer comes in order."""

from __future__ import annotations

from pathlib import Path

from station.store import Store
from sync import envelope as env
from sync import outbox
from sync.gateway.platform import IngestOutcome, Platform, Refused, Upload
from sync.gateway.testing import file_cases, make_platform, make_station
from sync.keys import load_or_create, platform_keys
from tests.support import OTHER_VILLAGE, VILLAGE, VILLAGE_2


def _batches(home: Path, station: str, cases: int) -> tuple[list[bytes], env.SecretKeys, env.PublicKeys, list]:
    """The station's outbox batches (small, so a few cases make several) and what they carry."""
    keys, plat = load_or_create(home, station), platform_keys(home).keys
    with Store.open(home) as store:
        file_cases(store, cases)
        numbers = outbox.cut(store, keys, plat, max_events=4)
        blobs = [outbox.get(store, n).blob for n in numbers]  # type: ignore[union-attr]
        events = [store.wire_event(e) for e in store.local_events_after(0)]
    return blobs, keys, plat, events


def test_one_commit_carries_several_stations_and_judges_each_batch_alone(tmp_path: Path) -> None:
    phome, keys = make_platform(tmp_path)
    a, _, _, _ = _batches(make_station(tmp_path, phome, keys, VILLAGE), VILLAGE, 3)
    b, _, _, _ = _batches(make_station(tmp_path, phome, keys, VILLAGE_2), VILLAGE_2, 3)
    c, c_keys, c_plat, c_events = _batches(make_station(tmp_path, phome, keys, OTHER_VILLAGE), OTHER_VILLAGE, 3)
    with Platform.open(phome) as platform:
        assert not isinstance(platform.ingest_group([Upload(c[0])])[0], Refused)
        # batch 2 of the third village, re-sealed pointing at a predecessor the platform does not hold
        forged = env.seal(c_events[4:8], c_keys, c_plat, 2, bytes([7]) * 32, max(e["hlc"] for e in c_events[4:8]))
        before = platform.store.counts()
        answers = platform.ingest_group([Upload(a[0]), Upload(b[0]), Upload(forged), Upload(a[0]), Upload(b[1])])
        kinds = [a.code if isinstance(a, Refused) else ("duplicate" if a.duplicate else "accepted") for a in answers]
        assert kinds == ["accepted", "accepted", "chain_broken", "duplicate", "accepted"]
        assert all(isinstance(x, IngestOutcome) for i, x in enumerate(answers) if i != 2)
        after = platform.store.counts()
        assert after["batches"] == before["batches"] + 3
        carried = sum(env.peek(blob).count for blob in (a[0], b[0], b[1]))
        assert after["events"] - before["events"] == carried  # each genuine event once, none of the forged
        held = {r[0] for r in platform.store.query("SELECT id FROM events WHERE station=?", (OTHER_VILLAGE,))}
        assert held == {e["id"] for e in c_events[:env.peek(c[0]).count]}  # nothing of the forged batch
        assert platform.store.query("SELECT count(*), count(DISTINCT id) FROM events") == [
            (after["events"], after["events"])]
        # the genuine batch 2 of the third village still lands afterwards
        assert not isinstance(platform.ingest_group([Upload(c[1])])[0], Refused)
