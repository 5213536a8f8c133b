"""The monthly statistics report (月报): real PDFs from a real township store, read back with poppler.

The data set is the one of tests/store/test_review_stats.py (figures computed by hand there and in
docs/统计口径.md): six cases received on 2026-09-28, due 10-10 across the National Day week and
the 10-10 make-up Saturday; one completed on the due date, one a day late.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from printouts import StationInfo, render
from printouts.model import FigureRow, MonthlyReport
from printouts.monthly import VILLAGES_PER_CHART
from station.cases import deliver, file_case
from station.cli import main
from station.testing import cli_login_env
from station.operators import add_operator, os_account, set_disabled
from station.printing import print_monthly
from forms.problems import StationError
from station.ratings import rate
from station.review import Decision, decide
from station.sample_data import make_submission
from station.setup import init_station
from station.store import Store
from tests.support import TOWNSHIP, VILLAGE, VILLAGE_2, FixedClock, ship


ITEM = "RS-CBZT-001"  # 城乡居民养老保险参保暂停: township level, promised 5 working days
A4 = (595.28, 841.89)
ARTIFACTS = Path(__file__).parent / "_artifacts"




@pytest.fixture
def world(tmp_path: Path, catalog):
    clock = FixedClock(datetime(2026, 9, 28, 9, 0))  # Monday before the National Day week
    stores = {}
    for key, code, role in (("v1", VILLAGE, "village"), ("v2", VILLAGE_2, "village"), ("t", TOWNSHIP, "township")):
        init_station(tmp_path / key, code, {"v1": "东岭村服务站", "v2": "西河村服务站", "t": "东河镇便民服务中心"}[key],
                     role, clock=clock)
        stores[key] = Store.open(tmp_path / key, clock=clock)
    reviewer = add_operator(stores["t"], "赵审核", "reviewer", "secret123", os_account())
    yield stores, clock, reviewer
    for s in stores.values():
        s.close()


def _file(store: Store, catalog, rng) -> str:
    data = make_submission(catalog.get(ITEM), rng, store.clock().date())
    return file_case(store, catalog, ITEM, data, os_account()).number


@pytest.fixture
def township(world, catalog):
    """The township store after the hand-checked month; the clock stands on 2026-10-20."""
    stores, clock, reviewer = world
    v1, v2, t = stores["v1"], stores["v2"], stores["t"]
    rng = random.Random(5)
    a, b, c, d, e = (_file(v1, catalog, rng) for _ in range(5))
    f = _file(v2, catalog, rng)
    ship(v1, t)
    ship(v2, t)

    def at(day: date, number: str, decision: Decision) -> None:
        clock.set_day(day)
        decide(t, number, decision, reviewer)

    at(date(2026, 9, 29), a, Decision("accept"))
    at(date(2026, 9, 29), b, Decision("accept"))
    at(date(2026, 9, 29), c, Decision("accept"))
    at(date(2026, 9, 29), d, Decision("refuse", reason="不属于本镇受理范围"))
    at(date(2026, 9, 30), e, Decision("correct", reason="户口簿复印件不清晰", materials=("id_card",)))
    at(date(2026, 10, 9), c, Decision("reject", reason="不符合暂停条件"))
    at(date(2026, 10, 10), a, Decision("approve", certificate="暂停〔2026〕1号"))  # on the due date
    at(date(2026, 10, 12), b, Decision("approve"))                               # one working day late
    ship(t, v1)
    clock.set_day(date(2026, 10, 13))
    deliver(v1, a, "本人", True, os_account(), trips=1)
    deliver(v1, b, "本人", True, os_account(), trips=2)
    ship(v1, t)
    rate(t, a, 5, reviewer, channel="纸质")        # the 评价卡 is entered at the township
    rate(t, b, 2, reviewer, detail="超过承诺时间才办好", channel="纸质")
    clock.set_day(date(2026, 10, 20))
    return t, reviewer, f


# --- reading PDFs back -------------------------------------------------------------------------

def pdf_text(path: Path, *args: str) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", *args, str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def assert_inside(path: Path) -> int:
    """Every word pdftotext finds lies inside its page; returns the number of pages."""
    html = pdf_text(path, "-bbox")
    pages = re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', html, re.S)
    assert pages
    for w, h, body in pages:
        boxes = re.findall(r'xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" yMax="([\d.-]+)"', body)
        assert boxes, "a page without any text"
        for x0, y0, x1, y1 in ((float(v) for v in b) for b in boxes):
            assert 0 <= x0 and x1 <= float(w) + 0.01 and 0 <= y0 and y1 <= float(h) + 0.01, \
                f"text at ({x0},{y0})-({x1},{y1}) outside page {w}x{h}"
    return len(pages)


def page_sizes(path: Path) -> list[tuple[float, float]]:
    return [(float(p.mediabox.width), float(p.mediabox.height)) for p in PdfReader(path).pages]


def rectangles(path: Path) -> int:
    """How many filled rectangles (``re`` … ``f``/``B``) the pages draw: the bars of the charts."""
    n = 0
    for page in PdfReader(path).pages:
        ops = [op for _, op in page.get_contents().operations]
        n += sum(1 for i, op in enumerate(ops[:-1]) if op == b"re" and ops[i + 1] in (b"f", b"B", b"f*", b"B*"))
    return n


# --- the report from the store -----------------------------------------------------------------

def test_monthly_report_shows_the_hand_computed_figures(township, tmp_path) -> None:
    """Each figure counts its own event in the month (docs/统计口径.md): the September report holds the
    receipts, acceptances, the refusal and the correction; October the completions and the ratings."""
    t, reviewer, _ = township
    september = compact(pdf_text(print_monthly(t, date(2026, 9, 1), reviewer, out=tmp_path / "9.pdf").path))
    for label, value in (("收件", "6"), ("受理", "3"), ("办结", "0"), ("按时办结率", "—"), ("当前超期", "1"),
                         ("件均补正次数", "0.17"), ("不予受理", "1"), ("视为受理", "1"), ("补正逾期未补", "0")):
        assert f"{label}{value}" in september, (label, value)
    result = print_monthly(t, date(2026, 10, 1), reviewer, out=tmp_path / "月报.pdf")
    assert result.kind == "monthly" and result.path == tmp_path / "月报.pdf"
    text = pdf_text(result.path)
    flat = compact(text)
    assert "东河镇便民服务中心2026年10月政务服务统计月报" in flat
    assert "统计期间：2026年10月1日至2026年10月31日" in flat and "制表日期：2026年10月20日" in flat
    # totals, in the order of the totals table (label value label value …)
    for label, value in (("收件", "0"), ("受理", "0"), ("办结", "3"), ("按时办结", "2"), ("按时办结率", "66.7%"),
                         ("当前超期", "1"), ("平均办理工作日", "5.0"), ("评价数", "2"),
                         ("满意率", "50.0%"), ("差评", "1"), ("差评待整改/超期", "1/0"),
                         ("一次办结率", "50.0%"), ("件均跑动次数", "1.50"), ("差评回访率", "0.0%"),
                         ("提前办结率", "100.0%"), ("现场办结率", "0.0%")):
        assert f"{label}{value}" in flat, (label, value)
    # by village: codes, names (from the villages' station.initialised events) and their rows
    lines = [compact(line) for line in pdf_text(result.path, "-layout").splitlines()]
    v1_row = next(line for line in lines if line.startswith(VILLAGE) and "66.7%" in line)
    assert v1_row.endswith("003266.7%05.0—250.0%11/0"), v1_row
    v2_row = next(line for line in lines if line.startswith(VILLAGE_2) and "—" in line)
    assert v2_row.endswith("0000—1——0—00/0"), v2_row
    assert "东岭村服务站" in flat and "西河村服务站" in flat
    # by item: one item, the same figures as the total
    assert ITEM in flat and "城乡居民养老保险参保暂停" in flat
    # the footer with the definitions and the pointer to the full text
    assert "按时办结率=按时办结/办结" in flat and "docs/统计口径.md" in flat
    # the charts: their titles, village codes as category labels, bars drawn as filled rectangles
    assert "分村收件、办结、按时办结" in flat and "每日收件数" in flat
    assert text.count(VILLAGE) >= 2 and text.count(VILLAGE_2) >= 2   # table + chart label
    assert rectangles(result.path) >= 2                               # the completed and on-time bars
    assert all(abs(w - A4[0]) < 0.01 and abs(h - A4[1]) < 0.01 for w, h in page_sizes(result.path))
    assert_inside(result.path)
    assert "STSong-Light" not in subprocess.run(["pdffonts", str(result.path)], capture_output=True,
                                                text=True, check=True).stdout  # embedded TrueType font

    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(result.path, ARTIFACTS / "monthly.pdf")
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(result.path),
                        str(ARTIFACTS / "monthly-page1")], check=True)
        assert (ARTIFACTS / "monthly-page1.png").stat().st_size > 10_000


def test_monthly_print_is_archived_and_recorded(township) -> None:
    t, reviewer, _ = township
    result = print_monthly(t, date(2026, 9, 15), reviewer)   # any day of the month
    assert result.path.is_relative_to(t.home / "prints") and result.path.read_bytes().startswith(b"%PDF")
    assert result.to_dict()["title"] == "政务服务统计月报" and not result.sent
    bodies = [e.body for e in t.iter_events("type='notice.printed'")]
    assert len(bodies) == 1
    body = t.codec.open_body(bodies[0])
    assert body["kind"] == "monthly" and body["title"] == "政务服务统计月报"
    assert (t.home / body["path"]) == result.path


def test_monthly_report_shows_a_case_past_its_correction_deadline(township, world, tmp_path) -> None:
    t, reviewer, _ = township
    _, clock, _ = world
    clock.set_day(date(2026, 10, 21))   # e: 补正 asked 9/30, due 10/20, nothing brought
    flat = compact(pdf_text(print_monthly(t, date(2026, 10, 1), reviewer, out=tmp_path / "10.pdf").path))
    assert "制表日期：2026年10月21日" in flat and "补正逾期未补1" in flat
    assert "当前超期1" in flat          # f only: e's clock is stopped


def test_monthly_print_refused_for_a_disabled_operator(township) -> None:
    t, _, _ = township
    clerk = add_operator(t, "小王", "agent", "secret123", os_account())
    set_disabled(t, clerk.name, True, os_account())
    with pytest.raises(StationError) as err:
        print_monthly(t, date(2026, 9, 1), clerk)
    assert err.value.code == "forbidden"
    assert t.conn.execute("SELECT COUNT(*) FROM events WHERE type='notice.printed'").fetchone()[0] == 0
    assert not (t.home / "prints").exists() or not any((t.home / "prints").rglob("*monthly*"))


def test_cli_print_monthly(township, tmp_path) -> None:
    t, _, _ = township
    home = str(t.home)
    t.close()
    out = tmp_path / "cli.pdf"
    res = CliRunner(env=cli_login_env("赵审核", "secret123")).invoke(main, ["print", "monthly", "--home", home, "--month", "2026-09", "--out", str(out),
                                    "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["kind"] == "monthly" and data["month"] == "2026-09" and Path(data["path"]) == out
    assert "收件6" in compact(pdf_text(out))
    bad = CliRunner(env=cli_login_env("赵审核", "secret123")).invoke(main, ["print", "monthly", "--home", home, "--month", "2026/9", "--json"])
    assert bad.exit_code != 0 and json.loads(bad.stdout)["error"]["code"] == "bad_month"


def test_empty_month_prints_dashes(township, tmp_path) -> None:
    t, reviewer, _ = township
    result = print_monthly(t, date(2026, 8, 1), reviewer, out=tmp_path / "aug.pdf")
    flat = compact(pdf_text(result.path))
    assert "收件0" in flat and "按时办结率—" in flat and "满意率—" in flat
    assert "当前超期1" in flat  # overdue now counts whatever the received date (case f)
    lines = [compact(line) for line in pdf_text(result.path, "-layout").splitlines()]
    assert any(line.startswith(VILLAGE_2) and line.endswith("0000—1——0—00/0") for line in lines)
    assert_inside(result.path)


# --- many villages and items -------------------------------------------------------------------

def _row(code: str, name: str, i: int) -> FigureRow:
    return FigureRow(code=code, name=name, received=100 + i, accepted=90 + i, completed=80 + i, on_time=70 + i,
                     on_time_rate=round((70 + i) / (80 + i), 4), overdue_now=i % 4, avg_working_days=4.25 + i / 10,
                     corrections_per_case=0.123, ratings=50 + i, satisfaction_rate=0.9876, bad_ratings=i % 3,
                     followups_open=i % 3, followups_overdue=i % 2)


def test_thirty_villages_and_thirty_items_stay_on_the_paper(tmp_path) -> None:
    villages = [_row(f"4213811052{i:02d}", f"第{i}村便民服务站（原{i}组合并后新设）", i) for i in range(1, 31)]
    items = [_row(f"XX-ITEM-{i:03d}", "城乡居民基本养老保险待遇领取资格认证及暂停恢复申请" * (1 + i % 2), i)
             for i in range(1, 31)]
    rep = MonthlyReport(
        station=StationInfo("东河镇便民服务中心（乡镇政务服务中心）", TOWNSHIP, "0722-1234567", "东河镇"),
        month=date(2026, 10, 1), date_from=date(2026, 10, 1), date_to=date(2026, 10, 31), made_on=date(2026, 11, 2),
        total=_row("", "合计", 99), by_village=villages, by_item=items,
        daily_received=[(date(2026, 10, d), (d * 7) % 23) for d in range(1, 32)])
    path = tmp_path / "many.pdf"
    path.write_bytes(render(rep, "monthly"))
    pages = assert_inside(path)
    assert pages >= 3 and all(abs(w - A4[0]) < 0.01 and abs(h - A4[1]) < 0.01 for w, h in page_sizes(path))
    text = pdf_text(path)
    for r in villages + items:
        assert r.code in text, r.code   # every row printed (the table split across pages, nothing cut)
    parts = -(-30 // VILLAGES_PER_CHART)
    assert f"（第{parts}/{parts}幅）" in compact(text)  # the village chart in parts
    assert rectangles(path) >= 30 * 3 + 31
    ARTIFACTS.mkdir(exist_ok=True)
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(path), str(ARTIFACTS / "monthly-30")], check=True)


def test_monthly_is_a4_only() -> None:
    rep = MonthlyReport(station=StationInfo("站", TOWNSHIP, "1", "x"), month=date(2026, 9, 1),
                        date_from=date(2026, 9, 1), date_to=date(2026, 9, 30), made_on=date(2026, 10, 1),
                        total=FigureRow(code=""))
    with pytest.raises(StationError) as err:
        render(rep, "monthly", fmt="roll80")
    assert err.value.code == "bad_format"
