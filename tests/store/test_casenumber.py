"""Case numbers: unique per village and day, check character catches phone-reading errors."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, strategies as st

from station.casenumber import CaseNumber, parse
from forms.problems import StationError


def test_format_and_round_trip() -> None:
    n = CaseNumber("421381105201", date(2026, 11, 25), 7)
    text = str(n)
    assert text.startswith("421381105201-261125-0007-")
    assert parse(text) == n
    assert parse(text.replace("-", "")) == n
    assert parse(" ".join(text.split("-")).lower()) == n


@given(st.integers(1, 9999), st.dates(date(2000, 1, 1), date(2099, 12, 31)),
       st.from_regex(r"[1-6][0-9]{11}", fullmatch=True))
def test_every_single_substitution_and_adjacent_swap_is_caught(seq: int, day: date, village: str) -> None:
    good = str(CaseNumber(village, day, seq)).replace("-", "")
    for i in range(len(good)):
        for ch in "0123456789X":
            if ch == good[i]:
                continue
            bad = good[:i] + ch + good[i + 1:]
            with pytest.raises(StationError):
                parse(bad)
    for i in range(len(good) - 1):
        if good[i] != good[i + 1]:
            swapped = good[:i] + good[i + 1] + good[i] + good[i + 2:]
            with pytest.raises(StationError):
                parse(swapped)


def test_bad_shapes_are_refused_with_a_chinese_message() -> None:
    for text in ("", "12345", "421381105201-261125-0007", "421381105201-261399-0007-0"):
        with pytest.raises(StationError) as err:
            parse(text)
        assert err.value.code == "bad_case_number"
        assert "办件编号" in err.value.message
