"""The form engine: every rule refused with its field and code, all problems at once."""

from __future__ import annotations

import copy
import random
import dataclasses
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from forms.catalog import load_catalog
from station.sample_data import make_submission
from forms.engine import MAX_SUBMISSION_BYTES, Submission, validate_submission
from forms.identity import iso7064_mod11_2
from forms.schema import ServiceItem
from forms.problems import StationError

TODAY = date(2026, 3, 2)
ID_F = "11010519491231002X"          # female, born 1949-12-31 (domain-facts example)
CREDIT = "91350100M000100Y43"         # GB 32100 example from domain-facts


def luhn_complete(prefix: str) -> str:
    """``prefix`` plus the Luhn check digit (a valid UnionPay-style card number)."""
    total = 0
    for i, ch in enumerate(reversed(prefix)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return prefix + str((10 - total % 10) % 10)


CARD = luhn_complete("621700123456789012")   # 19 digits

ALL_TYPES = """\
legal_basis = ["《测试条例》第一条"]
authority = { decides = "{county}民政局" }
code = "MZ-ALLT-001"
name = "全类型测试事项"
department = "民政"
item_type = "行政给付"
handling_level = "township"
case_kind = "承诺件"
version = 3
promised_limit = { amount = 10, unit = "工作日" }
statutory_limit = { amount = 20, unit = "工作日" }
posting_days = 5
fee = "不收费"
agent_relationship = true

[[fields]]
key = "note"
label = "备注"
type = "text"
max_length = 10

[[fields]]
key = "story"
label = "情况说明"
type = "textarea"
required = true

[[fields]]
key = "age"
label = "年龄"
type = "number"
required = true
min = 60
max = 130

[[fields]]
key = "area"
label = "面积"
type = "number"
min = 0
max = 1000
decimals = 2

[[fields]]
key = "event_date"
label = "事发日期"
type = "date"
min = "2020-01-01"
max = "today"

[[fields]]
key = "visit_date"
label = "走访日期"
type = "date"
min = "today"

[[fields]]
key = "kind"
label = "类别"
type = "choice"
required = true
options = ["甲类", "乙类"]

[[fields]]
key = "alone"
label = "是否独居"
type = "yesno"
required = true

[[fields]]
key = "spouse_id"
label = "配偶身份证号"
type = "resident_id"

[[fields]]
key = "spouse_phone"
label = "配偶电话"
type = "phone"

[[fields]]
key = "account"
label = "发放账号"
type = "bank_account"

[[fields]]
key = "coop_code"
label = "合作社信用代码"
type = "credit_code"

[[materials]]
key = "id_card"
name = "居民身份证"
form = "原件"
required = true
waivable = false

[[materials]]
key = "application_form"
name = "测试申请表"
form = "原件"
required = true
waivable = false

[[materials]]
key = "photo"
name = "近期一寸免冠照片"
form = "原件"
copies = 2
required = true
waivable = true

[[materials]]
key = "hukou_book"
name = "户口簿"
form = "原件及复印件"
required = true
waivable = true

[[materials]]
key = "income_proof"
name = "收入证明"
form = "原件"
required = false
waivable = false
"""


@pytest.fixture(scope="module")
def item(tmp_path_factory: pytest.TempPathFactory) -> ServiceItem:
    d = tmp_path_factory.mktemp("catalog")
    (d / "all_types.toml").write_text(ALL_TYPES, encoding="utf-8")
    cat = load_catalog(d, use_cache=False)
    assert cat.issues == ()
    return cat.get("MZ-ALLT-001")


def valid() -> dict[str, Any]:
    return {
        "applicant": {"name": "王秀英", "id_number": ID_F.lower(), "phone": "138 1234 5678",
                      "address": "某县某镇某村3组12号", "relationship": "子女"},
        "fields": {"story": "老人独居，行动不便。", "age": 76, "kind": "甲类", "alone": True},
        "materials": {"id_card": "received", "application_form": "received", "photo": "received",
                      "hukou_book": "received"},
    }


def problems_of(item: ServiceItem, data: Any) -> list[tuple[str, str]]:
    with pytest.raises(StationError) as exc:
        validate_submission(item, data, TODAY)
    assert exc.value.code == "invalid_submission"
    assert exc.value.message == "申请信息有误，请按提示修改"
    for p in exc.value.problems:
        assert p.message and not p.message.isascii(), p  # Chinese text for the operator
    return [(p.field, p.code) for p in exc.value.problems]


def with_(path: str, value: Any) -> dict[str, Any]:
    """valid() with one dotted path set (value ``...`` deletes it)."""
    data = valid()
    node = data
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    if value is ...:
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value
    return data


# --- valid submissions ------------------------------------------------------------------------

def test_minimal_valid_submission(item: ServiceItem) -> None:
    sub = validate_submission(item, valid(), TODAY)
    assert isinstance(sub, Submission)
    assert (sub.item_code, sub.item_version) == ("MZ-ALLT-001", 3)
    a = sub.applicant
    assert a.id_number == ID_F  # upper-cased
    assert a.phone == "13812345678"
    assert (a.sex, a.birth_date) == ("女", date(1949, 12, 31))
    assert a.relationship == "子女"
    assert dict(sub.fields) == {"story": "老人独居，行动不便。", "age": 76, "kind": "甲类", "alone": True}
    assert sub.materials["income_proof"] == "missing"  # optional and not mentioned
    assert sub.missing == ("income_proof",)
    assert dict(sub.waived) == {} and sub.commitment_signer is None


def test_every_field_type_normalised(item: ServiceItem) -> None:
    data = valid()
    data["fields"] = {
        "note": "  备注文字 ", "story": "说明", "age": "81", "area": "12.5", "event_date": "2024-02-29",
        "visit_date": TODAY.isoformat(), "kind": "乙类", "alone": "否", "spouse_id": ID_F.lower(),
        "spouse_phone": "0571-8765 4321", "account": " ".join([CARD[:4], CARD[4:8], CARD[8:12], CARD[12:]]),
        "coop_code": CREDIT.lower(),
    }
    f = validate_submission(item, data, TODAY).fields
    assert f["note"] == "备注文字"
    assert f["age"] == 81 and isinstance(f["age"], int)
    assert f["area"] == 12.5 and isinstance(f["area"], float)
    assert f["event_date"] == "2024-02-29"
    assert f["visit_date"] == "2026-03-02"
    assert f["kind"] == "乙类"
    assert f["alone"] is False
    assert f["spouse_id"] == ID_F
    assert f["spouse_phone"] == "0571-87654321"
    assert f["account"] == CARD
    assert f["coop_code"] == CREDIT


@pytest.mark.parametrize("value,expected", [(True, True), (False, False), ("是", True), ("否", False)])
def test_yesno_values(item: ServiceItem, value: Any, expected: bool) -> None:
    assert validate_submission(item, with_("fields.alone", value), TODAY).fields["alone"] is expected


@pytest.mark.parametrize("value,expected", [(60, 60), (130, 130), ("  99 ", 99), (75.0, 75), ("1e2", 100)])
def test_number_bounds_inclusive(item: ServiceItem, value: Any, expected: int) -> None:
    assert validate_submission(item, with_("fields.age", value), TODAY).fields["age"] == expected


def test_minority_name_with_middle_dot(item: ServiceItem) -> None:
    sub = validate_submission(item, with_("applicant.name", "买买提•艾力"), TODAY)
    assert sub.applicant.name == "买买提·艾力"


def test_waived_material_with_commitment(item: ServiceItem) -> None:
    data = valid()
    data["materials"].update(photo="waived", hukou_book="waived")
    data["commitment"] = {"signed": True, "signer": "王秀英", "due_date": "2026-03-20",
                          "due_dates": {"hukou_book": "2026-05-01"}}  # 60 days after TODAY
    sub = validate_submission(item, data, TODAY)
    assert dict(sub.waived) == {"photo": "2026-03-20", "hukou_book": "2026-05-01"}
    assert sub.commitment_signer == "王秀英"
    assert sub.materials["photo"] == "waived"


def test_submission_is_frozen_and_serialisable(item: ServiceItem) -> None:
    sub = validate_submission(item, valid(), TODAY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sub.item_code = "X"  # type: ignore[misc]
    with pytest.raises(TypeError):
        sub.fields["age"] = 1  # type: ignore[index]
    d = json.loads(json.dumps(sub.to_dict(), ensure_ascii=False))
    assert d["applicant"]["birth_date"] == "1949-12-31"
    assert d["fields"]["age"] == 76 and d["item_version"] == 3


def test_shipped_item_end_to_end(tmp_path: Path) -> None:
    gljt = load_catalog(cache_dir=tmp_path).get("MZ-GLJT-001")
    born_1944 = "11010519440115002" + iso7064_mod11_2("11010519440115002")  # 82 on TODAY
    data = {
        "applicant": {"name": "张三", "id_number": born_1944, "phone": "13812345678", "address": "某村", "relationship": "本人"},
        "fields": {"age": 82, "living_arrangement": "独居", "receives_other_allowance": "否",
                   "bank_account": CARD, "bank_name": "农商银行"},
        "materials": {"id_card": "received", "hukou_book": "waived", "bank_card": "received",
                      "photo": "received", "application_form": "received"},
        "commitment": {"signed": True, "signer": "张三", "due_date": "2026-03-10"},
        "item_code": "MZ-GLJT-001", "item_version": 2,
    }
    sub = validate_submission(gljt, data, TODAY)
    assert sub.waived == {"hukou_book": "2026-03-10"} and sub.age == 82
    data["fields"]["age"] = 79  # the ID says 82: the typed age must agree with it
    assert problems_of(gljt, data) == [("fields.age", "id_mismatch")]


# --- each rule refused ------------------------------------------------------------------------

@pytest.mark.parametrize("path,value,field,code", [
    ("applicant.name", "王", "applicant.name", "too_short"),
    ("applicant.name", "王" * 51, "applicant.name", "too_long"),
    ("applicant.name", "Wang Li", "applicant.name", "invalid_name"),
    ("applicant.name", "·买买提", "applicant.name", "invalid_name"),
    ("applicant.name", ..., "applicant.name", "required"),
    ("applicant.id_number", "110105194912310021", "applicant.id_number", "id_check_digit"),
    ("applicant.id_number", "12345", "applicant.id_number", "id_length"),
    ("applicant.id_number", "", "applicant.id_number", "required"),
    ("applicant.phone", "1381234567", "applicant.phone", "phone_format"),
    ("applicant.phone", ..., "applicant.phone", "required"),
    ("applicant.address", "  ", "applicant.address", "required"),
    ("applicant.address", "村" * 201, "applicant.address", "too_long"),
    ("applicant.relationship", ..., "applicant.relationship", "required"),
    ("applicant.nickname", "小王", "applicant.nickname", "unknown_field"),
    ("fields.colour", "红", "fields.colour", "unknown_field"),
    ("fields.story", ..., "fields.story", "required"),
    ("fields.kind", "", "fields.kind", "required"),
    ("fields.age", "七十", "fields.age", "invalid_number"),
    ("fields.age", True, "fields.age", "invalid_number"),
    ("fields.age", "NaN", "fields.age", "invalid_number"),
    ("fields.age", 70.5, "fields.age", "invalid_number"),
    ("fields.age", 59, "fields.age", "out_of_range"),
    ("fields.age", "131", "fields.age", "out_of_range"),
    ("fields.area", "1.234", "fields.area", "invalid_number"),
    ("fields.area", -1, "fields.area", "out_of_range"),
    ("fields.event_date", "2024/01/01", "fields.event_date", "invalid_date"),
    ("fields.event_date", "2023-02-29", "fields.event_date", "invalid_date"),
    ("fields.event_date", "2026-03-03", "fields.event_date", "out_of_range"),
    ("fields.event_date", "2019-12-31", "fields.event_date", "out_of_range"),
    ("fields.visit_date", "2026-03-01", "fields.visit_date", "out_of_range"),
    ("fields.kind", "丙类", "fields.kind", "invalid_choice"),
    ("fields.alone", "也许", "fields.alone", "invalid_yesno"),
    ("fields.alone", 1, "fields.alone", "invalid_yesno"),
    ("fields.spouse_id", "110105194912310021", "fields.spouse_id", "id_check_digit"),
    ("fields.spouse_phone", "12345", "fields.spouse_phone", "phone_format"),
    ("fields.account", CARD[:-1] + str((int(CARD[-1]) + 1) % 10), "fields.account", "card_check_digit"),
    ("fields.coop_code", CREDIT[:-1] + "4", "fields.coop_code", "credit_check_char"),
    ("fields.note", "一二三四五六七八九十一", "fields.note", "too_long"),
    ("fields.story", "字" * 1001, "fields.story", "too_long"),
    ("fields.story", 42, "fields.story", "invalid_type"),
    ("materials.id_card", ..., "materials.id_card", "material_missing"),
    ("materials.photo", "missing", "materials.photo", "material_missing"),
    ("materials.id_card", "lost", "materials.id_card", "invalid_status"),
    ("materials.deed", "received", "materials.deed", "unknown_material"),
    ("item_version", 2, "item_version", "version_mismatch"),
    ("item_code", "MZ-GLJT-001", "item_code", "item_mismatch"),
    ("extra", 1, "extra", "unknown_field"),
])
def test_rule_refused(item: ServiceItem, path: str, value: Any, field: str, code: str) -> None:
    assert problems_of(item, with_(path, value)) == [(field, code)]


def test_relationship_optional_when_item_does_not_ask(item: ServiceItem) -> None:
    other = dataclasses.replace(item, agent_relationship=False)
    assert validate_submission(other, with_("applicant.relationship", ...), TODAY).applicant.relationship == ""


def test_missing_material_message_mentions_waiver_only_when_allowed(item: ServiceItem) -> None:
    data = valid()
    data["materials"] = {}
    with pytest.raises(StationError) as exc:
        validate_submission(item, data, TODAY)
    by_field = {p.field: p for p in exc.value.problems}
    assert set(by_field) == {"materials.id_card", "materials.application_form", "materials.photo",
                             "materials.hukou_book"}
    assert "容缺" in by_field["materials.photo"].message and "可容缺" in by_field["materials.photo"].message
    assert "不可容缺" in by_field["materials.id_card"].message


def test_not_waivable(item: ServiceItem) -> None:
    data = valid()
    data["materials"]["id_card"] = "waived"
    data["materials"]["income_proof"] = "waived"  # optional but not waivable either
    data["commitment"] = {"signed": True, "signer": "王秀英", "due_date": "2026-03-10"}
    assert problems_of(item, data) == [("materials.id_card", "not_waivable"),
                                       ("materials.income_proof", "not_waivable")]


def test_waiver_needs_a_signed_commitment(item: ServiceItem) -> None:
    data = valid()
    data["materials"]["photo"] = "waived"
    assert problems_of(item, data) == [("commitment.signed", "commitment_required"),
                                       ("commitment.signer", "commitment_required"),
                                       ("commitment.due_date", "commitment_required")]
    data["commitment"] = {"signed": "yes", "signer": "王秀英", "due_date": "2026-03-10"}
    assert problems_of(item, data) == [("commitment.signed", "commitment_required")]


@pytest.mark.parametrize("due", ["2026-03-02", "2026-03-01", "2026-05-02", "2026-02-30", "下周一", 20260310])
def test_invalid_due_dates(item: ServiceItem, due: Any) -> None:
    data = valid()
    data["materials"]["photo"] = "waived"
    data["commitment"] = {"signed": True, "signer": "王秀英", "due_date": due}
    assert problems_of(item, data) == [("commitment.due_date", "invalid_due_date")]


def test_per_material_due_dates(item: ServiceItem) -> None:
    data = valid()
    data["materials"].update(photo="waived", hukou_book="waived")
    # photo has its own (bad) date; hukou_book falls back to the general (missing) one
    data["commitment"] = {"signed": True, "signer": "王秀英",
                          "due_dates": {"photo": "2026-06-01", "id_card": "2026-03-10", "deed": "2026-03-10"}}
    assert sorted(problems_of(item, data)) == sorted([
        ("commitment.due_dates.id_card", "not_waived"),
        ("commitment.due_dates.deed", "unknown_material"),
        ("commitment.due_dates.photo", "invalid_due_date"),
        ("commitment.due_date", "commitment_required"),
    ])


def test_shared_due_date_reported_once(item: ServiceItem) -> None:
    data = valid()
    data["materials"].update(photo="waived", hukou_book="waived")
    data["commitment"] = {"signed": True, "signer": "王秀英", "due_date": "2025-01-01"}
    assert problems_of(item, data) == [("commitment.due_date", "invalid_due_date")]


def test_too_large(item: ServiceItem) -> None:
    data = valid()
    data["fields"]["story"] = "x" * MAX_SUBMISSION_BYTES
    assert problems_of(item, data) == [("", "too_large")]
    # just under the bound is judged on its content, not refused as too large
    data["fields"]["story"] = "x" * 60_000
    assert problems_of(item, data) == [("fields.story", "too_long")]


def test_not_json_or_wrong_shapes(item: ServiceItem) -> None:
    assert problems_of(item, {"applicant": {"name": object()}}) == [("", "invalid_type")]
    assert problems_of(item, ["not", "a", "mapping"]) == [("", "invalid_type")]  # type: ignore[arg-type]
    data = valid()
    data["fields"] = ["age", 70]
    found = problems_of(item, data)
    assert ("fields", "invalid_type") in found
    assert ("fields.story", "required") in found


def test_every_problem_reported_at_once(item: ServiceItem) -> None:
    data = {
        "applicant": {"name": "A", "id_number": "110105194912310021", "phone": "123", "address": ""},
        "fields": {"age": "old", "kind": "丙类", "unknown": 1, "event_date": "2027-01-01"},
        "materials": {"id_card": "waived", "photo": "waived"},
        "commitment": {"signed": False, "due_date": "2026-12-31"},
    }
    found = problems_of(item, data)
    assert found == [
        ("applicant.name", "too_short"),
        ("applicant.id_number", "id_check_digit"),
        ("applicant.phone", "phone_format"),
        ("applicant.address", "required"),
        ("applicant.relationship", "required"),
        ("fields.unknown", "unknown_field"),
        ("fields.story", "required"),
        ("fields.age", "invalid_number"),
        ("fields.event_date", "out_of_range"),
        ("fields.kind", "invalid_choice"),
        ("fields.alone", "required"),
        ("materials.id_card", "not_waivable"),
        ("materials.application_form", "material_missing"),
        ("materials.hukou_book", "material_missing"),
        ("commitment.signed", "commitment_required"),
        ("commitment.signer", "commitment_required"),
        ("commitment.due_date", "invalid_due_date"),
    ]


def test_input_is_not_modified(item: ServiceItem) -> None:
    data = valid()
    before = copy.deepcopy(data)
    validate_submission(item, data, TODAY)
    assert data == before


def test_emoji_and_control_characters_are_refused_in_text_but_rare_characters_are_not(catalog) -> None:
    """开户银行 "农商银行😊" was accepted (issue 15): emoji, joiners and control characters are refused in
    every text field, with the field named; 生僻字 beyond the BMP (𠮷) are letters and pass."""
    from forms.problems import StationError

    item = next(i for i in catalog.items if any(f.type == "text" for f in i.fields))
    text_field = next(f for f in item.fields if f.type == "text")
    base = make_submission(item, random.Random(4), date(2026, 9, 21))
    for bad in ("农商银行😊", "农商\u200d银行", "三组\x07号"):
        data = {**base, "fields": {**base["fields"], text_field.key: bad}}
        with pytest.raises(StationError) as err:
            validate_submission(item, data, date(2026, 9, 21))
        (problem,) = [p for p in err.value.problems if p.field == f"fields.{text_field.key}"]
        assert problem.code == "odd_characters" and text_field.label in problem.message
    data = {**base, "applicant": {**base["applicant"], "address": "示范村三组🏠12号"}}
    with pytest.raises(StationError) as err:
        validate_submission(item, data, date(2026, 9, 21))
    assert any(p.field == "applicant.address" and p.code == "odd_characters" for p in err.value.problems)
    rare = {**base, "fields": {**base["fields"], text_field.key: "吉𠮷村合作社"}}
    validate_submission(item, rare, date(2026, 9, 21))
