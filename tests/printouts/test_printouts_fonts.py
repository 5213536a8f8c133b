"""Font resolution: an embedded system CJK font, or the non-embedded STSong-Light fallback."""

from __future__ import annotations

import os
import shutil
import subprocess
from io import BytesIO

from pypdf import PdfReader

from reportlab.pdfbase import pdfmetrics

from printouts import BUILTIN, render, resolve_font, samples

WQY = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
DROID = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"
DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def fonts_of(pdf: bytes) -> list[dict]:
    """Every font dictionary (descendants and descriptors resolved) used on the pages."""
    out = []
    for page in PdfReader(BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            out.append(font)
            for d in font.get("/DescendantFonts", []):
                out.append(d.get_object())
    return out


def ps_name(font_name: str) -> str:
    """The PostScript name reportlab writes as /BaseFont (after the subset tag)."""
    name = pdfmetrics.getFont(font_name).face.name
    return name.decode() if isinstance(name, bytes) else name


def descriptors(pdf: bytes) -> list[dict]:
    return [f["/FontDescriptor"].get_object() for f in fonts_of(pdf) if "/FontDescriptor" in f]


def test_system_font_is_found_and_embedded():
    assert any(os.path.isfile(p) for p in (WQY, DROID)), "scripts/test installs fonts-wqy-microhei"
    choice = resolve_font()
    assert choice.embedded and choice.path and os.path.isfile(choice.path)
    pdf = render(samples.case(), "receipt")
    base_names = [str(f.get("/BaseFont")) for f in fonts_of(pdf)]
    assert any(n.split("+", 1)[-1].startswith(ps_name(choice.name)) for n in base_names), base_names
    assert any("/FontFile2" in d for d in descriptors(pdf))
    assert not any("STSong" in n for n in base_names)


def test_configured_font_path_comes_first():
    choice = resolve_font(DROID)
    assert choice.path == DROID and choice.embedded
    pdf = render(samples.case(), "notice", font_path=DROID)
    wanted = ps_name(choice.name)
    assert any(str(f.get("/BaseFont")).split("+", 1)[-1].startswith(wanted) for f in fonts_of(pdf))


def test_collection_face_index():
    assert resolve_font(WQY + "#0").path == WQY


def test_bad_configured_path_falls_back_to_search(tmp_path):
    choice = resolve_font(str(tmp_path / "missing.ttf"), candidates=[], search_dirs=[],
                          use_fc_match=False)
    assert choice.name == "STSong-Light" and not choice.embedded


def test_font_without_chinese_is_refused(tmp_path):
    # a CJK-looking name on a Latin-only font: loadable, but no 中文 glyphs
    fake = tmp_path / "wqy-fake.ttf"
    shutil.copy(DEJAVU, fake)
    choice = resolve_font(DEJAVU, candidates=[str(fake)], search_dirs=[tmp_path],
                          use_fc_match=False)
    assert choice.name == "STSong-Light"


def test_search_walks_font_folders(tmp_path):
    assert os.path.isfile(DROID), "scripts/test installs fonts-droid-fallback"
    (tmp_path / "sub").mkdir()
    shutil.copy(DROID, tmp_path / "sub" / "DroidSansFallbackFull.ttf")
    choice = resolve_font(candidates=[], search_dirs=[tmp_path], use_fc_match=False)
    assert choice.embedded and choice.path == str(tmp_path / "sub" / "DroidSansFallbackFull.ttf")


def test_fallback_when_nothing_found(tmp_path):
    choice = resolve_font(candidates=[], search_dirs=[tmp_path], use_fc_match=False)
    assert choice.name == "STSong-Light" and choice.path is None and not choice.embedded


def test_forced_fallback_renders_cid_font_not_embedded(tmp_path):
    pdf = render(samples.case(), "receipt", "roll80", font_path=BUILTIN)
    base_names = [str(f.get("/BaseFont")) for f in fonts_of(pdf)]
    assert any("STSong-Light" in n for n in base_names), base_names
    assert not any(k in d for d in descriptors(pdf) for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    if shutil.which("pdftotext"):
        (tmp_path / "f.pdf").write_bytes(pdf)
        text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(tmp_path / "f.pdf"), "-"],
                              capture_output=True, text=True, check=True).stdout
        assert "收件回执" in text.replace(" ", "")
