"""Find a CJK font on this computer and register it with reportlab, embedded.

Order: the configured path, the usual Linux / UOS / Kylin / Windows files, ``fc-match`` for a
Chinese font, a walk of the font folders for a known CJK family, and last reportlab's built-in
CID font ``STSong-Light`` (not embedded: the PDF viewer must supply the glyphs, which most do;
a warning is logged). A font is accepted only if reportlab can load it (TrueType outlines: CFF
based OpenType such as Noto Sans CJK is refused by reportlab) and it has Chinese glyphs.

Registration happens once per process per file; :func:`resolve_font` results are cached.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import threading
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


def _register_ttf(path: str, index: int) -> str | None:
    key = (os.path.abspath(path), index)
    if key in _registered:
        return _registered[key]
    stem = re.sub(r"[^A-Za-z0-9]+", "", Path(path).stem) or "CJK"
    name = f"CJK-{stem}-{index}"
    try:
        font = TTFont(name, path, subfontIndex=index)
    except (TTFError, OSError, ValueError, KeyError, IndexError) as exc:
        log.info("font %s#%d not usable: %s", path, index, exc)
        return None
    cmap = font.face.charToGlyph
    if not all(ord(ch) in cmap for ch in _PROBE):
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
