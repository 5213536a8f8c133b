"""Snapshots of the 审核 queue, the review detail, the duplicate comparison and the 统计 screen at
80×24 and 120×40 (pytest-textual-snapshot).

Deterministic: the homes are built for a fixed day with seeded sample data, and the stores and the
app share a fixed clock. Review a changed snapshot like code:
`pytest tests/tui/test_tui_review_snapshots.py --snapshot-update`, then look at the SVGs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from station.operators import get_operator
from station.review import Decision, decide
from station.tui.screens.review_case import DuplicateScreen, ReviewCaseScreen
from tests.support.tui import log_in, snapshot, wait_for
from tests.tui.test_tui_review import REVIEWER, SAME_ID, World, make_world, open_review, open_row, review_case
from tests.tui.test_tui_stats import hand_checked, open_stats

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def queue_world(root: Path, catalog: Any) -> tuple[World, list[str]]:
    world = make_world(root)
    numbers = [world.file("v1", catalog, seed, waive=seed % 2 == 0) for seed in range(1, 5)]
    numbers.append(world.file("v2", catalog, 5))
    numbers.append(world.file("v2", catalog, 6, id_number=SAME_ID))
    numbers.append(world.file("v1", catalog, 7, id_number=SAME_ID))
    world.ship("v1", "t")
    world.ship("v2", "t")
    with world.open("t") as t:
        decide(t, numbers[1], Decision("accept", reason="材料齐全"), get_operator(t, REVIEWER[0]))
    return world, numbers


@pytest.mark.parametrize("size", SIZES)
def test_review_queue_screen(snap_compare, tmp_path: Path, catalog, size) -> None:
    world, _ = queue_world(tmp_path, catalog)

    async def steps(pilot: Any) -> None:
        await log_in(pilot, REVIEWER)
        await open_review(pilot)

    snapshot(snap_compare, world.app("t", catalog), size, steps)


@pytest.mark.parametrize("size", SIZES)
def test_review_detail_screen(snap_compare, tmp_path: Path, catalog, size) -> None:
    world, numbers = queue_world(tmp_path, catalog)

    async def steps(pilot: Any) -> None:
        await log_in(pilot, REVIEWER)
        queue = await open_review(pilot)
        await review_case(pilot, queue, numbers[1])
        assert isinstance(pilot.app.screen, ReviewCaseScreen)

    snapshot(snap_compare, world.app("t", catalog), size, steps)


@pytest.mark.parametrize("size", SIZES)
def test_review_duplicates_screen(snap_compare, tmp_path: Path, catalog, size) -> None:
    world, numbers = queue_world(tmp_path, catalog)

    async def steps(pilot: Any) -> None:
        await log_in(pilot, REVIEWER)
        queue = await open_review(pilot, "duplicates")
        await open_row(pilot, queue, numbers[5])
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DuplicateScreen) and pilot.app.screen.view)
        await pilot.pause(0.2)  # let the screen repaint before the shot (slow under load)

    snapshot(snap_compare, world.app("t", catalog), size, steps)


@pytest.mark.parametrize("size", SIZES)
def test_stats_screen(snap_compare, tmp_path: Path, catalog, size) -> None:
    world = make_world(tmp_path)
    hand_checked(world, catalog)

    async def steps(pilot: Any) -> None:
        await log_in(pilot, REVIEWER)
        screen = await open_stats(pilot)
        loads = screen.loads
        screen.query_one("#period").value = "last"
        await wait_for(pilot, lambda: screen.loads > loads and screen.view.report.date_from == "2026-09-01")
        screen.query_one("#figures").focus()

    snapshot(snap_compare, world.app("t", catalog), size, steps)
