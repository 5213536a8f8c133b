"""Case numbers: issued offline, unique across the province, readable over the phone.

Format ``VVVVVVVVVVVV-YYMMDD-NNNN-C``: the filing service point's 12-digit division code (so two
villages never collide without talking to each other), the filing date, the daily serial, and an
ISO 7064 MOD 11-2 check character over the 22 digits. MOD 11-2 is a pure system over a prime
modulus: it catches every single wrong character and every swap of two neighbours (the two
commonest errors when a number is read out on the phone).

**Devices.** A service point may have several PCs (devices 1–9, station/devices.py) filing offline
on the same day. The first digit of the serial is the device less one, so each device owns a block
of 999 numbers a day and two devices can never issue the same number without talking:

    device 1   0001–0999   (the numbers every single-PC station has always issued)
    device 2   1001–1999
    device N   (N-1)001–(N-1)999

The format, the length and the check character are unchanged, so numbers printed before devices
existed still parse, and the check still covers the device digit like any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from datetime import date

from forms.identity import iso7064_mod11_2
from forms.problems import Problem, StationError

_PATTERN = re.compile(r"^(\d{12})(\d{6})(\d{4})([0-9X])$")


@dataclass(frozen=True)
class CaseNumber:
    village_code: str
    day: date
    sequence: int

    @property
    def digits(self) -> str:
        return f"{self.village_code}{self.day:%y%m%d}{self.sequence:04d}"

    @property
    def check(self) -> str:
        return iso7064_mod11_2(self.digits)

    def __str__(self) -> str:
        return f"{self.village_code}-{self.day:%y%m%d}-{self.sequence:04d}-{self.check}"

    @property
    def device(self) -> int:
        """The device that issued the number (the serial's first digit plus one)."""
        return serial_device(self.sequence)

    def spoken_groups(self) -> str:
        """Groups for reading aloud: 4201 0200 1201 261125 0007 6."""
        v = self.village_code
        return f"{v[:4]} {v[4:8]} {v[8:]} {self.day:%y%m%d} {self.sequence:04d} {self.check}"


PER_DEVICE_PER_DAY = 999


def serial_block(device: int) -> tuple[int, int]:
    """The first and last daily serial device ``device`` may issue."""
    base = (device - 1) * 1000
    return base + 1, base + PER_DEVICE_PER_DAY


def serial_device(sequence: int) -> int:
    return sequence // 1000 + 1


def compact(text: str) -> str:
    return re.sub(r"[\s\-]", "", text).upper()


def parse(text: str, field: str = "case_number") -> CaseNumber:
    """Parse a typed case number (hyphens and spaces optional); refuse a wrong check character."""
    raw = compact(text)
    m = _PATTERN.match(raw)
    if not m:
        raise StationError("bad_case_number", f"办件编号格式不对：应为23位（12位区划码-6位日期-4位序号-校验位），收到 {text!r}",
                           [Problem("case_number", "bad_format", "办件编号格式不对")])
    village, ymd, seq, check = m.groups()
    try:
        day = date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:]))
    except ValueError:
        raise StationError("bad_case_number", f"办件编号中的日期 {ymd} 不存在",
                           [Problem("case_number", "bad_date", "办件编号中的日期不存在")]) from None
    number = CaseNumber(village, day, int(seq))
    if iso7064_mod11_2(village + ymd + seq) != check:  # the digits as written: no date formatting
        raise StationError("bad_case_number", "办件编号校验位不对：可能有一位抄错或两位顺序颠倒，请核对",
                           [Problem("case_number", "bad_check", "办件编号校验位不对")])
    return number


_CANONICAL = re.compile(r"(\d{12})-(\d{6})-(\d{4})-([0-9X])")


@lru_cache(maxsize=4096)
def _real_day(ymd: str) -> bool:
    try:
        date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:]))
    except ValueError:
        return False
    return True


def canonical_village(number: str) -> str | None:
    """The filing service point of a case number written in canonical form with a real date and the
    right check character, else None. What :func:`parse` decides for such a number, without building
    one (the gateway judges every new number of every batch)."""
    m = _CANONICAL.fullmatch(number)
    if not m:
        return None
    village, ymd, seq, check = m.groups()
    if not _real_day(ymd) or iso7064_mod11_2(village + ymd + seq) != check:
        return None
    return village


def normalise(text: str) -> str:
    return str(parse(text))


# --- finding a case from any way its number is written ------------------------------------------

_DAY_SEQ = re.compile(r"^(\d{6})(\d{4})([0-9X]?)$")


@dataclass(frozen=True)
class NumberQuery:
    """What a typed case number can match: one exact number, or a LIKE pattern over numbers."""

    exact: str | None = None
    pattern: str | None = None


def _valid_day(ymd: str) -> bool:
    try:
        date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:]))
        return True
    except ValueError:
        return False


def number_query(text: str) -> NumberQuery | None:
    """Read every written form of a case number, or None when ``text`` is not one.

    - the full number, with or without dashes and spaces (the receipt prints it in groups of four):
      ``421381105201-261202-0001-0``, ``4213 8110 5201 261202 - 0001 - 0``, 23 characters compact;
    - the full number without its check character (22 digits);
    - the short form the tables show, ``261202-0001-0`` (day, sequence, check);
    - the day and the sequence, ``261202-0001`` or ``261202 0001``.
    A full number whose check character is wrong is refused (:func:`parse` says why): it was misread.
    """
    raw = compact(text)
    if len(raw) == 23 and _PATTERN.match(raw):
        return NumberQuery(exact=normalise(raw))
    if len(raw) == 22 and raw.isdigit() and _valid_day(raw[12:18]):
        return NumberQuery(pattern=f"{raw[:12]}-{raw[12:18]}-{raw[18:]}-_")
    m = _DAY_SEQ.match(raw)
    if m and _valid_day(m.group(1)):
        ymd, seq, check = m.groups()
        return NumberQuery(pattern=f"%-{ymd}-{seq}-{check or '_'}")
    return None
