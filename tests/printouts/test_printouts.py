"""Printouts: real PDFs rendered and read back with poppler (pdftotext) and pypdf."""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from printouts import (HANDLING_VILLAGE, KINDS, DueInfo, MaterialLine, StationInfo,
                       render, samples)
from forms.identity import mask_id, mask_phone
from printouts.formatting import group_case_number
from printouts.qr import qr_payload
from printouts.texts import load_texts
from forms.problems import StationError

# poppler-utils and zbar-tools are installed by scripts/test; a missing tool fails loudly, never skips.

A4 = (595.28, 841.89)
ROLL_W = 226.77  # 80 mm
PAPER_W = {"roll80": ROLL_W, "roll58": 164.41}  # 80 mm, 58 mm
MASKED = "1101**********002X"
CASE_DOCS = ("receipt", "notice", "correction", "result", "refusal", "acceptance")
ALL = [(k, f) for k, (_, _, formats) in KINDS.items() for f in formats]


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    src = tmp_path / "doc.pdf"
    src.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(src), "-"], capture_output=True,
                          text=True, check=True).stdout


def compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def word_boxes(pdf: bytes, tmp_path: Path) -> list[tuple[float, float, list[tuple[float, ...]]]]:
    """(page width, page height, [(xMin, yMin, xMax, yMax), ...]) per page, from pdftotext -bbox."""
    src = tmp_path / "box.pdf"
    src.write_bytes(pdf)
    html = subprocess.run(["pdftotext", "-bbox", str(src), "-"], capture_output=True, text=True,
                          check=True).stdout
    pages = []
    for m in re.finditer(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', html, re.S):
        boxes = [tuple(float(v) for v in w) for w in re.findall(
            r'xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" yMax="([\d.-]+)"', m.group(3))]
        pages.append((float(m.group(1)), float(m.group(2)), boxes))
    return pages


def assert_inside(pdf: bytes, tmp_path: Path) -> None:
    pages = word_boxes(pdf, tmp_path)
    assert pages
    for w, h, boxes in pages:
        assert boxes, "a page without any text"
        for x0, y0, x1, y1 in boxes:
            assert 0 <= x0 and x1 <= w + 0.01 and 0 <= y0 and y1 <= h + 0.01, \
                f"text at ({x0},{y0})-({x1},{y1}) outside page {w}x{h}"


def page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    return [(float(p.mediabox.width), float(p.mediabox.height)) for p in PdfReader(BytesIO(pdf)).pages]


def font_sizes_by_text(pdf: bytes) -> dict[float, int]:
    """How many characters are drawn at each font size (from the content streams)."""
    counts: dict[float, int] = {}
    for page in PdfReader(BytesIO(pdf)).pages:
        size = 0.0
        for operands, op in page.get_contents().operations:
            if op == b"Tf":
                size = round(float(operands[1]), 1)
            elif op in (b"Tj", b"'", b'"'):
                counts[size] = counts.get(size, 0) + len(operands[-1])
            elif op == b"TJ":
                n = sum(len(x) for x in operands[0] if isinstance(x, (bytes, str)))
                counts[size] = counts.get(size, 0) + n
    return counts


@pytest.fixture(scope="module")
def docs() -> dict[str, object]:
    d = samples.documents(samples.case(reprint_count=2))
    d["daily"] = replace(d["daily"], reprint_count=2)
    d["inform"] = replace(d["inform"], reprint_count=2)
    return d


# --- every document, every format -------------------------------------------------------------

@pytest.mark.parametrize("kind,fmt", ALL)
@pytest.mark.parametrize("large", [False, True])
def test_document_renders_with_key_text_and_right_paper(kind, fmt, large, docs, tmp_path):
    pdf = render(docs[kind], kind, fmt=fmt, large=large)
    assert pdf.startswith(b"%PDF")
    sizes = page_sizes(pdf)
    if fmt == "a4":
        assert all(abs(w - A4[0]) < 0.01 and abs(h - A4[1]) < 0.01 for w, h in sizes)
    else:
        assert len(sizes) == 1
        w, h = sizes[0]
        assert abs(w - PAPER_W[fmt]) < 0.01
        assert 200 < h < 14400
    text = pdf_text(pdf, tmp_path)
    flat = compact(text)
    assert "补打（第2次）" in flat
    if kind in CASE_DOCS:
        assert samples.SAMPLE_CASE in flat
        assert "高龄津贴申请" in flat
        assert MASKED in flat
        assert samples.SAMPLE_ID not in flat
        assert "13812345678" not in flat and "138****5678" in flat
    assert_inside(pdf, tmp_path)


def test_roll_height_follows_content(tmp_path):
    short = render(samples.case(materials=samples.materials()[:1]), "receipt", "roll80")
    long_ = render(samples.case(materials=samples.materials() * 5), "receipt", "roll80")
    assert page_sizes(short)[0][1] < page_sizes(long_)[0][1]
    # nothing cut off at the bottom of the roll: the last line of the receipt is there
    assert "某某村村委会一楼大厅" in pdf_text(long_, tmp_path).strip().splitlines()[-1]


def test_no_reprint_mark_on_first_print(tmp_path):
    for kind, doc in samples.documents().items():
        assert "补打" not in pdf_text(render(doc, kind), tmp_path)


def test_daily_report_reprint_mark(tmp_path):
    pdf = render(replace(samples.daily(), reprint_count=1), "daily")
    assert "补打（第1次）" in compact(pdf_text(pdf, tmp_path))


# --- receipt -----------------------------------------------------------------------------------

def test_receipt_content(tmp_path):
    text = compact(pdf_text(render(samples.case(), "receipt"), tmp_path))
    for needle in ("收件回执", "某某镇某某村便民服务站", "027-88881234", "查询密码", "583920",
                   "11420102MB1234567X4000112001000", "张秀英", "2026年3月15日09:30",
                   "李代办", "接下来会怎样", "居民身份证", "本人银行卡",
                   "户口簿", "容缺，请于2026年3月20日前补交",
                   "近期一寸免冠照片", "缺，请于2026年3月25日前补交",
                   "2026年4月10日（星期五）（估算）", "2026年4月28日", "在2026年3月18日（星期三）前把材料送到某某镇人民政府",
                   "收件时间", "决定机关", "某某区民政局", "本服务站只负责收件"):
        assert needle in text, needle
    assert "受理回执" not in text and "受理时间" not in text  # the village receives; the township accepts


def test_receipt_case_number_spaced_for_reading(tmp_path):
    text = pdf_text(render(samples.case(), "receipt"), tmp_path)
    assert group_case_number(samples.SAMPLE_CASE) in text


def test_estimate_marker_only_for_estimates(tmp_path):
    exact = samples.case(promised=DueInfo(date(2026, 4, 10), False),
                         statutory=DueInfo(date(2026, 4, 28), False))
    text = compact(pdf_text(render(exact, "receipt"), tmp_path))
    assert "估算" not in text
    assert "2026年4月10日" in text
    est = compact(pdf_text(render(samples.case(), "receipt"), tmp_path))
    assert "2026年4月10日（星期五）（估算）" in est
    assert "2026年4月28日（估算）" not in est


def test_next_steps_depend_on_handling_level(tmp_path):
    village = compact(pdf_text(render(samples.case(handling_level=HANDLING_VILLAGE), "receipt"),
                               tmp_path))
    township = compact(pdf_text(render(samples.case(), "receipt"), tmp_path))
    assert "不用再跑乡镇" in village and "送到某某镇人民政府" not in village and "由某某区民政局办理" in village
    assert "前把材料送到某某镇人民政府" in township and "由某某镇人民政府决定是否受理" in township
    other = compact(pdf_text(render(samples.case(handling_level="county"), "receipt"), tmp_path))
    assert "已收到您的申请材料" in other and "已经受理" not in other


def test_receipt_without_promised_date(tmp_path):
    text = compact(pdf_text(render(samples.case(promised=None, statutory=None), "receipt"),
                            tmp_path))
    assert "以后续通知为准" in text and "估算" not in text


def test_user_text_is_escaped_not_markup(tmp_path):
    c = samples.case(applicant_name="张<b>三</b>&李", agent_name="王&<br/>")
    text = compact(pdf_text(render(c, "receipt"), tmp_path))
    assert "张<b>三</b>&李" in text and "王&<br/>" in text


# --- QR code -----------------------------------------------------------------------------------

TEMPLATE = "https://zwfw.example.cn/q?n={case_number}"


def test_qr_payload_is_the_query_link_without_password_or_text_with_both():
    text = qr_payload(samples.SAMPLE_CASE, "583920")
    assert samples.SAMPLE_CASE in text and "583920" in text and samples.SAMPLE_ID not in text
    link = qr_payload(samples.SAMPLE_CASE, "583920", TEMPLATE)
    assert link == f"https://zwfw.example.cn/q?n={samples.SAMPLE_CASE}"
    assert "583920" not in link
    assert qr_payload("421381105201-261123-0001-1", "1", "https://x.cn/c/{case_number}?s=1") == \
        "https://x.cn/c/421381105201-261123-0001-1?s=1"
    # a template that is not valid is never used: text, as if none was published
    assert qr_payload("A", "1", "http://x.cn/q?n={case_number}") == "办件编号:A 查询密码:1"


def decode_qr(pdf: bytes, tmp_path: Path) -> str:
    (tmp_path / "r.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-f", "1", "-l", "1",
                    str(tmp_path / "r.pdf"), str(tmp_path / "r")], check=True)
    png = next(tmp_path.glob("r*.png"))
    out = subprocess.run(["zbarimg", "-q", "--raw", str(png)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.parametrize("fmt", ["a4", "roll80", "roll58"])
@pytest.mark.parametrize("template", [None, TEMPLATE])
def test_qr_code_on_paper_decodes_and_the_wording_says_what_it_does(fmt, template, tmp_path):
    c = samples.case(station=samples.station(query_url=template))
    pdf = render(c, "receipt", fmt)
    decoded = decode_qr(pdf, tmp_path)
    assert decoded == qr_payload(samples.SAMPLE_CASE, "583920", template)
    assert samples.SAMPLE_ID not in decoded
    text = compact(pdf_text(pdf, tmp_path))
    if template:
        assert decoded == f"https://zwfw.example.cn/q?n={samples.SAMPLE_CASE}" and "583920" not in decoded
        assert "扫码查询进度" in text and "扫本回执上的二维码查询进度" in text
    else:
        assert decoded.startswith("办件编号:")
        assert "扫码可读出办件编号" in text
        assert "扫码查询" not in text and "二维码" not in text


# --- other documents ---------------------------------------------------------------------------

def test_notice_lists_every_material_and_the_law(tmp_path):
    text = compact(pdf_text(render(samples.case(), "notice"), tmp_path))
    for m in samples.materials():
        assert m.name in text
    for needle in ("一次性告知书", "原件", "复印件", "2份", "已收", "（有则提供）",
                   "容缺，请于2026年3月20日前补交", "缺，请于2026年3月25日前补交",
                   "某某村村委会一楼大厅", "行政许可法》第三十二条", "一次告知"):
        assert needle in text, needle


def test_notice_when_all_received(tmp_path):
    c = samples.case(materials=[m for m in samples.materials() if m.status == "received"])
    assert "已全部收齐" in compact(pdf_text(render(c, "notice"), tmp_path))


def test_correction_content(tmp_path):
    text = compact(pdf_text(render(samples.correction(), "correction"), tmp_path))
    for needle in ("补正材料通知书", "某某镇民政办王审核", "户口簿复印件不清晰", "户口簿",
                   "近期一寸免冠照片", "2026年3月30日（星期一）（估算）", "第三十二条"):
        assert needle in text, needle
    assert "居民身份证" not in text  # only the materials to correct


def test_result_content(tmp_path):
    text = compact(pdf_text(render(samples.result(), "result"), tmp_path))
    for needle in ("办结通知书", "准予发放高龄津贴，每月200元", "GLJT-2026-0088",
                   "某某村便民服务站", "凭身份证领取", "2026年4月8日"):
        assert needle in text, needle


@pytest.mark.parametrize("kind", ["不予受理", "不予批准"])
def test_refusal_names_reason_rights_and_bodies(kind, tmp_path):
    text = compact(pdf_text(render(samples.refusal(kind=kind), "refusal"), tmp_path))
    for needle in (f"{kind}告知书", f"决定{kind}", "未满80周岁", "六十日内向某某区人民政府申请行政复议",
                   "六个月内向某某区人民法院提起行政诉讼", "某某镇人民政府（盖章）"):
        assert needle in text, needle


def test_refusal_kind_is_checked():
    with pytest.raises(StationError) as e:
        replace(samples.refusal(), kind="驳回")
    assert e.value.code == "bad_document"


def test_daily_report_content(tmp_path):
    text = compact(pdf_text(render(samples.daily(), "daily"), tmp_path))
    for needle in ("服务站日报", "2026年3月15日", "城乡居民医保参保登记", "合计9", "待同步事件：12条",
                   "即将到期（1）", "王大爷", "4201021002012026031000031K", "已超期（1）",
                   "2026年3月2日（估算）"):
        assert needle in text, needle


def test_daily_report_is_a4_only():
    with pytest.raises(StationError) as e:
        render(samples.daily(), "daily", fmt="roll80")
    assert e.value.code == "bad_format"


# --- errors ------------------------------------------------------------------------------------

def test_unknown_format_kind_and_wrong_document():
    with pytest.raises(StationError) as e:
        render(samples.case(), "receipt", fmt="a5")
    assert e.value.code == "bad_format" and "a5" in e.value.message
    with pytest.raises(StationError) as e:
        render(samples.case(), "invoice")
    assert e.value.code == "bad_kind"
    with pytest.raises(StationError) as e:
        render(samples.daily(), "receipt")
    assert e.value.code == "bad_document"


def test_material_status_is_checked():
    with pytest.raises(StationError):
        MaterialLine("x", "材料", "原件", 1, True, "lost")  # type: ignore[arg-type]


# --- large print and stress -------------------------------------------------------------------

@pytest.mark.parametrize("fmt,minimum", [("a4", 16), ("roll80", 12)])
def test_large_print_body_size(fmt, minimum):
    for kind in CASE_DOCS:
        normal = font_sizes_by_text(render(samples.documents()[kind], kind, fmt))
        large = font_sizes_by_text(render(samples.documents()[kind], kind, fmt, large=True))
        body_large = max(large, key=large.get)   # the size most text is set in
        assert body_large >= minimum, (kind, large)
        assert body_large > max(normal, key=normal.get)


def test_large_print_has_fewer_characters_per_line(tmp_path):
    c = samples.case()
    def longest(pdf: bytes) -> int:
        return max(len(line) for line in pdf_text(pdf, tmp_path).splitlines())
    for fmt in ("a4", "roll80"):
        assert longest(render(c, "notice", fmt, large=True)) < longest(render(c, "notice", fmt))


def stress_case():
    long_name = "欧阳" + "慕容司马上官诸葛" * 7 + "长寿"   # 60 characters
    assert len(long_name) == 60
    mats = [MaterialLine(f"m{i}", f"材料{i:02d}号" + "经村民委员会盖章确认的家庭成员收入及财产状况证明材料" * 2
                         + "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" * 2, "复印件（加盖公章）", 3, i % 3 != 0,
                         ("received", "missing", "waived")[i % 3], date(2026, 3, 1 + i % 28),
                         "需本人签字按手印" if i % 5 == 0 else None)
            for i in range(1, 31)]
    st = StationInfo("湖北省武汉市某某区某某街道某某社区居民委员会某某村党群服务中心便民服务站（代办点）",
                     "420102100201", "027-8888 1234 转 8001", "某某区某某镇某某村二组幸福路 88 号村委会大院东侧一楼" * 2,
                     TEMPLATE)
    return samples.case(station=st, applicant_name=long_name, materials=mats,
                        item_name="困难残疾人生活补贴和重度残疾人护理补贴申请（含首次申请、变更、恢复发放）",
                        department="民政局、残疾人联合会", agent_name="代办员" + "甲乙丙丁" * 5,
                        reprint_count=12)


@pytest.mark.parametrize("kind", CASE_DOCS)
@pytest.mark.parametrize("fmt", ["a4", "roll80", "roll58"])
@pytest.mark.parametrize("large", [False, True])
def test_thirty_materials_and_long_names_fit(kind, fmt, large, tmp_path):
    c = stress_case()
    doc = samples.documents(c)[kind]
    if kind == "correction":
        doc = replace(doc, materials=c.materials)
    pdf = render(doc, kind, fmt, large=large)
    assert_inside(pdf, tmp_path)
    sizes = page_sizes(pdf)
    if fmt != "a4":
        assert len(sizes) == 1 and abs(sizes[0][0] - PAPER_W[fmt]) < 0.01
    else:
        assert all(abs(w - A4[0]) < 0.01 for w, _ in sizes)
    text = compact(pdf_text(pdf, tmp_path))
    assert c.applicant_name in text
    if kind in ("notice", "correction"):
        for i in range(1, 31):
            assert f"材料{i:02d}号" in text


def test_daily_report_long_lists_fit(tmp_path):
    rows = [(f"42010210020120260301{i:04d}1K", "困难残疾人生活补贴和重度残疾人护理补贴申请" * 2, "欧阳" * 10,
             DueInfo(date(2026, 3, 20), i % 2 == 0)) for i in range(60)]
    rep = replace(samples.daily(), near_due=rows, overdue=rows[:20],
                  received_by_item=[(f"事项{i}" * 10, i) for i in range(40)])
    pdf = render(rep, "daily")
    assert len(page_sizes(pdf)) > 1
    assert_inside(pdf, tmp_path)


# --- formatting helpers ------------------------------------------------------------------------

def test_documents_mask_with_the_field_rule(tmp_path):
    """One masking rule (forms.identity) for screens and paper: the receipt shows exactly its output."""
    case = samples.case()
    text = pdf_text(render(case, "receipt", "a4"), tmp_path).replace(" ", "")
    assert mask_id(case.applicant_id_number) in text and case.applicant_id_number not in text
    assert mask_phone(case.applicant_phone) in text and case.applicant_phone not in text


def test_station_case_numbers_break_between_village_and_day(tmp_path):
    number = "421381105201-261123-0001-1"
    assert group_case_number(number) == "4213 8110 5201 - 261123 - 0001 - 1"
    assert group_case_number(number, two_lines=True) == "4213 8110 5201\n261123 - 0001 - 1"
    for fmt in ("a4", "roll80"):
        lines = pdf_text(render(samples.case(case_number=number), "receipt", fmt=fmt, large=True), tmp_path).splitlines()
        assert "4213 8110 5201" in lines and "261123 - 0001 - 1" in lines


def test_case_number_grouping_keeps_every_character():
    for n in (samples.SAMPLE_CASE, "4201-0210-2026-0001-7", "AB12", "X"):
        grouped = group_case_number(n)
        assert grouped.replace(" ", "") == n.replace("-", "")
        assert grouped.endswith(" " + n[-1]) or len(n) < 2
    assert group_case_number(samples.SAMPLE_CASE) == "4201 0210 0201 2026 0315 00071 K"


# --- wording in a data file --------------------------------------------------------------------

def test_texts_file_is_checked_reporting_every_problem(tmp_path):
    src = Path(__file__).parents[2] / "printouts" / "texts" / "zh.toml"
    broken = src.read_text(encoding="utf-8").replace(
        'title = "收件回执"', 'title = "收件回执{agnet}"').replace(
        'keep = "请妥善保管', 'kept = "请妥善保管')
    path = tmp_path / "zh.toml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(StationError) as e:
        load_texts(path)
    fields = {p.field for p in e.value.problems}
    assert fields == {"receipt.title", "receipt.keep"}


def test_edited_texts_change_the_printout(tmp_path):
    src = Path(__file__).parents[2] / "printouts" / "texts" / "zh.toml"
    path = tmp_path / "zh.toml"
    path.write_text(src.read_text(encoding="utf-8").replace(
        'title = "收件回执"', 'title = "收件凭证"'), encoding="utf-8")
    text = compact(pdf_text(render(samples.case(), "receipt", texts_path=path), tmp_path))
    assert "收件凭证" in text and "收件回执" not in text


# --- pictures for a human to look at ----------------------------------------------------------

def test_render_first_pages_to_png():
    out = Path(__file__).parent / "_artifacts" / "printouts"
    out.mkdir(parents=True, exist_ok=True)
    docs = samples.documents(samples.case(reprint_count=1))
    made = []
    for kind, fmt in ALL:
        for large in (False, True):
            stem = out / f"{kind}-{fmt}{'-large' if large else ''}"
            pdf_path = stem.with_suffix(".pdf")
            pdf_path.write_bytes(render(docs[kind], kind, fmt, large=large))
            subprocess.run(["pdftoppm", "-r", "100", "-png", "-singlefile", "-f", "1", "-l", "1",
                            str(pdf_path), str(stem)], check=True)
            made.append(stem.with_suffix(".png"))
    for png in made:
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(data[16:20], "big")
        expected = 315 if "roll80" in png.name else 228 if "roll58" in png.name else 827  # 80/58/210 mm at 100 dpi
        assert abs(width - expected) <= 1, (png.name, width)
