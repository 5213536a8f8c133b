"""告知件 through the real CLI and store (issue 14): an application that cannot be taken gets a numbered
一次性告知书 listing every missing material and unmet condition at once (PDF read back with
pdftotext), and becomes a case in one action when the citizen returns."""

from __future__ import annotations

import json
import random
import subprocess
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from forms.catalog import load_catalog
from forms.identity import iso7064_mod11_2
from station.cli import main
from station.sample_data import make_submission
from station.testing import TEST_ADMIN, TEST_PASSWORD, cli_login_env

NO_LOGIN = {"STATION_OPERATOR": None, "STATION_PASSWORD": None}
GLJT = "MZ-GLJT-001"


def run_json(*args: str, input: str | None = None, env: dict | None = None) -> tuple[int, dict]:
    result = CliRunner().invoke(main, [*args, "--json"], input=input, env=cli_login_env() if env is None else env)
    return result.exit_code, json.loads(result.stdout)


def pdf_text(path: Path) -> str:
    # -raw: in drawing order, so a table cell's wrapped lines stay together (the physical order
    # interleaves them with the next cells' lines)
    out = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return "".join(out.split())


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "station"
    code, _ = run_json("init", "--home", str(h), "--division-code", "421381105201", "--name", "东岭村便民服务站",
                       "--admin", TEST_ADMIN, "--password-stdin", input=TEST_PASSWORD + "\n", env=NO_LOGIN)
    assert code == 0
    return h


def _id_aged(years: int) -> str:
    born = date(date.today().year - years - 1, 12, 31) if date.today() < date(date.today().year, 12, 31) else \
        date(date.today().year - years, 1, 1)
    first17 = f"421381{born:%Y%m%d}002"
    return first17 + iso7064_mod11_2(first17)


def _gljt_data(tmp_path: Path, age: int, materials: dict[str, str], name: str = "data.json") -> Path:
    item = load_catalog(use_cache=False).get(GLJT)
    data = make_submission(item, random.Random(4), date.today(), id_number=_id_aged(age))
    data["fields"]["age"] = age
    data["materials"] = materials
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_the_inform_pdf_lists_every_missing_material_and_unmet_condition(home: Path, tmp_path: Path) -> None:
    data = _gljt_data(tmp_path, 75, {"id_card": "received"})
    out = tmp_path / "告知书.pdf"
    code, doc = run_json("case", "inform", "--home", str(home), "--item", GLJT, "--data", str(data),
                         "--out", str(out))
    assert code == 0, doc
    number = doc["consultation_number"]
    assert number.startswith("421381105201-") and "-G001" in number
    kinds = [r["kind"] for r in doc["reasons"]]
    assert kinds.count("material") == 4 and "condition" in kinds
    text = pdf_text(out)
    assert "一次性告知书" in text and number in text
    for material in ("户口簿", "本人银行卡（存折）或社会保障卡复印件", "近期一寸免冠彩色照片", "高龄津贴申请审批表"):
        assert material in text, material
    assert "现年75周岁" in text and "80周岁及以上" in text
    assert "不会再要求您补充其他材料" in text and "行政许可法" in text and "第三十二条" in text
    assert "老年人权益保障法" in text                      # the item's legal basis
    assert "缺，不能容缺，须带来" in text                  # the application form cannot be waived
    assert "原件（核验后退还）" in text                    # the ID card is checked and handed back
    assert "不是受理凭证" in text
    code, listed = run_json("case", "consultations", "--home", str(home))
    assert listed["count"] == 1 and listed["consultations"][0]["converted_case"] is None


def test_a_complete_application_needs_no_inform_and_a_wrong_place_names_where_to_apply(home: Path,
                                                                                        tmp_path: Path) -> None:
    complete = _gljt_data(tmp_path, 85, {k: "received" for k in ("id_card", "hukou_book", "bank_card", "photo",
                                                                   "application_form")})
    code, err = run_json("case", "inform", "--home", str(home), "--item", GLJT, "--data", str(complete))
    assert code != 0 and err["error"]["code"] == "nothing_to_inform"
    out = tmp_path / "jurisdiction.pdf"
    code, doc = run_json("case", "inform", "--home", str(home), "--item", GLJT, "--data", str(complete),
                         "--apply-to", "西河镇便民服务中心", "--out", str(out))
    assert code == 0 and doc["reasons"][0]["kind"] == "jurisdiction"
    assert "请到西河镇便民服务中心申请" in pdf_text(out)


def test_the_citizen_returns_and_the_inform_becomes_a_case_in_one_action(home: Path, tmp_path: Path) -> None:
    data = _gljt_data(tmp_path, 85, {"id_card": "received", "bank_card": "received", "photo": "received"})
    code, doc = run_json("case", "inform", "--home", str(home), "--item", GLJT, "--data", str(data))
    assert code == 0
    number = doc["consultation_number"]
    code, filed = run_json("case", "convert", "--home", str(home), number)
    assert code == 0, filed
    assert filed["consultation_number"] == number and filed["missing_materials"] == []
    code, shown = run_json("case", "show", "--home", str(home), filed["case_number"])
    assert shown["legal"]["consultation"] == number
    assert {m["key"]: m["status"] for m in shown["materials"]}["application_form"] == "received"
    code, listed = run_json("case", "consultations", "--home", str(home))
    assert listed["consultations"][0]["converted_case"] == filed["case_number"]
    code, err = run_json("case", "convert", "--home", str(home), number)
    assert code != 0 and err["error"]["code"] == "already_converted"
    # reprint of the paper, and the store checks clean (rebuild folds the same)
    code, printed = run_json("print", "inform", "--home", str(home), number)
    assert code == 0 and printed["reprint_count"] == 1
    code, report = run_json("db", "check", "--home", str(home))
    assert code == 0 and report["ok"], report


@pytest.mark.parametrize("name", ["\u202e王五", "😀😀", "王\u200b五", "Wang Wu", "王"])
def test_an_inform_names_its_applicant_by_the_filing_name_rule(home: Path, tmp_path: Path, name: str) -> None:
    """A 告知件 is a document naming a citizen: a pasted RTL override, emoji, zero-width characters or
    Latin letters are refused as they are at filing, not printed (nor listed as one more 'reason')."""
    data = _gljt_data(tmp_path, 75, {"id_card": "received"})
    raw = json.loads(data.read_text(encoding="utf-8"))
    raw["applicant"]["name"] = name
    data.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    code, err = run_json("case", "inform", "--home", str(home), "--item", GLJT, "--data", str(data))
    assert code != 0 and err["error"]["code"] == "bad_name", err
    assert err["error"]["problems"][0]["field"] == "applicant.name"
    raw["applicant"]["name"] = "艾力·买买提"  # a minority name with its dot is a name
    data.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    code, doc = run_json("case", "inform", "--home", str(home), "--item", GLJT, "--data", str(data))
    assert code == 0, doc
