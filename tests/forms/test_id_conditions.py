"""What the ID number decides: age and sex computed from it, checked against the item's conditions,
with a province's override (Shaanxi pays 高龄津贴 from 70); and the catalog keys that carry the law
(basis, deciding body, forward bodies, 四办 labels, originals returned or kept)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from forms.catalog import load_catalog
from forms.engine import check_submission, validate_submission
from forms.identity import iso7064_mod11_2
from forms.problems import StationError
from forms.schema import age_on, form_label, resolve_body

TODAY = date(2026, 9, 21)
CARD = "6217001234567890122"


def _id(birth: str, seq: str = "002") -> str:
    first17 = f"421381{birth}{seq}"
    return first17 + iso7064_mod11_2(first17)


def _gljt_data(id_number: str, age: int) -> dict:
    return {"applicant": {"name": "李桂兰", "id_number": id_number, "phone": "13812345678", "address": "东岭村一组",
                          "relationship": "本人"},
            "fields": {"age": age, "living_arrangement": "独居", "receives_other_allowance": "否",
                       "bank_account": CARD, "bank_name": "农商银行"},
            "materials": {k: "received" for k in ("id_card", "hukou_book", "bank_card", "photo", "application_form")}}


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory):
    cat = load_catalog(cache_dir=tmp_path_factory.mktemp("cache"))
    assert not cat.issues
    return cat


def test_age_is_counted_in_whole_years_on_the_day() -> None:
    assert age_on(date(1945, 9, 21), TODAY) == 81
    assert age_on(date(1945, 9, 22), TODAY) == 80
    assert age_on(date(1948, 2, 29), date(2026, 2, 28)) == 77
    assert age_on(date(1948, 2, 29), date(2026, 3, 1)) == 78


def test_a_95_for_an_81_year_old_is_refused(catalog) -> None:
    gljt = catalog.get("MZ-GLJT-001")
    data = _gljt_data(_id("19450101"), 95)
    with pytest.raises(StationError) as err:
        validate_submission(gljt, data, TODAY)
    assert [(p.field, p.code) for p in err.value.problems] == [("fields.age", "id_mismatch")]
    assert "应为81" in err.value.problems[0].message
    data["fields"]["age"] = 81
    assert validate_submission(gljt, data, TODAY).age == 81


def test_a_75_year_old_does_not_meet_the_age_condition_but_does_in_shaanxi(catalog) -> None:
    gljt = catalog.get("MZ-GLJT-001")
    data = _gljt_data(_id("19510301"), 75)
    result = check_submission(gljt, data, TODAY)
    assert not result.ok and result.age == 75 and result.sex == "女"
    assert [(p.field, p.code) for p in result.problems] == [("applicant.id_number", "condition_not_met")]
    assert "现年75周岁" in result.problems[0].message and "80周岁及以上" in result.problems[0].message
    shaanxi = catalog.for_division("610102001001").get("MZ-GLJT-001")
    assert shaanxi.conditions.age_min == 70 and shaanxi.field("age").min == 70
    assert validate_submission(shaanxi, data, TODAY).age == 75
    assert any("陕西" in b for b in shaanxi.legal_basis)
    # a 65-year-old is under Shaanxi's 70 too
    assert [p.code for p in check_submission(shaanxi, _gljt_data(_id("19610301"), 65), TODAY).problems] == [
        "condition_not_met"]
    # other provinces keep the national text
    assert catalog.for_division("421381105201").get("MZ-GLJT-001").conditions.age_min == 80


def test_the_facts_are_read_even_when_the_application_is_refused(catalog) -> None:
    gljt = catalog.get("MZ-GLJT-001")
    data = _gljt_data(_id("19400101"), 86)
    data["materials"] = {"id_card": "received"}
    result = check_submission(gljt, data, TODAY)
    assert (result.applicant_name, result.age, result.id_number) == ("李桂兰", 86, _id("19400101"))
    assert {p.field for p in result.problems} == {"materials.hukou_book", "materials.bank_card", "materials.photo",
                                                  "materials.application_form"}


def test_channel_and_assist_are_checked(catalog) -> None:
    gljt = catalog.get("MZ-GLJT-001")
    data = _gljt_data(_id("19400101"), 86)
    data["service"] = {"channel": "上门", "assist": "代办"}
    sub = validate_submission(gljt, data, TODAY)
    assert (sub.channel, sub.assist) == ("上门", "代办")
    data["service"] = {"channel": "微信", "assist": "跑腿", "who": "x"}
    result = check_submission(gljt, data, TODAY)
    assert {(p.field, p.code) for p in result.problems} == {
        ("service.channel", "invalid_choice"), ("service.assist", "invalid_choice"), ("service.who", "unknown_field")}


def test_every_shipped_item_cites_its_basis_and_names_bodies(catalog) -> None:
    for item in catalog.items:
        assert item.legal_basis and all(b.strip() for b in item.legal_basis), item.code
        # a body, never a person: every name ends as an institution does
        assert re.search(r"(局|人民政府|联合会|中心|委员会|机构|司法所)$", item.authority.decides), item.code
        assert set(item.labels) <= {"马上办", "网上办", "就近办", "一次办"}
        for f in item.forward:
            assert f.limit.amount > 0 and f.body
    assert catalog.get("SF-RMTJ-001").item_type == "公共服务" and not catalog.get("SF-RMTJ-001").is_administrative_act
    assert catalog.get("MZ-ZDSHBZ-001").authority.decides == "{county}民政局"
    assert catalog.get("CL-CJRZ-001").authority.decides == "{county}残疾人联合会"
    assert resolve_body("{county}民政局", {"county": "广水市"}) == "广水市民政局"
    assert resolve_body("{township}人民政府", {}) == "乡（镇）人民政府"


def test_originals_are_returned_or_kept_by_what_they_are(catalog) -> None:
    gljt = catalog.get("MZ-GLJT-001")
    assert gljt.material("id_card").form_label == "原件（核验后退还）及复印件（留存）"
    assert gljt.material("application_form").form_label == "原件（留存）"
    assert gljt.material("bank_card").form_label == "复印件（留存）"
    assert form_label("原件", "户口簿") == "原件（核验后退还）"
    assert form_label("原件", "户口簿", keep_original=True) == "原件（留存）"


BAD = """\
legal_basis = []
authority = { decides = "{city}民政局", boss = "张三" }
code = "MZ-BAD-001"
name = "坏事项"
department = "民政"
item_type = "行政给付"
handling_level = "township"
case_kind = "承诺件"
version = 1
promised_limit = { amount = 5, unit = "工作日" }
statutory_limit = { amount = 10, unit = "工作日" }
posting_days = 0
fee = "不收费"
agent_relationship = false
labels = ["快点办"]
forward = [{ body = "{county}民政局" }]

[[fields]]
key = "age"
label = "年龄"
type = "text"
from_id = "age"

[[materials]]
key = "id_card"
name = "居民身份证"
form = "复印件"
required = true
waivable = false
keep_original = true

[province.6]
conditions = { age_min = 70 }

[province.61.fields.nope]
min = 1
"""


def test_the_new_catalog_keys_are_checked(tmp_path: Path) -> None:
    d = tmp_path / "cat"
    d.mkdir()
    (d / "bad.toml").write_text(BAD, encoding="utf-8")
    keys = {i.key for i in load_catalog(d, use_cache=False).issues}
    assert {"legal_basis", "authority.decides", "authority.boss", "labels", "forward[0].limit",
            "fields.age.from_id", "materials.id_card.keep_original", "province.6",
            "province.61.fields.nope"} <= keys
