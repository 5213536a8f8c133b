"""National identifier checks: resident ID, credit code, division code, phone, bank account.

Every ``*_problems`` function returns *all* problems of one input as :class:`Problem` values with a
Chinese message that names the rule broken; the matching ``parse_*`` / ``normalize_*`` function
raises :class:`StationError` with those problems. Messages never contain a full ID number (they may
be logged); at most the masked form from :func:`mask_id`.

Inputs are tolerant of what operators actually type: surrounding and inner spaces, full-width
digits (NFKC), lower-case ``x``.
"""

from __future__ import annotations

import operator

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from forms.problems import Problem, ProblemList, StationError

__all__ = [
    "ResidentId", "resident_id_problems", "parse_resident_id", "credit_code_problems",
    "Division", "division_problems", "parse_division", "phone_problems", "normalize_phone",
    "bank_account_problems", "iso7064_mod11_2", "luhn_ok", "mask_id", "mask_phone", "mask_account",
]

# GB/T 2260 province-level codes (first two digits of an ID area code or a division code).
# 71 台湾, 81 香港, 82 澳门 appear on residence permits (居住证) for those residents; 83 likewise.
PROVINCE_CODES: frozenset[str] = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
    "61 62 63 64 65 71 81 82 83".split()
)

_WHITESPACE = re.compile(r"\s+")


def _clean(value: str) -> str:
    """NFKC (full-width digits and letters to ASCII), drop all whitespace, upper-case."""
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", value)).upper()


# --------------------------------------------------------------------------- check characters

_MOD11_2_CHARS = "0123456789X"


def iso7064_mod11_2(digits: str) -> str:
    """Check character of ISO 7064 MOD 11-2 over ``digits`` (the GB 11643 resident-ID scheme).

    The weight of the digit at position i (0-based, n digits) is 2^(n-i) mod 11; the check value
    is (12 - sum mod 11) mod 11, written with "0123456789X". For 17 digits this gives the weights
    7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 and the table "10X98765432" of GB 11643.
    Raises ValueError on anything that is not an ASCII digit (a programming error, not input).
    """
    if not digits.isascii() or not digits.isdigit():
        raise ValueError("iso7064_mod11_2 takes decimal digits only")
    weights = _MOD11_2_WEIGHTS.get(len(digits)) or _mod11_2_weights(len(digits))
    # ASCII codes minus 48 are the digits: one pass in C instead of int() per character (the gateway
    # checks every new case number of every batch)
    total = sum(map(operator.mul, digits.encode("ascii"), weights)) - 48 * sum(weights)
    return _MOD11_2_CHARS[(12 - total % 11) % 11]


_MOD11_2_WEIGHTS: dict[int, tuple[int, ...]] = {}


def _mod11_2_weights(n: int) -> tuple[int, ...]:
    weights = _MOD11_2_WEIGHTS[n] = tuple(pow(2, n - i, 11) for i in range(n))
    return weights


def luhn_ok(digits: str) -> bool:
    """Luhn (ISO/IEC 7812) check over a digit string including its last (check) digit."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# --------------------------------------------------------------------------- masking

def mask_id(number: str) -> str:
    """``4201**********123X``: first 4 and last 4 kept, stars in between, length preserved.

    Shorter inputs (8 characters or fewer) keep only a quarter of their length on each side so
    that a mask never shows the whole value.
    """
    s = _clean(number)
    n = len(s)
    keep = 4 if n > 8 else n // 4
    if keep == 0:
        return "*" * n
    return s[:keep] + "*" * (n - 2 * keep) + s[-keep:]


def mask_phone(number: str) -> str:
    """``138****5678``: a mobile keeps its first 3 and last 4 digits; a landline keeps its area
    code, the last 4 digits of the local number and any extension (``0571-****4321-801``).
    Unparseable input is masked as typed (first 3 and last 4 kept when long enough)."""
    try:
        s = normalize_phone(number)
    except StationError:
        s = _clean(number) if isinstance(number, str) else ""
    else:
        if "-" in s:
            area, local, *ext = s.split("-")
            return f"{area}-{'*' * (len(local) - 4)}{local[-4:]}" + "".join(f"-{e}" for e in ext)
    n = len(s)
    if n >= 8:
        return s[:3] + "*" * (n - 7) + s[-4:]
    keep = n // 4
    return (s[:keep] + "*" * (n - 2 * keep) + s[n - keep:]) if keep else "*" * n


def mask_account(number: str) -> str:
    """``**** **** **** 1234``: only the last 4 digits, always three star groups.

    The number of star groups does not follow the real length, so the mask does not leak it.
    """
    s = _clean(number)
    if len(s) <= 4:
        return "**** **** **** ****"
    return "**** **** **** " + s[-4:]


# --------------------------------------------------------------------------- resident ID

@dataclass(frozen=True)
class ResidentId:
    """A checked 18-character resident ID number (GB 11643) and what it encodes."""

    number: str
    area_code: str
    birth_date: date
    sex: str  # "男" / "女"

    def masked(self) -> str:
        return mask_id(self.number)


_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")


def _resident_id_check(value: str, field: str, today: date | None) -> tuple[str, list[Problem], date | None]:
    problems = ProblemList()
    if not isinstance(value, str):
        problems.add(field, "invalid_type", "身份证号应为文字")
        return "", problems.items, None
    s = _clean(value)
    if not s:
        problems.add(field, "required", "请填写身份证号")
        return s, problems.items, None
    if len(s) == 15 and s.isdigit():
        problems.add(field, "old_id_number", "15位旧身份证号已停用，身份证号应为18位")
        return s, problems.items, None
    if len(s) != 18:
        problems.add(field, "id_length", f"身份证号应为18位，现为{len(s)}位")
        return s, problems.items, None
    if not _ID_SHAPE.match(s):
        problems.add(field, "id_characters", "身份证号前17位应为数字，最后一位应为数字或X")
        return s, problems.items, None

    if s[:2] not in PROVINCE_CODES:
        problems.add(field, "id_area_code", f"身份证号前两位 {s[:2]} 不是有效的省级行政区划代码")

    birth: date | None = None
    raw_date = s[6:14]
    try:
        birth = date(int(raw_date[:4]), int(raw_date[4:6]), int(raw_date[6:]))
    except ValueError:
        problems.add(field, "id_birth_date", f"出生日期 {raw_date} 不存在")
    if birth is not None:
        if birth > (today or date.today()):
            problems.add(field, "id_birth_future", "出生日期不能晚于今天")
        elif birth.year < 1900:
            problems.add(field, "id_birth_too_early", f"出生日期 {raw_date} 早于1900年，请核对")

    expected = iso7064_mod11_2(s[:17])
    if s[17] != expected:
        # Never name the digit the check wants: the error is usually elsewhere (one digit misread, two
        # swapped), and "should be X" invites changing the last digit to make a wrong number pass.
        problems.add(field, "id_check_digit", "身份证号校验不通过：可能有一位抄错或两位颠倒，请对照证件逐位核对全部18位")
    return s, problems.items, birth


def resident_id_problems(value: str, field: str = "id_number", today: date | None = None) -> list[Problem]:
    """Every problem of an 18-character resident ID number; ``[]`` if it is valid.

    Checks: length 18 (15-digit first-generation numbers are refused by name), 17 digits + digit or
    X, a known province code, a birth date that exists, is not after ``today`` and not before 1900,
    and the GB 11643 check character.
    """
    return _resident_id_check(value, field, today)[1]


def parse_resident_id(value: str, field: str = "id_number", today: date | None = None) -> ResidentId:
    """The normalised :class:`ResidentId`; raises ``StationError("invalid_id_number")``."""
    s, problems, birth = _resident_id_check(value, field, today)
    if problems or birth is None:
        shown = f" {mask_id(s)}" if len(s) > 8 else ""
        raise StationError("invalid_id_number", f"身份证号{shown}有误", problems)
    return ResidentId(number=s, area_code=s[:6], birth_date=birth,
                      sex="男" if int(s[16]) % 2 == 1 else "女")


# --------------------------------------------------------------------------- credit code

_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_INDEX = {ch: i for i, ch in enumerate(_CREDIT_CHARS)}


def credit_check_char(first17: str) -> str:
    """GB 32100 check character for the first 17 characters (already upper-case, valid alphabet).

    check = (31 - Σ mod 31) mod 31. The outer ``mod 31`` matters: without it a sum divisible by 31
    gives index 31 (out of range) instead of '0', and valid codes ending in '0' are refused.
    """
    total = sum(_CREDIT_INDEX[ch] * w for ch, w in zip(first17, _CREDIT_WEIGHTS))
    return _CREDIT_CHARS[(31 - total % 31) % 31]


def credit_code_problems(value: str, field: str = "credit_code") -> list[Problem]:
    """Every problem of an 18-character unified social credit code (GB 32100); ``[]`` if valid.

    Checks length, alphabet (digits and A–Y without I, O, Z, S, V), that characters 3–8 (the
    registering authority's area code) are digits, and the check character.
    """
    problems = ProblemList()
    if not isinstance(value, str):
        problems.add(field, "invalid_type", "统一社会信用代码应为文字")
        return problems.items
    s = _clean(value)
    if not s:
        problems.add(field, "required", "请填写统一社会信用代码")
        return problems.items
    if len(s) != 18:
        problems.add(field, "credit_length", f"统一社会信用代码应为18位，现为{len(s)}位")
        return problems.items
    bad = sorted({ch for ch in s if ch not in _CREDIT_INDEX})
    if bad:
        problems.add(field, "credit_characters",
                     f"统一社会信用代码含有不允许的字符：{'、'.join(bad)}（只用数字和除I、O、Z、S、V外的大写字母）")
        return problems.items
    if not s[2:8].isdigit():
        problems.add(field, "credit_area_code", "统一社会信用代码第3至8位应为行政区划代码（数字）")
    expected = credit_check_char(s[:17])
    if s[17] != expected:
        problems.add(field, "credit_check_char", "统一社会信用代码校验不通过：可能有一位抄错或两位颠倒，请对照执照逐位核对全部18位")
    return problems.items


# --------------------------------------------------------------------------- division code

_LEVELS = ("province", "city", "county", "township", "village")
_LEVEL_ZH = {"province": "省级", "city": "地级", "county": "县级", "township": "乡镇（街道）级",
             "village": "村（社区）级"}
_PREFIX_LEN = {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}
# Segment boundaries of the 12-digit statistical division code.
_SEGMENTS = ((0, 2), (2, 4), (4, 6), (6, 9), (9, 12))


def _level_of(code: str) -> str:
    """Deepest level whose segment is non-zero (code is 12 digits)."""
    level = "province"
    for name, (a, b) in zip(_LEVELS, _SEGMENTS):
        if int(code[a:b]) != 0:
            level = name
    return level


def _township_kind(digits: str) -> str | None:
    n = int(digits)
    if 1 <= n <= 99:
        return "街道"
    if 100 <= n <= 199:
        return "镇"
    if 200 <= n <= 399:
        return "乡"
    return None  # 400+ are township-like units (farms, development zones...)


def _village_kind(digits: str) -> str | None:
    n = int(digits)
    if 1 <= n <= 199:
        return "居委会"
    if 200 <= n <= 399:
        return "村委会"
    return None  # 400+ are 类似居委会 / 类似村委会 units


@dataclass(frozen=True)
class Division:
    """A 12-digit statistical division code (统计用区划代码) and its level."""

    code: str
    level: str  # "province" | "city" | "county" | "township" | "village"

    def _prefix(self, level: str) -> str | None:
        if _LEVELS.index(level) > _LEVELS.index(self.level):
            return None
        return self.code[:_PREFIX_LEN[level]]

    @property
    def province(self) -> str:
        return self.code[:2]

    @property
    def city(self) -> str | None:
        return self._prefix("city")

    @property
    def county(self) -> str | None:
        return self._prefix("county")

    @property
    def township(self) -> str | None:
        """The 9-digit township prefix, or None for a code above township level."""
        return self._prefix("township")

    @property
    def village(self) -> str | None:
        return self._prefix("village")

    @property
    def kind(self) -> str | None:
        """街道/镇/乡 for a township, 居委会/村委会 for a village, from the digit ranges; else None."""
        if self.level == "township":
            return _township_kind(self.code[6:9])
        if self.level == "village":
            return _village_kind(self.code[9:12])
        return None

    @property
    def jurisdiction_prefix(self) -> str:
        """The significant prefix: every code under this division starts with it."""
        return self.code[:_PREFIX_LEN[self.level]]

    def covers(self, other_code: str) -> bool:
        """True if ``other_code`` (a full code or a prefix) lies in this division (itself included)."""
        return _clean(other_code).startswith(self.jurisdiction_prefix)


def _division_check(value: str, field: str, expect: str | None) -> tuple[str, list[Problem], str | None]:
    if expect not in (None, "village", "township"):
        raise ValueError(f"expect must be 'village', 'township' or None, not {expect!r}")
    problems = ProblemList()
    if not isinstance(value, str):
        problems.add(field, "invalid_type", "区划代码应为文字")
        return "", problems.items, None
    s = _clean(value)
    if not s:
        problems.add(field, "required", "请填写区划代码")
        return s, problems.items, None
    if len(s) != 12 or not s.isdigit():
        problems.add(field, "division_format", f"区划代码应为12位数字，现为{len(s)}位")
        return s, problems.items, None
    if s[:2] not in PROVINCE_CODES:
        problems.add(field, "division_province", f"区划代码前两位 {s[:2]} 不是有效的省级代码")
    # A zero segment may only be followed by zero segments (no village without a township...).
    seen_zero = False
    for a, b in _SEGMENTS:
        if int(s[a:b]) == 0:
            seen_zero = True
        elif seen_zero:
            problems.add(field, "division_hierarchy", "区划代码层级不连续：上级代码为0时下级代码也应为0")
            break
    level = _level_of(s)
    if expect == "village" and level != "village":
        problems.add(field, "division_not_village", "应为村（社区）级区划代码：末3位不能为000")
    elif expect == "township" and level != "township":
        if level == "village":
            problems.add(field, "division_not_township", "应为乡镇（街道）级区划代码：末3位应为000")
        else:
            problems.add(field, "division_not_township",
                         f"应为乡镇（街道）级区划代码：第7至9位不能为000（现为{_LEVEL_ZH[level]}代码）")
    return s, problems.items, level


def division_problems(value: str, field: str = "division_code", expect: str | None = None) -> list[Problem]:
    """Every problem of a 12-digit division code; ``expect`` = "village" | "township" | None."""
    return _division_check(value, field, expect)[1]


def parse_division(value: str, field: str = "division_code", expect: str | None = None) -> Division:
    """The :class:`Division`; raises ``StationError("invalid_division_code")``."""
    s, problems, level = _division_check(value, field, expect)
    if problems or level is None:
        raise StationError("invalid_division_code", "区划代码有误", problems)
    return Division(code=s, level=level)


# --------------------------------------------------------------------------- phone

_COUNTRY_PREFIX = re.compile(r"^(?:\+86|0086|86)")
_EXTENSION = re.compile(r"^(?P<main>.*?)(?:转|分机|EXT\.?|X|#)(?P<ext>\d{1,6})$")
_HYPHEN_EXTENSION = re.compile(r"^(?P<main>\(?0\d{2,3}\)?-?\d{7,8})-(?P<ext>\d{1,6})$")
_SEPARATORS = re.compile(r"[\s\-()（）.]")


def _phone_parse(value: str) -> str | None:
    """Normalised form or None. Mobile → 11 digits; landline → ``0AA-LLLLLLLL[-EXT]``.

    The area code length follows from its first digit: 010 and 020–029 have two digits after the
    0, every other area code three, so a landline typed without separators still splits uniquely.
    """
    s = unicodedata.normalize("NFKC", value).strip().upper()
    s = re.sub(r"[‐‑‒–—―－]", "-", s)
    s = _WHITESPACE.sub("", s)
    ext = ""
    m = _EXTENSION.match(s)
    if m:
        s, ext = m.group("main"), m.group("ext")
    else:
        m = _HYPHEN_EXTENSION.match(s)
        if m:
            s, ext = m.group("main"), m.group("ext")
    digits = _SEPARATORS.sub("", s)
    if digits.startswith(("+", "0086")) or (digits.startswith("86") and len(digits) > 11):
        stripped = _COUNTRY_PREFIX.sub("", digits)
        if stripped != digits:
            digits = stripped
            # After +86 a landline drops its trunk 0 (+86 10 ...); put it back.
            if digits and not digits.startswith("0") and not re.fullmatch(r"1[3-9]\d{9}", digits):
                digits = "0" + digits
    if not digits.isascii() or not digits.isdigit():
        return None
    if re.fullmatch(r"1[3-9]\d{9}", digits):
        return None if ext else digits
    if not digits.startswith("0") or len(digits) < 3:
        return None
    area_len = 3 if digits[1] in "12" else 4
    area, local = digits[:area_len], digits[area_len:]
    if area == "011" or not re.fullmatch(r"[2-9]\d{6,7}", local):
        return None
    return f"{area}-{local}" + (f"-{ext}" if ext else "")


def phone_problems(value: str, field: str = "phone") -> list[Problem]:
    """Problems of a contact phone: a mainland mobile number (1[3-9] + 9 digits, optional +86/86)
    or a landline with area code (0xx/0xxx) + 7–8 digits and an optional extension
    (转/分机/ext/#/-). Spaces, hyphens and brackets are allowed anywhere."""
    problems = ProblemList()
    if not isinstance(value, str):
        problems.add(field, "invalid_type", "联系电话应为文字")
    elif not _clean(value):
        problems.add(field, "required", "请填写联系电话")
    elif _phone_parse(value) is None:
        problems.add(field, "phone_format",
                     "联系电话格式有误：手机号为1开头的11位数字，固定电话为区号（0开头3至4位）加7至8位号码")
    return problems.items


def normalize_phone(value: str) -> str:
    """Normalised phone (``13812345678``, ``010-12345678``, ``0571-8765432-801``); raises
    ``StationError("invalid_phone")``."""
    problems = phone_problems(value)
    if problems:
        raise StationError("invalid_phone", "联系电话有误", problems)
    result = _phone_parse(value)
    assert result is not None
    return result


# --------------------------------------------------------------------------- bank account

def bank_account_problems(value: str, field: str = "bank_account") -> list[Problem]:
    """Problems of a bank account or card number for subsidy payments.

    Choices, and why:
    - Spaces (and full-width digits) are removed: cards are printed in groups of four. Nothing else
      is: a letter or hyphen is more likely a typo than formatting.
    - 12–30 digits: Chinese passbook (存折) and corporate account numbers vary by bank from about
      12 to 25 digits and have no public check digit, so only the length is checked for them.
    - A number of 16–19 digits starting with 62 (UnionPay), 4 (Visa-range debit BINs of Chinese
      banks) or 5 (Mastercard range) is treated as a bank *card* and must pass the Luhn check
      (ISO/IEC 7812), which catches every single-digit typo and most swaps of adjacent digits. Other
      numbers are not Luhn-checked because passbook accounts would be refused wrongly.
    """
    problems = ProblemList()
    if not isinstance(value, str):
        problems.add(field, "invalid_type", "银行账号应为文字")
        return problems.items
    s = _WHITESPACE.sub("", unicodedata.normalize("NFKC", value))
    if not s:
        problems.add(field, "required", "请填写银行账号")
        return problems.items
    if not s.isascii() or not s.isdigit():
        problems.add(field, "account_characters", "银行账号只能包含数字")
        return problems.items
    if not 12 <= len(s) <= 30:
        problems.add(field, "account_length", f"银行账号应为12至30位数字，现为{len(s)}位")
        return problems.items
    is_card = 16 <= len(s) <= 19 and (s.startswith("62") or s[0] in "45")
    if is_card and not luhn_ok(s):
        problems.add(field, "card_check_digit", "银行卡号校验未通过（Luhn校验），请逐位核对卡号")
    return problems.items
