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


def test_each_device_of_a_service_point_owns_a_block_of_serials() -> None:
    """The serial's first digit is the device less one: device 1 keeps 0001–0999 (the numbers single-PC
    stations always issued); no two devices share a serial; the check character covers the digit."""
    from station.casenumber import serial_block, serial_device

    blocks = [serial_block(d) for d in range(1, 10)]
    assert blocks[0] == (1, 999) and blocks[1] == (1001, 1999) and blocks[8] == (8001, 8999)
    seen: set[int] = set()
    for device, (first, last) in enumerate(blocks, start=1):
        serials = set(range(first, last + 1))
        assert not serials & seen
        seen |= serials
        assert {serial_device(s) for s in serials} == {device}
        n = CaseNumber("421381105201", date(2026, 12, 7), first)
        assert n.device == device and parse(str(n)).device == device
    # a device digit misread (1001 read as 2001) is caught like any other substitution
    good = str(CaseNumber("421381105201", date(2026, 12, 7), 1001))
    with pytest.raises(StationError):
        parse(good.replace("-1001-", "-2001-"))
