"""Find a CJK font on this computer and register it with reportlab, embedded.

Order: the configured path, the usual Linux / UOS / Kylin / Windows files, ``fc-match`` for a
Chinese font, a walk of the font folders for a known CJK family, and last reportlab's built-in
CID font ``STSong-Light`` (not embedded: the PDF viewer must supply the glyphs, which most do;
a warning is logged). A font is accepted only if reportlab can load it (TrueType outlines: CFF
based OpenType such as Noto Sans CJK is refused by reportlab) and it has Chinese glyphs.

Registration happens once per process per file; :func:`resolve_font` results are cached.

No single font has every character a citizen's name or address may hold (生僻字 of CJK Extension A/B,
the ethnic-minority middle dot ``·``). Text is therefore drawn character by character in the first
font that has a glyph for it: the document's font, then every other usable font installed
(:func:`fallback_fonts`, the CJK fonts above and DejaVu Sans for symbols). :func:`glyph_font` says
which; :func:`cover` replaces a character no installed font can draw with :data:`MISSING` (a drawn
box, never a silent blank) and reports it, so the document can say so in print.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont

log = logging.getLogger(__name__)

CID_FALLBACK = "STSong-Light"
#: Pass as ``font_path`` to skip the search and use the built-in CID font.
BUILTIN = "builtin:STSong-Light"

KNOWN_PATHS: tuple[str, ...] = (
    # Debian / Ubuntu / UOS / Kylin packages
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    # Fedora / other layouts
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
    "/usr/share/fonts/google-droid/DroidSansFallback.ttf",
    # UOS / Deepin and Kylin bundled fonts
    "/usr/share/fonts/fonts-cesi/CESI_HT_GB18030.TTF",
    "/usr/share/fonts/fonts-cesi/CESI_SS_GB18030.TTF",
    "/usr/share/fonts/truetype/cesi/CESI_HT_GB18030.TTF",
    "/usr/share/fonts/truetype/ukai/ukai.ttc",
    "/usr/share/fonts/deepin-font/SourceHanSansSC-Regular.ttf",
    "/usr/share/fonts/kylin-font/simhei.ttf",
    "/usr/share/fonts/truetype/kylin-font/simhei.ttf",
    # Windows
    "C:/Windows/Fonts/simhei.ttf",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simsun.ttc",
    "C:/Windows/Fonts/simkai.ttf",
)

#: File name fragments of CJK families worth trying when walking font folders.
_CJK_NAME = re.compile(
    r"(wqy|wenquan|droidsansfallback|uming|ukai|simhei|simsun|msyh|simkai|cesi|"
    r"sourcehan.*sc|notosanssc|notoserifsc|fzhei|fzsong|hyq)", re.IGNORECASE)
_FONT_EXT = (".ttf", ".ttc", ".otf")
_PROBE = "中文办件"

#: Fonts for symbols a CJK font may lack (the middle dot ``·`` and bullet ``•`` in Droid Sans Fallback).
SYMBOL_PATHS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "C:/Windows/Fonts/arial.ttf",
)
#: Printed in place of a character that no installed font can draw: a box the agent writes into.
MISSING = "□"


@dataclass(frozen=True)
class FontChoice:
    name: str
    path: str | None
    embedded: bool


_lock = threading.Lock()
_registered: dict[tuple[str, int], str] = {}
_cache: dict[str | None, FontChoice] = {}


def default_search_dirs() -> list[Path]:
    dirs = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"),
            Path.home() / ".fonts", Path.home() / ".local/share/fonts"]
    windir = os.environ.get("WINDIR")
    if windir:
        dirs.append(Path(windir) / "Fonts")
    return dirs


def _split_index(spec: str) -> tuple[str, int]:
    """``/x/font.ttc#1`` selects face 1 of a collection; default face 0."""
    path, sep, idx = spec.rpartition("#")
    if sep and idx.isdigit():
        return path, int(idx)
    return spec, 0


def _has_chinese(name: str) -> bool:
    cmap = pdfmetrics.getFont(name).face.charToGlyph
    return all(ord(ch) in cmap for ch in _PROBE)


def _register_ttf(path: str, index: int, chinese: bool = True) -> str | None:
    """Register a TrueType face; with ``chinese``, only one that has Chinese glyphs."""
    key = (os.path.abspath(path), index)
    if key in _registered:
        name = _registered[key]
        return name if not chinese or _has_chinese(name) else None
    stem = re.sub(r"[^A-Za-z0-9]+", "", Path(path).stem) or "CJK"
    name = f"CJK-{stem}-{index}"
    try:
        font = TTFont(name, path, subfontIndex=index)
    except (TTFError, OSError, ValueError, KeyError, IndexError) as exc:
        log.info("font %s#%d not usable: %s", path, index, exc)
        return None
    cmap = font.face.charToGlyph
    if chinese and not all(ord(ch) in cmap for ch in _PROBE):
        log.info("font %s#%d has no Chinese glyphs", path, index)
        return None
    pdfmetrics.registerFont(font)
    _registered[key] = name
    return name


def _fc_match() -> list[str]:
    exe = shutil.which("fc-match")
    if not exe:
        return []
    try:
        out = subprocess.run([exe, "-s", "-f", "%{file}\n", ":lang=zh-cn"], capture_output=True,
                             text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line for line in out.splitlines()[:8] if line.lower().endswith(_FONT_EXT)]


def _walk(dirs: Iterable[Path]) -> list[str]:
    found: list[str] = []
    for base in dirs:
        if not base.is_dir():
            continue
        for root, _subdirs, files in os.walk(base):
            for fname in sorted(files):
                if fname.lower().endswith(_FONT_EXT) and _CJK_NAME.search(fname):
                    found.append(os.path.join(root, fname))
    return found


def _cid() -> FontChoice:
    if CID_FALLBACK not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK))
    return FontChoice(CID_FALLBACK, None, False)


def resolve_font(config_path: str | None = None, *,
                 candidates: Sequence[str] | None = None,
                 search_dirs: Sequence[Path] | None = None,
                 use_fc_match: bool = True) -> FontChoice:
    """Return a registered font for Chinese text; never raises.

    ``config_path`` (the station setting) is tried first; ``"builtin:STSong-Light"`` forces the
    CID fallback. ``candidates`` / ``search_dirs`` / ``use_fc_match`` replace the defaults (tests,
    unusual systems); results are cached only for the defaults.
    """
    default_search = candidates is None and search_dirs is None and use_fc_match
    with _lock:
        if default_search and config_path in _cache:
            return _cache[config_path]
        choice = _resolve(config_path, candidates, search_dirs, use_fc_match)
        if default_search:
            _cache[config_path] = choice
        return choice


def _resolve(config_path: str | None, candidates: Sequence[str] | None,
             search_dirs: Sequence[Path] | None, use_fc_match: bool) -> FontChoice:
    if config_path == BUILTIN:
        return _cid()
    if config_path:
        path, index = _split_index(config_path)
        if os.path.isfile(path):
            name = _register_ttf(path, index)
            if name:
                return FontChoice(name, path, True)
        log.warning("configured font %s is missing or unusable; searching the system", config_path)

    def tries() -> Iterable[str]:
        yield from (KNOWN_PATHS if candidates is None else candidates)
        if use_fc_match:
            yield from _fc_match()
        yield from _walk(default_search_dirs() if search_dirs is None else search_dirs)

    seen: set[str] = set()
    for spec in tries():
        path, index = _split_index(spec)
        if path in seen or not os.path.isfile(path):
            continue
        seen.add(path)
        name = _register_ttf(path, index)
        if name:
            return FontChoice(name, path, True)
    log.warning("no CJK TrueType font found; using built-in %s (not embedded)", CID_FALLBACK)
    return _cid()


# --------------------------------------------------------------------------- per-character fallback

_fallbacks: tuple[str, ...] | None = None
_glyph_cache: dict[tuple[str, str], str | None] = {}


def fallback_fonts() -> tuple[str, ...]:
    """Every usable installed font worth trying for a character the document's font lacks, registered
    (once per process, on the first character missing from a document's font): the known CJK files,
    ``fc-match``'s fonts and the CJK families in the font folders (each with Chinese glyphs), then the
    symbol fonts of :data:`SYMBOL_PATHS`."""
    global _fallbacks
    with _lock:
        if _fallbacks is None:
            names: list[str] = []
            seen: set[str] = set()
            specs = [(spec, True) for spec in (*KNOWN_PATHS, *_fc_match(), *_walk(default_search_dirs()))]
            for spec, chinese in (*specs, *((spec, False) for spec in SYMBOL_PATHS)):
                path, index = _split_index(spec)
                if path in seen or not os.path.isfile(path):
                    continue
                seen.add(path)
                name = _register_ttf(path, index, chinese=chinese)
                if name and name not in names:
                    names.append(name)
            _fallbacks = tuple(names)
        return _fallbacks


def _drawable(ch: str) -> bool:
    """Whether ``ch`` needs a glyph at all (spaces and control characters are not drawn)."""
    return not (ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf"))


def has_glyph(font: str, ch: str) -> bool:
    """Whether ``font`` (a registered name) draws ``ch``. reportlab's CID font is supplied by the
    viewer; it is written in UCS-2, so it can only carry the Basic Multilingual Plane."""
    face = getattr(pdfmetrics.getFont(font), "face", None)
    cmap = getattr(face, "charToGlyph", None)
    if isinstance(cmap, dict):
        return ord(ch) in cmap
    return ord(ch) <= 0xFFFF


def glyph_font(ch: str, font: str) -> str | None:
    """The font ``ch`` is drawn in: ``font`` when it has the glyph (or none is needed), else the first
    fallback that has it; None when no installed font has it."""
    key = (font, ch)
    if key in _glyph_cache:
        return _glyph_cache[key]
    found: str | None = font
    if _drawable(ch) and not has_glyph(font, ch):
        found = next((f for f in fallback_fonts() if f != font and has_glyph(f, ch)), None)
        if found is None:
            log.warning("no installed font has a glyph for U+%04X", ord(ch))
    _glyph_cache[key] = found
    return found


def cover(text: str, font: str) -> tuple[str, list[str]]:
    """``text`` with every character no installed font can draw replaced by :data:`MISSING`, and
    those characters (in order of appearance, once each)."""
    missing: list[str] = []
    out = []
    for ch in text:
        if glyph_font(ch, font) is None:
            if ch not in missing:
                missing.append(ch)
            out.append(MISSING)
        else:
            out.append(ch)
    return "".join(out), missing


def font_runs(text: str, font: str) -> list[tuple[str, str]]:
    """``text`` cut into (run, font name) pieces, each drawn in one font (see :func:`glyph_font`);
    a character no font has stays in ``font`` (call :func:`cover` first to avoid that)."""
    runs: list[tuple[str, str]] = []
    for ch in text:
        f = glyph_font(ch, font) or font
        if runs and runs[-1][1] == f:
            runs[-1] = (runs[-1][0] + ch, f)
        else:
            runs.append((ch, f))
    return runs


def in_font(text: str, font: str) -> str:
    """``text`` for a place that draws in ``font`` alone (a chart label): every character ``font`` has
    no glyph for becomes :data:`MISSING`, a visible box instead of a blank."""
    return "".join(ch if not _drawable(ch) or has_glyph(font, ch) else MISSING for ch in text)
