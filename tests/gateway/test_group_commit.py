"""Group commit (Platform.ingest_group): several stations' batches written with one commit. Each batch is
judged on its own — one refused for its chain writes nothing and the others land; the same batch twice
in one group is stored once and the second answered as a duplicate — and every answer comes in order."""

from __future__ import annotations

from pathlib import Path

import pytest

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


class _Poisoned(Platform):
    """A platform whose write of one station's batch fails unexpectedly, after it has written some of it
    (what a store error or a bug provoked by one batch's content does inside the group's transaction)."""

    poison = OTHER_VILLAGE

    def _apply(self, prep):  # type: ignore[no-untyped-def]
        applied = super()._apply(prep)
        if prep.sid == self.poison:
            raise RuntimeError("poisoned batch")
        return applied


def _held(platform: Platform) -> tuple[set[tuple[str, int]], int, int]:
    batches = {(s, q) for s, q in platform.store.query("SELECT station, seq FROM batches")}
    (events, distinct), = platform.store.query("SELECT count(*), count(DISTINCT id) FROM events")
    return batches, events, distinct


def test_a_batch_failing_inside_the_group_fails_alone(tmp_path: Path) -> None:
    """One upload raising inside the shared transaction used to fail the whole group, every request in it
    answered with the error: now the group is applied again one batch at a time, so only the culprit fails;
    the others are stored once each and answered as usual (a repeat in the group as a duplicate)."""
    phome, keys = make_platform(tmp_path)
    a, _, _, _ = _batches(make_station(tmp_path, phome, keys, VILLAGE), VILLAGE, 3)
    b, _, _, _ = _batches(make_station(tmp_path, phome, keys, VILLAGE_2), VILLAGE_2, 3)
    c, _, _, _ = _batches(make_station(tmp_path, phome, keys, OTHER_VILLAGE), OTHER_VILLAGE, 3)
    with _Poisoned.open(phome) as platform:
        answers = platform.ingest_group([Upload(a[0]), Upload(c[0]), Upload(b[0]), Upload(a[0]), Upload(b[1])])
        assert isinstance(answers[1], RuntimeError) and not isinstance(answers[1], Refused)
        good = [answers[i] for i in (0, 2, 3, 4)]
        assert all(isinstance(x, IngestOutcome) for x in good), good
        assert [x.duplicate for x in good] == [False, False, True, False]  # type: ignore[union-attr]
        batches, events, distinct = _held(platform)
        assert batches == {(VILLAGE, 1), (VILLAGE_2, 1), (VILLAGE_2, 2)}  # nothing of the culprit's batch
        assert events == distinct == sum(env.peek(blob).count for blob in (a[0], b[0], b[1]))
        counts = [env.peek(a[0]).count, env.peek(b[0]).count, 0, env.peek(b[1]).count]
        assert [x.events_new for x in good] == counts  # type: ignore[union-attr]
        # the culprit's answer through Platform.ingest: its exception, as before groups
        with pytest.raises(RuntimeError):
            platform.ingest(c[0])
    with Platform.open(phome) as platform:  # the culprit's batch was not half written: it lands whole later
        outcome = platform.ingest(c[0])
        assert outcome.events_new == env.peek(c[0]).count and not outcome.duplicate


@pytest.mark.parametrize("threads", [0, 1], ids=["on the event loop", "in a thread"])
def test_the_queue_answers_each_request_of_a_group_with_a_failing_batch(tmp_path: Path, threads: int) -> None:
    """Through the gateway's queue (the HTTP path): the requests queued with the failing one get their acks."""
    import asyncio

    from sync.gateway.ingest_queue import IngestQueue

    phome, keys = make_platform(tmp_path)
    a, _, _, _ = _batches(make_station(tmp_path, phome, keys, VILLAGE), VILLAGE, 2)
    b, _, _, _ = _batches(make_station(tmp_path, phome, keys, VILLAGE_2), VILLAGE_2, 2)
    c, _, _, _ = _batches(make_station(tmp_path, phome, keys, OTHER_VILLAGE), OTHER_VILLAGE, 2)

    async def run(platform: Platform) -> list:
        queue = IngestQueue(platform, threads=threads, group=16)
        # all four are queued before the runner first runs: one group
        return await asyncio.gather(*(queue.ingest(Upload(blob)) for blob in (a[0], b[0], c[0], a[1])),
                                    return_exceptions=True)

    with _Poisoned.open(phome) as platform:
        answers = asyncio.run(run(platform))
        assert isinstance(answers[2], RuntimeError)
        assert [type(answers[i]) for i in (0, 1, 3)] == [IngestOutcome] * 3, answers
        assert _held(platform)[0] == {(VILLAGE, 1), (VILLAGE, 2), (VILLAGE_2, 1)}


class _Logged(Platform):
    """A platform that notes each group it ingests in a shared log."""

    log: list[str]

    def ingest_group(self, uploads):  # type: ignore[no-untyped-def]
        self.log.append(f"group of {len(uploads)}")
        return super().ingest_group(uploads)


def test_on_the_event_loop_each_group_is_answered_before_the_next_is_ingested(tmp_path: Path) -> None:
    """With ingest on the event loop (ingest_threads = 0), more uploads waiting than one group holds: the
    first group's requests get their answers before the loop goes on to the next group, not after every
    group queued behind it (their clients would wait for work that is not theirs)."""
    import asyncio

    from sync.gateway.ingest_queue import IngestQueue

    phome, keys = make_platform(tmp_path)
    a, _, _, _ = _batches(make_station(tmp_path, phome, keys, VILLAGE), VILLAGE, 4)
    b, _, _, _ = _batches(make_station(tmp_path, phome, keys, VILLAGE_2), VILLAGE_2, 4)
    log: list[str] = []

    async def send(name: str, blob: bytes, queue: IngestQueue) -> None:
        await queue.ingest(Upload(blob))
        log.append(f"answered {name}")

    async def run(platform: Platform) -> None:
        queue = IngestQueue(platform, threads=0, group=2)
        # four uploads queued before the runner first runs: two groups of two
        await asyncio.gather(send("a1", a[0], queue), send("b1", b[0], queue), send("a2", a[1], queue),
                             send("b2", b[1], queue))

    with _Logged.open(phome) as platform:
        platform.log = log
        asyncio.run(run(platform))
        assert log == ["group of 2", "answered a1", "answered b1", "group of 2", "answered a2", "answered b2"]
        assert _held(platform)[0] == {(VILLAGE, 1), (VILLAGE, 2), (VILLAGE_2, 1), (VILLAGE_2, 2)}
