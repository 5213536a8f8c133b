"""Catalog files, the loader's error reporting, and search."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from forms.catalog import DEFAULT_CATALOG_DIR, PINYIN_CACHE_FILE, Catalog, load_catalog
from forms.schema import CORE_MATERIAL_RE, FIELD_TYPES, ServiceItem
from forms.problems import StationError

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
legal_basis = ["《测试条例》第一条"]
authority = { decides = "{county}民政局" }
code = "MZ-TEST-001"
name = "测试补贴"
department = "民政"
item_type = "行政给付"
handling_level = "village"
case_kind = "即办件"
version = 1
promised_limit = { amount = 5, unit = "工作日" }
statutory_limit = { amount = 10, unit = "工作日" }
posting_days = 0
fee = "不收费"
agent_relationship = false

[[fields]]
key = "age"
label = "年龄"
type = "number"
required = true
min = 0
max = 130

[[materials]]
key = "id_card"
name = "居民身份证"
form = "原件"
required = true
waivable = false
"""


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return load_catalog(cache_dir=tmp_path_factory.mktemp("cache"))


def _catalog_dir(tmp_path: Path, files: dict[str, str]) -> Path:
    d = tmp_path / "catalog"
    d.mkdir()
    for name, text in files.items():
        (d / name).write_text(text, encoding="utf-8")
    return d


def _issues_by_file(cat: Catalog) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for issue in cat.issues:
        out.setdefault(issue.path.name, []).append((issue.key, issue.message))
    return out


# --- shipped catalog --------------------------------------------------------------------------

def test_every_shipped_file_loads_without_issues(catalog: Catalog) -> None:
    assert catalog.issues == ()
    files = sorted(DEFAULT_CATALOG_DIR.glob("*.toml"))
    assert len(catalog.items) == len(files)
    assert len(catalog.items) >= 24


def test_shipped_items_follow_the_conventions(catalog: Catalog) -> None:
    codes = [i.code for i in catalog.items]
    assert codes == sorted(codes)
    assert len(set(codes)) == len(codes)
    types_used: set[str] = set()
    for item in catalog.items:
        assert re.fullmatch(r"[A-Z]{2,4}-[A-Z0-9]{2,12}-\d{3}", item.code), item.code
        assert item.version >= 1
        assert item.promised_limit.unit in ("工作日", "自然日")
        assert item.promised_limit.amount <= item.statutory_limit.amount or \
            item.promised_limit.unit != item.statutory_limit.unit
        assert item.pinyin.isascii() and item.pinyin.islower() and item.initials
        core = [m for m in item.materials if CORE_MATERIAL_RE.search(m.name)]
        assert core, f"{item.code} lists no identity document or application form"
        assert not any(m.waivable for m in core), item.code
        assert any(m.key == "id_card" and m.required and not m.waivable for m in item.materials), item.code
        for f in item.fields:
            types_used.add(f.type)
            assert re.fullmatch(r"[a-z][a-z0-9_]*", f.key)
            if f.type == "choice":
                assert f.options
    # the shipped forms exercise every field type
    assert types_used == set(FIELD_TYPES)


def test_real_time_limits_from_domain_facts(catalog: Catalog) -> None:
    gljt = catalog.get("MZ-GLJT-001")
    assert (gljt.promised_limit.amount, gljt.statutory_limit.amount, gljt.posting_days) == (22, 30, 5)
    assert gljt.promised_limit.unit == "工作日"
    jlfz = catalog.get("WJ-JLFZ-001")
    assert (jlfz.promised_limit.amount, jlfz.statutory_limit.amount) == (15, 20)
    assert catalog.get("MZ-LSJZ-001").promised_limit.amount <= 15
    assert catalog.get("RS-SBKQY-001").promised_limit.amount == 1
    assert catalog.get("MZ-KNCJ-001").posting_days == 7


def test_estimates_are_marked_in_the_files() -> None:
    text = (DEFAULT_CATALOG_DIR / "mz_tekun.toml").read_text(encoding="utf-8")
    assert "# [estimate]" in text
    assert "# [estimate]" not in (DEFAULT_CATALOG_DIR / "mz_gljt.toml").read_text(encoding="utf-8")


def test_every_shipped_item_says_when_it_was_updated(catalog: Catalog) -> None:
    """The home screen's catalog age is the oldest item's ``updated``: an item without one would make the
    age unknown on every station."""
    assert all(item.updated is not None for item in catalog)
    assert catalog.get("MZ-GLJT-001").to_dict()["updated"] == catalog.get("MZ-GLJT-001").updated.isoformat()


def test_pinyin_and_initials(catalog: Catalog) -> None:
    gljt = catalog.get("MZ-GLJT-001")
    assert gljt.pinyin == "gaolingjintieshenling"
    assert gljt.initials == "gljtsl"
    assert gljt.short_initials == "gljt"
    # pypinyin reads 重置 as "zhong zhi"; the file overrides it
    assert catalog.get("RS-SBKMM-001").pinyin.endswith("mimachongzhi")
    assert catalog.get("RS-SBKMM-001").short_initials == "sbkmmcz"


def test_to_dict_is_json_with_the_documented_keys(catalog: Catalog) -> None:
    d = catalog.get("MZ-GLJT-001").to_dict()
    json.dumps(d, ensure_ascii=False)
    assert {"code", "name", "version", "fields", "materials", "department", "item_type",
            "handling_level", "case_kind", "promised_limit", "statutory_limit", "posting_days",
            "fee", "agent_relationship", "pinyin", "initials"} <= set(d)
    age = next(f for f in d["fields"] if f["key"] == "age")
    assert age == {"key": "age", "label": "周岁年龄", "type": "number", "required": True,
                   "min": 80, "max": 130, "max_length": 200, "decimals": 0, "from_id": "age",
                   "help": "按身份证出生日期计算，须与身份证一致"}
    assert d["authority"] == {"decides": "{county}民政局", "accepts": "{township}人民政府", "seal": True}
    assert d["conditions"]["age_min"] == 80 and d["provinces"] == ["61"]
    choice = next(f for f in d["fields"] if f["type"] == "choice")
    assert choice["options"]
    photo = next(m for m in d["materials"] if m["key"] == "photo")
    assert photo["required"] is True and photo["waivable"] is True
    assert d["promised_limit"] == {"amount": 22, "unit": "工作日"}


def test_get_unknown_code(catalog: Catalog) -> None:
    assert catalog.get("mz-gljt-001").code == "MZ-GLJT-001"
    with pytest.raises(StationError) as exc:
        catalog.get("XX-NONE-001")
    assert exc.value.code == "unknown_item"
    assert "XX-NONE-001" in exc.value.message


# --- search -----------------------------------------------------------------------------------

def _names(items: list[ServiceItem]) -> list[str]:
    return [i.name for i in items]


def test_search_by_initials(catalog: Catalog) -> None:
    assert _names(catalog.search("gljt"))[0] == "高龄津贴申领"
    assert _names(catalog.search("GLJT"))[0] == "高龄津贴申领"
    assert _names(catalog.search("db"))[0] == "最低生活保障"  # short name 低保


def test_search_by_name(catalog: Catalog) -> None:
    found = _names(catalog.search("养老"))
    assert "城乡居民养老保险待遇领取" in found
    assert all("养老" in n for n in found)
    assert _names(catalog.search("临时救助")) == ["临时救助"]


def test_search_by_code(catalog: Catalog) -> None:
    assert _names(catalog.search("MZ-GLJT-001")) == ["高龄津贴申领"]
    assert _names(catalog.search("mz-gljt-001")) == ["高龄津贴申领"]
    assert {i.department for i in catalog.search("WJ-")} == {"卫健"}


def test_search_by_full_pinyin(catalog: Catalog) -> None:
    assert _names(catalog.search("gaoling"))[0] == "高龄津贴申领"
    assert _names(catalog.search("gao ling jin tie")) == ["高龄津贴申领"]
    assert "法律援助申请" in _names(catalog.search("falv"))
    assert "法律援助申请" in _names(catalog.search("fǎlü")) or "法律援助申请" in _names(catalog.search("falü"))
    # substring of the full pinyin
    assert "人民调解申请" in _names(catalog.search("tiaojie"))


def test_search_ranking(tmp_path: Path) -> None:
    # "AB-GAO-001" is an exact code; 高龄 starts with initials "gl"; an item whose name contains
    # the Latin text ranks by name; one with "gl" only inside the pinyin ranks last.
    def item(code: str, name: str) -> str:
        return GOOD.replace('code = "MZ-TEST-001"', f'code = "{code}"').replace('name = "测试补贴"', f'name = "{name}"')

    d = _catalog_dir(tmp_path, {
        "a.toml": item("ZZ-GLXX-001", "高龄测试"),       # initials glcs
        "b.toml": item("AA-NAME-001", "gl专项补助"),      # name contains "gl"
        "c.toml": item("BB-PINY-001", "修公路补贴"),      # pinyin xiugonglubutie contains "gl"
        "d.toml": item("GL-CODE-001", "其他事项"),        # code contains "GL"
    })
    cat = load_catalog(d, use_cache=False)
    assert cat.issues == ()
    assert [i.code for i in cat.search("gl")] == ["ZZ-GLXX-001", "AA-NAME-001", "GL-CODE-001", "BB-PINY-001"]
    assert cat.search("GL-CODE-001")[0].code == "GL-CODE-001"
    assert len(cat.search("", limit=2)) == 2
    assert cat.search("gl", limit=1)[0].code == "ZZ-GLXX-001"
    assert cat.search("完全无关") == []


# --- broken files -----------------------------------------------------------------------------

def test_broken_files_are_reported_and_the_rest_load(tmp_path: Path) -> None:
    missing_name = GOOD.replace('name = "测试补贴"\n', "").replace("MZ-TEST-001", "MZ-TEST-002")
    wrong_type = GOOD.replace("version = 1", 'version = "一"').replace("MZ-TEST-001", "MZ-TEST-003")
    d = _catalog_dir(tmp_path, {
        "a_good.toml": GOOD,
        "b_bad_toml.toml": 'code = "MZ-X-001\nname = ',
        "c_missing.toml": missing_name,
        "d_wrong_type.toml": wrong_type,
        "e_duplicate.toml": GOOD.replace("测试补贴", "另一个补贴"),
    })
    shutil.copy(DEFAULT_CATALOG_DIR / "mz_gljt.toml", d / "f_gljt.toml")
    cat = load_catalog(d, use_cache=False)
    assert [i.code for i in cat.items] == ["MZ-GLJT-001", "MZ-TEST-001"]
    assert cat.get("MZ-TEST-001").name == "测试补贴"
    issues = _issues_by_file(cat)
    assert set(issues) == {"b_bad_toml.toml", "c_missing.toml", "d_wrong_type.toml", "e_duplicate.toml"}
    assert issues["b_bad_toml.toml"][0][0] == "" and "TOML" in issues["b_bad_toml.toml"][0][1]
    assert issues["c_missing.toml"] == [("name", "缺少必填项 name")]
    assert [k for k, _ in issues["d_wrong_type.toml"]] == ["version"]
    assert issues["e_duplicate.toml"][0][0] == "code"
    assert "a_good.toml" in issues["e_duplicate.toml"][0][1]
    for issue in cat.issues:
        assert issue.path.parent == d
        assert issue.message


@pytest.mark.parametrize(("change", "key", "fragment"), [
    (lambda s: s + '\n[[fields]]\nkey = "age"\nlabel = "又一个年龄"\ntype = "text"\n', "fields.age.key", "重复"),
    (lambda s: s.replace("min = 0\nmax = 130", "min = 200\nmax = 130"), "fields.age.min", "不能大于"),
    (lambda s: s.replace("min = 0\nmax = 130", "min = nan\nmax = 130"), "fields.age.min", "应为数字"),
    (lambda s: s.replace('type = "number"', 'type = "choice"').replace("min = 0\nmax = 130\n", ""),
     "fields.age.options", "必须列出"),
    (lambda s: s.replace('unit = "工作日" }\nstatutory', 'unit = "周" }\nstatutory'), "promised_limit.unit", "无效"),
    (lambda s: s.replace("waivable = false", "waivable = true"), "materials.id_card.waivable", "不能容缺"),
    (lambda s: s.replace("amount = 5", "amount = 50"), "promised_limit", "不能长于"),
    (lambda s: s.replace('code = "MZ-TEST-001"', 'code = "mz_test"'), "code", "格式"),
    (lambda s: s.replace('key = "age"', 'key = "Age-1"'), "fields[0].key", "snake_case"),
    (lambda s: s.replace('type = "number"', 'type = "numbr"'), "fields.age.type", "无效"),
    (lambda s: 'colour = "red"\n' + s, "colour", "不认识"),
    (lambda s: s.replace('form = "原件"', 'form = "扫描件"'), "materials.id_card.form", "无效"),
    (lambda s: s.replace("required = true\nmin", "required = \"yes\"\nmin"), "fields.age.required", "true 或 false"),
    (lambda s: s.replace('item_type = "行政给付"', 'item_type = "行政服务"'), "item_type", "无效"),
    (lambda s: s.replace('handling_level = "village"', 'handling_level = "county"'), "handling_level", "无效"),
    (lambda s: s.replace("version = 1", 'version = 1\nupdated = "2026-12-02"'), "updated", "应写成日期"),
    (lambda s: s.replace("version = 1", "version = 1\nupdated = 2026-12-02T10:00:00"), "updated", "不带时间"),
    (lambda s: s.replace("version = 1", "version = 1\nupdated = 1999-12-31"), "updated", "应写成日期"),
])
def test_semantic_checks(tmp_path: Path, change, key: str, fragment: str) -> None:
    d = _catalog_dir(tmp_path, {"item.toml": change(GOOD), "other.toml": GOOD.replace("MZ-TEST-001", "MZ-TEST-009")})
    cat = load_catalog(d, use_cache=False)
    assert [i.code for i in cat.items] == ["MZ-TEST-009"]
    found = [(i.key, i.message) for i in cat.issues if i.path.name == "item.toml"]
    assert any(k == key and fragment in m for k, m in found), found


def test_every_problem_of_a_file_is_reported(tmp_path: Path) -> None:
    bad = GOOD.replace('department = "民政"', 'department = "宇宙"').replace("posting_days = 0", "posting_days = -1")
    bad = bad.replace('form = "原件"', 'form = "扫描件"')
    cat = load_catalog(_catalog_dir(tmp_path, {"x.toml": bad}), use_cache=False)
    assert {i.key for i in cat.issues} == {"department", "posting_days", "materials.id_card.form"}


def test_missing_directory_is_an_issue(tmp_path: Path) -> None:
    cat = load_catalog(tmp_path / "nope", use_cache=False)
    assert cat.items == () and len(cat.issues) == 1


# --- speed and the pinyin cache ---------------------------------------------------------------

_PROBE = """
import sys, time
from pathlib import Path
t = time.perf_counter()
from forms.catalog import load_catalog
cat = load_catalog(cache_dir=Path(sys.argv[1]))
elapsed = time.perf_counter() - t
print(len(cat.items), len(cat.issues), "pypinyin" in sys.modules, elapsed)
"""


def _probe(cache: Path) -> tuple[int, int, bool, float]:
    out = subprocess.run([sys.executable, "-c", _PROBE, str(cache)], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout.split()
    return int(out[0]), int(out[1]), out[2] == "True", float(out[3])


def test_a_warm_load_reads_the_cache_and_never_imports_pypinyin(tmp_path: Path) -> None:
    """What makes a warm start quick (the time itself is measured in bench/, not asserted here)."""
    n, issues, imported, _ = _probe(tmp_path)
    assert issues == 0 and imported  # first load computes pinyin
    assert (tmp_path / PINYIN_CACHE_FILE).is_file()
    for _ in range(2):
        n2, _, imported2, _elapsed = _probe(tmp_path)
        assert n2 == n and not imported2


def test_corrupt_cache_is_recomputed(tmp_path: Path) -> None:
    (tmp_path / PINYIN_CACHE_FILE).write_text("{not json", encoding="utf-8")
    cat = load_catalog(cache_dir=tmp_path)
    assert cat.get("MZ-GLJT-001").initials == "gljtsl"
    assert json.loads((tmp_path / PINYIN_CACHE_FILE).read_text(encoding="utf-8"))["高龄津贴"] == "gao ling jin tie"
