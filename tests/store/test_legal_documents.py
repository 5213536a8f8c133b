"""The papers of the legal record through the real store, read back with pdftotext (issue 14): the
village's 收件回执 (no 受理), the township's 受理通知书 naming the accepting body, refusals that speak
for the right body with its basis, rights only for administrative acts, seal lines only for a body
with a seal, no 受理时间 on a 不予受理, the 申请表, the 容缺承诺书 and the 评价卡."""

from __future__ import annotations

import random
import re
import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest

from forms.problems import StationError
from station.cases import CaseReader, deliver, file_case
from station.home import update_config
from station.operators import add_operator, os_account
from station.printing import documents_for, print_case_document
from station.review import Decision, decide
from station.sample_data import make_submission
from station.setup import init_station
from station.store import Store
from tests.support import TOWNSHIP, VILLAGE, FixedClock, ship


def text_of(path: Path) -> str:
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"\s+", "", out)


@pytest.fixture
def world(tmp_path: Path, catalog):
    clock = FixedClock(datetime(2026, 9, 28, 9, 0))
    stores = {}
    for key, code, role in (("v", VILLAGE, "village"), ("t", TOWNSHIP, "township")):
        init_station(tmp_path / key, code, "东岭村便民服务站" if key == "v" else "武胜关镇便民服务中心", role, clock=clock)
        update_config(tmp_path / key, county_name="广水市", township_name="武胜关镇", phone="0722-6412345",
                      reconsideration_body="广水市人民政府", court_name="广水市人民法院")
        stores[key] = Store.open(tmp_path / key, clock=clock)
    reviewer = add_operator(stores["t"], "赵审核", "reviewer", "secret123", os_account())
    village_reviewer = add_operator(stores["v"], "孙审核", "reviewer", "secret123", os_account())
    yield stores["v"], stores["t"], clock, reviewer, village_reviewer
    for s in stores.values():
        s.close()


def _file(v: Store, catalog, code: str, seed: int = 1, waive: bool = False) -> str:
    data = make_submission(catalog.get(code), random.Random(seed), v.clock().date(), waive=waive)
    return file_case(v, catalog, code, data, os_account()).number


def _print(store: Store, number: str, kind: str) -> str:
    return text_of(print_case_document(store, number, kind, os_account()).path)


def test_the_village_receives_and_the_township_accepts(world, catalog) -> None:
    v, t, clock, reviewer, _ = world
    n = _file(v, catalog, "MZ-ZDSHBZ-001")
    receipt = _print(v, n, "receipt")
    assert "收件回执" in receipt and "收件时间" in receipt
    assert "受理回执" not in receipt and "受理时间" not in receipt
    assert "广水市民政局" in receipt and "武胜关镇人民政府" in receipt    # decides / accepts: bodies, not persons
    assert "本服务站只负责收件" in receipt and "2026年10月8日（星期四）前把材料送到武胜关镇人民政府" in receipt
    with pytest.raises(StationError) as err:
        print_case_document(v, n, "acceptance", os_account())
    assert err.value.code == "not_applicable"
    ship(v, t)
    clock.set_day(date(2026, 9, 30))
    decide(t, n, Decision("accept"), reviewer)
    ship(t, v)
    notice = _print(v, n, "acceptance")
    assert "受理通知书" in notice and "武胜关镇人民政府已于2026年9月30日受理" in notice
    assert "受理时间" in notice and "由广水市民政局作出决定" in notice and "武胜关镇人民政府（盖章）" in notice
    assert "赵审核" not in notice


def test_a_case_not_told_to_correct_in_five_working_days_gets_a_deemed_acceptance_notice(world, catalog) -> None:
    v, t, clock, reviewer, _ = world
    n = _file(v, catalog, "RS-CBZT-001")
    clock.set_day(date(2026, 10, 12))
    assert "acceptance" in documents_for(CaseReader(v).get(n))
    notice = _print(v, n, "acceptance")
    assert "视为受理" in notice and "自收件之日（2026年9月28日）起视为受理" in notice


def test_refusals_speak_for_the_right_body_with_rights_only_for_administrative_acts(world, catalog) -> None:
    v, t, clock, reviewer, village_reviewer = world
    # 人民调解: a public service decided at the village; its committee seals no refusal
    mediation = _file(v, catalog, "SF-RMTJ-001", seed=2)
    decide(v, mediation, Decision("refuse", reason="一方当事人明确拒绝调解"), village_reviewer)
    text = _print(v, mediation, "refusal")
    assert "不予受理告知书" in text and "一方当事人明确拒绝调解" in text
    assert "行政复议" not in text and "行政诉讼" not in text
    assert "公共服务" in text and "人民调解法》第十七条" in text
    assert "（盖章）" not in text and "决定机关：村人民调解委员会" in text
    assert "受理时间" not in text and "孙审核" not in text
    # 低保: refused by the county 民政局 after the township accepted: rights, basis, the body's seal
    dibao = _file(v, catalog, "MZ-ZDSHBZ-001", seed=3)
    ship(v, t)
    decide(t, dibao, Decision("accept"), reviewer)
    clock.set_day(date(2026, 10, 13))
    decide(t, dibao, Decision("post"), reviewer)
    clock.set_day(date(2026, 10, 21))
    decide(t, dibao, Decision("reject", reason="家庭月人均收入高于当地低保标准"), reviewer)
    ship(t, v)
    text = _print(v, dibao, "refusal")
    assert "不予批准告知书" in text and "经广水市民政局审查" in text
    assert "六十日内向广水市人民政府申请行政复议" in text and "六个月内向广水市人民法院提起行政诉讼" in text
    assert "社会救助暂行办法》第九条至第十三条" in text and "广水市民政局（盖章）" in text
    assert "赵审核" not in text
    # 不予受理 for want of jurisdiction names the body to apply to (行政许可法 §32(1)(2))
    elsewhere = _file(v, catalog, "MZ-ZDSHBZ-001", seed=4)
    ship(v, t)
    decide(t, elsewhere, Decision("refuse", reason="申请人户籍不在本镇", apply_to="西河镇人民政府"), reviewer)
    ship(t, v)
    text = _print(v, elsewhere, "refusal")
    assert "不予受理告知书" in text and "请向西河镇人民政府申请" in text and "第三十二条第一款第二项" in text
    assert "经武胜关镇人民政府审查" in text and "受理时间" not in text and "收件时间" in text


def test_the_result_names_the_body_and_the_posting_and_the_receipt_says_where_the_case_is(world, catalog) -> None:
    v, t, clock, reviewer, _ = world
    n = _file(v, catalog, "MZ-GLJT-001", seed=5)
    ship(v, t)
    decide(t, n, Decision("accept"), reviewer)
    clock.set_day(date(2026, 10, 12))
    decide(t, n, Decision("post"), reviewer)
    clock.set_day(date(2026, 10, 19))
    decide(t, n, Decision("forward", to="民政局"), reviewer)
    ship(t, v)
    reprint = _print(v, n, "receipt")
    assert "办件现在在哪里" in reprint and "已转报广水市民政局办理" in reprint
    assert "已于2026年10月12日至2026年10月17日公示5天" in reprint
    clock.set_day(date(2026, 10, 23))
    decide(t, n, Decision("approve", certificate="广民高龄〔2026〕12号"), reviewer)
    ship(t, v)
    result = _print(v, n, "result")
    assert "决定机关" in result and "广水市民政局" in result and "赵审核" not in result
    assert "公示5天，公示期内无异议" in result
    deliver(v, n, "本人", True, os_account(), trips=1)
    card = print_case_document(v, n, "rating_card", os_account())
    text = text_of(card.path)
    assert "办事评价卡" in text and all(x in text for x in ("非常满意", "满意", "基本满意", "不满意", "非常不满意"))
    assert "代办员不能替您填写或录入" in text


def test_application_form_and_commitment_are_printed_from_the_case(world, catalog) -> None:
    v, t, clock, reviewer, _ = world
    n = _file(v, catalog, "MZ-GLJT-001", seed=6, waive=True)
    case = CaseReader(v).get(n)
    form = _print(v, n, "application")
    assert "高龄津贴申领申请表" in form and case.applicant_name in form
    assert case.reveal_id(v.codec) in form                 # the application goes to the body: ID in full
    assert "周岁年龄" in form and "签名（或按手印）" in form and "真实、有效" in form
    commitment = _print(v, n, "commitment")
    assert "容缺受理承诺书" in commitment
    for m in case.materials:
        if m.status == "waived":
            assert m.name in commitment
    assert "逾期未补交" in commitment and "武胜关镇人民政府" in commitment
    assert "原件（核验后退还）" in _print(v, n, "receipt")    # originals are returned, copies kept
