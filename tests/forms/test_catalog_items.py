"""The catalog fixes and the village-level items the catalog lacked (issue 14): each cites its basis,
time limits not taken from a source are marked as estimates, 法律援助 counts natural days, 耕地地力
保护补贴 is a yearly campaign, no 农业/非农业户口, 重度残疾人护理补贴 levels by province."""

from __future__ import annotations

import pytest

from forms.catalog import DEFAULT_CATALOG_DIR, load_catalog

NEW_ITEMS = {
    "RS-JYCYZ-001": "rs_jycyz.toml", "RS-YLZGRZ-001": "rs_ylzgrz.toml", "YB-YLJZ-001": "yb_yljz.toml",
    "ZJ-WFGZ-001": "zj_wfgz.toml", "TYJR-YDZ-001": "tyjr_ydz.toml", "NY-FPJC-001": "ny_fpjc.toml",
    "MZ-DBBY-001": "mz_dbby.toml", "LY-LMCF-001": "ly_lmcf.toml",
}


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory):
    cat = load_catalog(cache_dir=tmp_path_factory.mktemp("cache"))
    assert not cat.issues
    return cat


def test_the_village_level_items_are_there_with_basis_bodies_and_marked_estimates(catalog) -> None:
    names = {catalog.get(code).name for code in NEW_ITEMS}
    for word in ("就业创业证", "资格认证", "医疗救助", "危房改造", "优待证", "返贫监测", "低保边缘", "林木采伐"):
        assert any(word in n for n in names), word
    for code, file in NEW_ITEMS.items():
        item = catalog.get(code)
        assert item.legal_basis and item.authority.decides, code
        text = (DEFAULT_CATALOG_DIR / file).read_text(encoding="utf-8")
        assert "# [estimate]" in text, f"{file}: limits without a cited source must be marked"
        assert any(m.key == "id_card" and m.required and not m.waivable for m in item.materials), code
    assert catalog.get("LY-LMCF-001").item_type == "行政许可"
    assert "森林法》第五十六条" in catalog.get("LY-LMCF-001").legal_basis[0]
    assert catalog.search("lmcf")[0].code == "LY-LMCF-001"


def test_legal_aid_counts_seven_natural_days(catalog) -> None:
    item = catalog.get("SF-FLYZ-001")
    assert (item.statutory_limit.amount, item.statutory_limit.unit) == (7, "自然日")
    assert item.promised_limit.unit == "自然日"
    assert "第四十三条" in item.legal_basis[0]
    assert "# [estimate]" not in (DEFAULT_CATALOG_DIR / "sf_flyz_zixun.toml").read_text(encoding="utf-8")


def test_farmland_subsidy_is_a_yearly_campaign(catalog) -> None:
    item = catalog.get("NY-GDDL-001")
    assert item.campaign and item.posting_days > 0


def test_no_agricultural_household_field(catalog) -> None:
    for item in catalog.items:
        for f in item.fields:
            assert "农业户口" not in f.options and f.key != "hukou_nature", item.code
    assert catalog.get("RS-CXJMYL-001").version == 2


def test_severe_disability_care_levels_differ_by_province(catalog) -> None:
    national = catalog.get("MZ-ZDCJ-001").field("disability_level").options
    assert national == ("一级", "二级")
    assert catalog.for_division("330102001001").get("MZ-ZDCJ-001").field("disability_level").options[-1] == \
        "三级（智力、精神）"
    assert len(catalog.for_division("110101001001").get("MZ-ZDCJ-001").field("disability_level").options) == 4
    assert catalog.for_division("421381105201").get("MZ-ZDCJ-001").field("disability_level").options == national
