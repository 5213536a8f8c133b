"""The `station` command as scripts use it: --home, --json, JSON errors, exit codes."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from forms.catalog import load_catalog
from station.cli import main
from station.sample_data import make_submission
from station.testing import TEST_ADMIN, TEST_PASSWORD, cli_login_env

STATION = [sys.executable, "-m", "station"]
NO_LOGIN = {"STATION_OPERATOR": None, "STATION_PASSWORD": None}


def run(*args: str, input: str | None = None, env: dict | None = None) -> tuple[int, str, str]:
    """A `station` command as a script runs it: logged in as the home's administrator unless ``env``
    says otherwise (a value of None unsets that variable)."""
    result = CliRunner().invoke(main, list(args), input=input, env=cli_login_env() if env is None else env)
    return result.exit_code, result.stdout, result.stderr


def run_json(*args: str, input: str | None = None, env: dict | None = None) -> tuple[int, dict]:
    code, out, _ = run(*args, "--json", input=input, env=env)
    return code, json.loads(out)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "station"
    code, data = run_json("init", "--home", str(h), "--division-code", "421381105201", "--name", "测试村服务站",
                          "--admin", TEST_ADMIN, "--password-stdin", input=TEST_PASSWORD + "\n", env=NO_LOGIN)
    assert code == 0 and data["station_id"] == "421381105201" and data["admin"] == TEST_ADMIN
    return h


def _data_file(tmp_path: Path, item_code: str, **kw) -> Path:
    item = load_catalog(use_cache=False).get(item_code)
    data = make_submission(item, random.Random(3), date.today(), **kw)
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_catalog_contract() -> None:
    code, data = run_json("catalog", "list")
    assert code == 0 and len(data["items"]) >= 24 and data["issues"] == []
    code, item = run_json("catalog", "show", data["items"][0]["code"])
    assert code == 0
    for key in ("code", "name", "version", "fields", "materials"):
        assert key in item
    for f in item["fields"]:
        assert {"key", "label", "type", "required"} <= set(f)
        if f["type"] == "choice":
            assert f["options"]
        if f["type"] == "number":
            assert "min" in f and "max" in f
    for m in item["materials"]:
        assert {"key", "name", "required", "waivable"} <= set(m)
    code, err = run_json("catalog", "show", "NOPE")
    assert code != 0 and err["error"]["code"] == "unknown_item" and err["error"]["message"]


def test_file_list_show_round_trip(home: Path, tmp_path: Path) -> None:
    item_code = load_catalog(use_cache=False).search("gljt")[0].code
    data_file = _data_file(tmp_path, item_code)
    code, filed = run_json("case", "file", "--home", str(home), "--item", item_code, "--data", str(data_file))
    assert code == 0, filed
    number = filed["case_number"]
    assert len(filed["query_password"]) == 6
    name = json.loads(data_file.read_text())["applicant"]["name"]
    code, listed = run_json("case", "list", "--home", str(home), "--search", name)
    assert [c["case_number"] for c in listed["cases"]] == [number]
    code, shown = run_json("case", "show", number, "--home", str(home))
    assert code == 0 and shown["case_number"] == number
    assert "*" in shown["applicant"]["id_number"]
    assert shown["materials"] and shown["timeline"][0]["type"] == "case.filed"
    assert "promised_due" in shown
    code, listed = run_json("case", "list", "--home", str(home), "--status", "received")
    assert listed["count"] == 1
    code, listed = run_json("case", "list", "--home", str(home), "--overdue")
    assert listed["count"] == 0


def test_errors_are_json_with_problems_and_nothing_is_saved(home: Path, tmp_path: Path) -> None:
    item_code = load_catalog(use_cache=False).search("gljt")[0].code
    data_file = _data_file(tmp_path, item_code)
    data = json.loads(data_file.read_text())
    data["applicant"]["id_number"] = "110105194912310021"
    data["materials"]["id_card"] = "waived"
    data_file.write_text(json.dumps(data, ensure_ascii=False))
    code, err = run_json("case", "file", "--home", str(home), "--item", item_code, "--data", str(data_file))
    assert code == 1
    fields = {p["field"] for p in err["error"]["problems"]}
    assert {"applicant.id_number", "materials.id_card"} <= fields
    assert all(p["code"] and p["message"] for p in err["error"]["problems"])
    code, listed = run_json("case", "list", "--home", str(home))
    assert listed["count"] == 0
    data_file.write_text("{not json")
    code, err = run_json("case", "file", "--home", str(home), "--item", item_code, "--data", str(data_file))
    assert code == 1 and err["error"]["code"] == "bad_data_file"


def test_text_errors_are_one_chinese_line_without_traceback(tmp_path: Path) -> None:
    code, out, err = run("case", "list", "--home", str(tmp_path / "nowhere"), env=NO_LOGIN)
    assert code == 1 and "不是服务站目录" in err and "Traceback" not in err


def test_init_refuses_existing_home(home: Path) -> None:
    code, err = run_json("init", "--home", str(home), "--division-code", "421381105202", "--name", "x")
    assert code == 1 and err["error"]["code"] == "home_exists"


def test_operator_add_with_password_stdin_and_operator_option(home: Path, tmp_path: Path) -> None:
    """The administrator logs in from STATION_PASSWORD; --password-stdin carries the new password."""
    code, data = run_json("operator", "add", "--home", str(home), "--name", "王小红", "--role", "agent",
                          "--password-stdin", input="secret123\n")
    assert code == 0 and data == {"name": "王小红", "role": "agent"}
    item_code = load_catalog(use_cache=False).search("sbkqy")[0].code
    data_file = _data_file(tmp_path, item_code)
    code, filed = run_json("case", "file", "--home", str(home), "--item", item_code, "--data", str(data_file),
                           "--operator", "王小红", "--password-stdin", input="secret123\n", env=NO_LOGIN)
    assert code == 0, filed
    code, shown = run_json("case", "show", filed["case_number"], "--home", str(home))
    assert shown["operator"] == "王小红"
    code, err = run_json("case", "file", "--home", str(home), "--item", item_code, "--data", str(data_file),
                         "--operator", "不存在", "--password-stdin", input="secret123\n", env=NO_LOGIN)
    assert code == 1 and err["error"]["code"] == "login_failed"


def test_db_check_and_rebuild_exit_codes(home: Path) -> None:
    code, report = run_json("db", "check", "--home", str(home))
    assert code == 0 and report["ok"]
    code, rebuilt = run_json("db", "rebuild", "--home", str(home))
    assert code == 0 and rebuilt["events"] >= 1
    import sqlite3
    conn = sqlite3.connect(home / "station.db")
    conn.execute("UPDATE events SET operator='x'")
    conn.commit()
    conn.close()
    code, report = run_json("db", "check", "--home", str(home))
    assert code == 3 and not report["ok"]


def test_demo_and_env_home_through_the_real_console_script(tmp_path: Path) -> None:
    env = {**os.environ, "STATION_HOME": str(tmp_path / "demo"), **cli_login_env("李建国", "admin1234")}
    out = subprocess.run([*STATION, "demo", "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["cases"] >= 30
    listed = subprocess.run([*STATION, "case", "list", "--json", "--limit", "100"], env=env, capture_output=True,
                            text=True, timeout=60)
    cases = json.loads(listed.stdout)["cases"]
    assert len({c["status"] for c in cases}) >= 5  # varied states
    check = subprocess.run([*STATION, "db", "check"], env=env, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr


def test_a_second_open_case_for_the_same_person_and_item_needs_a_reason(home: Path, tmp_path: Path) -> None:
    """Duplicates are caught at the counter (issue 15): `case file` refuses with possible_duplicate
    naming the open case, and files with --duplicate-reason, which the case records."""
    item_code = load_catalog(use_cache=False).search("gljt")[0].code
    data_file = _data_file(tmp_path, item_code)
    code, first = run_json("case", "file", "--home", str(home), "--item", item_code, "--data", str(data_file))
    assert code == 0
    code, err = run_json("case", "file", "--home", str(home), "--item", item_code, "--data", str(data_file))
    assert code == 1 and err["error"]["code"] == "possible_duplicate"
    assert err["error"]["candidates"] == [first["case_number"]] and first["case_number"] in err["error"]["message"]
    code, listed = run_json("case", "list", "--home", str(home))
    assert listed["count"] == 1  # nothing filed by the refusal
    code, second = run_json("case", "file", "--home", str(home), "--item", item_code, "--data", str(data_file),
                            "--duplicate-reason", "上次材料寄丢，重新申请")
    assert code == 0 and second["case_number"] != first["case_number"]
    code, shown = run_json("case", "show", second["case_number"], "--home", str(home))
    assert "上次材料寄丢" in shown["timeline"][0]["detail"] and first["case_number"] in shown["timeline"][0]["detail"]
    # once the first is withdrawn, the person may apply again without a reason
    code, _ = run_json("case", "withdraw", first["case_number"], "--reason", "申请人撤回", "--home", str(home))
    code, _ = run_json("case", "withdraw", second["case_number"], "--reason", "申请人撤回", "--home", str(home))
    code, third = run_json("case", "file", "--home", str(home), "--item", item_code, "--data", str(data_file))
    assert code == 0


def test_review_decide_refuses_a_correction_deadline_beyond_the_bound(home: Path, tmp_path: Path) -> None:
    from station.clock_check import today as station_today
    from station.lifecycle import MAX_CORRECTION_WORKING_DAYS
    from station.projections import calendar_for
    from station.store import Store

    data_file = _data_file(tmp_path, "RS-SBKZX-001")   # 社会保障卡注销: decided at the village
    code, filed = run_json("case", "file", "--home", str(home), "--item", "RS-SBKZX-001", "--data", str(data_file))
    assert code == 0, filed
    number = filed["case_number"]
    args = ("review", "decide", number, "--home", str(home), "--action", "correct", "--reason", "身份证复印件不清晰",
            "--materials", "id_card")
    code, err = run_json(*args, "--due", "2099-12-31")
    assert code != 0 and err["error"]["code"] == "invalid_decision"
    with Store.open(home) as store:
        latest = calendar_for(store.conn).add_working_days(station_today(store), MAX_CORRECTION_WORKING_DAYS).date
    (problem,) = err["error"]["problems"]
    assert (problem["field"], problem["code"]) == ("due_date", "due_date_too_far")
    assert f"最晚 {latest.isoformat()}" in problem["message"]
    code, shown = run_json("case", "show", number, "--home", str(home))
    assert code == 0 and shown["status"] == "received"          # nothing recorded
    code, decided = run_json(*args, "--due", latest.isoformat())
    assert code == 0 and decided["decision"]["due_date"] == latest.isoformat()
    code, stats = run_json("stats", "--home", str(home))
    assert code == 0 and stats["total"]["correction_overdue_now"] == 0   # asked today: not yet past it
    assert {"overdue_now", "forward_overdue_now"} <= set(stats["total"])   # the existing keys stay
    code, out, _ = run("stats", "--home", str(home))
    assert code == 0 and "当前超期 0，" in out and "补正逾期未补 0" in out
