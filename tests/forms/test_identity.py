"""National identifier checks (forms.identity)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forms.identity import (
    Division,
    ResidentId,
    bank_account_problems,
    credit_code_problems,
    division_problems,
    iso7064_mod11_2,
    mask_account,
    mask_id,
    mask_phone,
    normalize_phone,
    parse_division,
    parse_resident_id,
    phone_problems,
    resident_id_problems,
)
from forms.problems import StationError

VALID_ID = "11010519491231002X"  # domain-facts known-valid example
VALID_CREDIT = "91350100M000100Y43"  # domain-facts known-valid example

# Independent reference implementations straight from the written standards (domain-facts), so
# that the module is not tested against itself.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_TABLE = "10X98765432"
CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def ref_id_check(first17: str) -> str:
    return ID_TABLE[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS)) % 11]


def make_id(area: str, birth: date, seq: int) -> str:
    first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
    return first17 + ref_id_check(first17)


def codes(problems) -> set[str]:
    return {p.code for p in problems}


TODAY = date(2026, 6, 1)


# --------------------------------------------------------------------------- ISO 7064

def test_iso7064_matches_gb11643_table():
    assert iso7064_mod11_2(VALID_ID[:17]) == "X"
    for first17 in ("34052419800101001", "42010219900307123", "00000000000000000"):
        assert iso7064_mod11_2(first17) == ref_id_check(first17)


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_iso7064_equals_reference_for_any_17_digits(first17):
    assert iso7064_mod11_2(first17) == ref_id_check(first17)


def test_iso7064_refuses_non_digits():
    with pytest.raises(ValueError):
        iso7064_mod11_2("12a")


# --------------------------------------------------------------------------- resident ID

def test_known_valid_id_parses():
    rid = parse_resident_id(VALID_ID, today=TODAY)
    assert rid == ResidentId(VALID_ID, "110105", date(1949, 12, 31), "女")
    assert resident_id_problems(VALID_ID, today=TODAY) == []


def test_lower_x_and_spaces_accepted_and_normalised():
    rid = parse_resident_id(" 110105 19491231 002x ", today=TODAY)
    assert rid.number == VALID_ID


def test_full_width_digits_accepted():
    full = "".join(chr(ord(c) + 0xFEE0) for c in VALID_ID)  # ０-９ and Ｘ
    assert parse_resident_id(full, today=TODAY).number == VALID_ID


def test_sex_from_sequence_parity():
    male = make_id("420102", date(1990, 3, 7), 123)
    female = make_id("420102", date(1990, 3, 7), 124)
    assert parse_resident_id(male, today=TODAY).sex == "男"
    assert parse_resident_id(female, today=TODAY).sex == "女"


def test_every_single_character_substitution_is_detected():
    for number in (VALID_ID, make_id("420102", date(1990, 3, 7), 123), make_id("650102", date(2001, 1, 1), 8)):
        for pos in range(18):
            alphabet = "0123456789X" if pos == 17 else "0123456789"
            for ch in alphabet:
                if ch == number[pos]:
                    continue
                mutated = number[:pos] + ch + number[pos + 1:]
                problems = resident_id_problems(mutated, today=TODAY)
                assert "id_check_digit" in codes(problems), mutated


def test_check_digit_message_asks_to_check_every_digit_and_never_names_the_expected_one():
    """Naming the digit the check wants invites a wrong "fix" of the last digit (issue 15)."""
    wrong = VALID_ID[:17] + "1"
    (problem,) = resident_id_problems(wrong, today=TODAY)
    assert problem.field == "id_number"
    assert problem.code == "id_check_digit"
    assert "逐位核对" in problem.message and "X" not in problem.message and "应为" not in problem.message


def test_february_30_refused_even_with_correct_check():
    bad = make_id("110105", date(1949, 2, 1), 2)
    bad = bad[:12] + "30" + bad[14:17]
    bad += ref_id_check(bad)
    problems = resident_id_problems(bad, field="applicant.id", today=TODAY)
    assert [(p.field, p.code, p.message) for p in problems] == [
        ("applicant.id", "id_birth_date", "出生日期 19490230 不存在")]


def test_future_birth_date_refused():
    tomorrow = TODAY + timedelta(days=1)
    number = make_id("110105", tomorrow, 1)
    assert codes(resident_id_problems(number, today=TODAY)) == {"id_birth_future"}
    assert "出生日期不能晚于今天" in [p.message for p in resident_id_problems(number, today=TODAY)]
    # Born today is fine.
    assert resident_id_problems(make_id("110105", TODAY, 1), today=TODAY) == []


def test_length_and_characters():
    assert [p.message for p in resident_id_problems("1101051949", today=TODAY)] == ["身份证号应为18位，现为10位"]
    assert codes(resident_id_problems("110105194912310", today=TODAY)) == {"old_id_number"}
    assert codes(resident_id_problems("1101051949123100XX", today=TODAY)) == {"id_characters"}
    assert codes(resident_id_problems("", today=TODAY)) == {"required"}


def test_bad_province_reported_together_with_other_problems():
    number = "99010519490231002"
    number += ref_id_check(number)
    number = number[:17] + ("0" if number[17] != "0" else "1")
    assert codes(resident_id_problems(number, today=TODAY)) == {
        "id_area_code", "id_birth_date", "id_check_digit"}


def test_parse_raises_with_problems_and_never_leaks_full_number():
    wrong = VALID_ID[:17] + "1"
    with pytest.raises(StationError) as info:
        parse_resident_id(wrong, field="applicant_id", today=TODAY)
    err = info.value
    assert err.code == "invalid_id_number"
    assert [p.code for p in err.problems] == ["id_check_digit"]
    assert err.problems[0].field == "applicant_id"
    text = str(err) + repr(err.to_dict())
    assert wrong not in text
    assert "1101**********0021" in text


@settings(max_examples=200)
@given(
    area=st.sampled_from(["110105", "420102", "500101", "650102", "810000"]),
    birth=st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    seq=st.integers(0, 999),
)
def test_generated_valid_ids_round_trip(area, birth, seq):
    number = make_id(area, birth, seq)
    rid = parse_resident_id(number.lower(), today=TODAY)
    assert rid.number == number
    assert rid.area_code == area
    assert rid.birth_date == birth
    assert rid.sex == ("男" if seq % 2 else "女")


# --------------------------------------------------------------------------- masking

def test_masks():
    assert mask_id(VALID_ID) == "1101**********002X"
    assert mask_id("11010519491231002x") == "1101**********002X"
    assert mask_id("12345") == "1***5"
    assert mask_id("12") == "**"
    assert mask_id("") == ""
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138 1234 5678") == "138****5678"
    assert mask_phone("0571-87654321转801") == "0571-****4321-801"
    assert mask_account("6222 0212 3456 7890 128") == "**** **** **** 0128"
    assert mask_account("123") == "**** **** **** ****"


# --------------------------------------------------------------------------- credit code

def credit_with_check(first17: str) -> str:
    total = sum(CREDIT_CHARS.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS))
    return first17 + CREDIT_CHARS[(31 - total % 31) % 31]


def test_known_valid_credit_code():
    assert credit_code_problems(VALID_CREDIT) == []
    assert credit_code_problems(" 91350100m000100y43 ") == []


def test_credit_code_with_check_char_zero_accepted():
    # Vary the 17th character until the weighted sum is divisible by 31: then the check is '0'.
    prefix = "93420102MA4K0000"
    found = [credit_with_check(prefix + c) for c in CREDIT_CHARS if credit_with_check(prefix + c)[-1] == "0"]
    assert found, "construction failed"
    code = found[0]
    total = sum(CREDIT_CHARS.index(c) * w for c, w in zip(code[:17], CREDIT_WEIGHTS))
    assert total % 31 == 0
    assert credit_code_problems(code) == []
    # A wrong last character on the same code: check every character, no expected one named.
    (problem,) = credit_code_problems(code[:17] + "1")
    assert problem.code == "credit_check_char"
    assert "逐位核对" in problem.message and "应为" not in problem.message


def test_credit_code_problems():
    assert codes(credit_code_problems("91350100M000100Y4")) == {"credit_length"}
    assert codes(credit_code_problems("91350100M000100O43")) == {"credit_characters"}
    assert codes(credit_code_problems("91350100M000100Y44")) == {"credit_check_char"}
    assert codes(credit_code_problems(credit_with_check("91AB0100M000100Y4"))) == {"credit_area_code"}
    assert credit_code_problems("x", field="coop.code")[0].field == "coop.code"


@given(st.text(alphabet=CREDIT_CHARS, min_size=17, max_size=17).filter(lambda s: s[2:8].isdigit()),
       st.integers(0, 16), st.sampled_from(CREDIT_CHARS))
def test_credit_code_single_substitution_detected(first17, pos, ch):
    code = credit_with_check(first17)
    assert credit_code_problems(code) == []
    if code[pos] != ch:
        mutated = code[:pos] + ch + code[pos + 1:]
        assert credit_code_problems(mutated) != []


# --------------------------------------------------------------------------- division code

@pytest.mark.parametrize("code, level, kind, prefix", [
    ("420000000000", "province", None, "42"),
    ("420100000000", "city", None, "4201"),
    ("420102000000", "county", None, "420102"),
    ("420102001000", "township", "街道", "420102001"),
    ("420117100000", "township", "镇", "420117100"),
    ("420117200000", "township", "乡", "420117200"),
    ("420117100001", "village", "居委会", "420117100001"),
    ("420117100201", "village", "村委会", "420117100201"),
    ("420117100401", "village", None, "420117100401"),
])
def test_division_levels_and_kinds(code, level, kind, prefix):
    d = parse_division(code)
    assert d == Division(code, level)
    assert d.kind == kind
    assert d.jurisdiction_prefix == prefix


def test_division_prefix_properties_and_covers():
    village = parse_division("420117100201", expect="village")
    assert (village.province, village.city, village.county, village.township, village.village) == (
        "42", "4201", "420117", "420117100", "420117100201")
    township = parse_division("420117100000", expect="township")
    assert township.village is None
    assert township.covers("420117100201")
    assert township.covers(village.code)
    assert township.covers("420117100000")
    assert not township.covers("420117101201")
    assert not village.covers("420117100202")
    county = parse_division("420117000000")
    assert county.township is None
    assert county.covers("420117101201") and not county.covers("420118100201")


def test_division_expectations():
    assert division_problems("420117100201", expect="village") == []
    assert codes(division_problems("420117100000", expect="village")) == {"division_not_village"}
    assert division_problems("420117100000", expect="township") == []
    (p,) = division_problems("420117100201", field="township_code", expect="township")
    assert (p.field, p.code) == ("township_code", "division_not_township")
    assert "末3位应为000" in p.message
    assert codes(division_problems("420117000000", expect="township")) == {"division_not_township"}


def test_division_format_and_hierarchy():
    assert codes(division_problems("42011710020")) == {"division_format"}
    assert codes(division_problems("42011710020a")) == {"division_format"}
    assert codes(division_problems("990117100201")) == {"division_province"}
    assert codes(division_problems("420117000201")) == {"division_hierarchy"}
    with pytest.raises(StationError) as info:
        parse_division("420117000201", field="village_code", expect="village")
    assert info.value.code == "invalid_division_code"
    assert info.value.problems[0].field == "village_code"


# --------------------------------------------------------------------------- phone

@pytest.mark.parametrize("raw, normal", [
    ("13812345678", "13812345678"),
    ("138 1234 5678", "13812345678"),
    ("138-1234-5678", "13812345678"),
    ("+86 138 1234 5678", "13812345678"),
    ("+8613812345678", "13812345678"),
    ("8613812345678", "13812345678"),
    ("１３８１２３４５６７８", "13812345678"),
    ("19912345678", "19912345678"),
    ("010-65123456", "010-65123456"),
    ("01065123456", "010-65123456"),
    ("(010) 6512 3456", "010-65123456"),
    ("0571-87654321", "0571-87654321"),
    ("057187654321", "0571-87654321"),
    ("0735-2345678", "0735-2345678"),
    ("+86 10 65123456", "010-65123456"),
    ("0571-87654321转801", "0571-87654321-801"),
    ("0571-87654321-801", "0571-87654321-801"),
    ("020 8888 9999 ext 12", "020-88889999-12"),
    ("020-88889999#12", "020-88889999-12"),
])
def test_phone_accepted_and_normalised(raw, normal):
    assert phone_problems(raw) == []
    assert normalize_phone(raw) == normal


@pytest.mark.parametrize("raw", [
    "12812345678",      # 12x is not a mobile prefix
    "1381234567",       # 10 digits
    "138123456789",     # 12 digits
    "65123456",         # landline without area code
    "010-123456",       # local number too short
    "010-0123456",      # local number cannot start with 0
    "4008001234",       # service numbers are not contact phones
    "13812345678转12",  # mobiles have no extension
    "138abc45678",
])
def test_phone_refused(raw):
    (p,) = phone_problems(raw, field="contact")
    assert (p.field, p.code) == ("contact", "phone_format")
    with pytest.raises(StationError) as info:
        normalize_phone(raw)
    assert info.value.code == "invalid_phone"


def test_phone_required():
    assert codes(phone_problems("  ")) == {"required"}


# --------------------------------------------------------------------------- bank account

def luhn_complete(body: str) -> str:
    for d in "0123456789":
        digits = body + d
        total = 0
        for i, ch in enumerate(reversed(digits)):
            v = int(ch) * (2 if i % 2 else 1)
            total += v - 9 if v > 9 else v
        if total % 10 == 0:
            return digits
    raise AssertionError


def test_bank_card_luhn():
    card = "6222021234567890128"  # valid Luhn, 19 digits, UnionPay
    assert bank_account_problems(card) == []
    assert bank_account_problems("6222 0212 3456 7890 128") == []
    assert codes(bank_account_problems("6222021234567890127")) == {"card_check_digit"}
    assert bank_account_problems("4111111111111111") == []
    assert codes(bank_account_problems("4111111111111112")) == {"card_check_digit"}


@given(st.text(alphabet="0123456789", min_size=13, max_size=16), st.data())
def test_bank_card_every_single_digit_typo_detected(body, data):
    card = luhn_complete("62" + body)
    assert bank_account_problems(card) == []
    pos = data.draw(st.integers(0, len(card) - 1))
    digit = data.draw(st.sampled_from("0123456789").filter(lambda d: d != card[pos]))
    mutated = card[:pos] + digit + card[pos + 1:]
    if mutated.startswith("62") or mutated[0] in "45":
        assert "card_check_digit" in codes(bank_account_problems(mutated))


def test_passbook_accounts_only_length_checked():
    assert bank_account_problems("1234567890123") == []          # 13 digits, no Luhn
    assert bank_account_problems("12345678901234567891") == []   # 20 digits
    assert bank_account_problems("6222021234567890127000") == []  # 22 digits: not a card length


def test_bank_account_problems():
    assert codes(bank_account_problems("12345678901")) == {"account_length"}
    assert codes(bank_account_problems("1" * 31)) == {"account_length"}
    assert codes(bank_account_problems("6222-0212-3456-7890")) == {"account_characters"}
    assert codes(bank_account_problems("")) == {"required"}
    assert bank_account_problems("x", field="payee.account")[0].field == "payee.account"
