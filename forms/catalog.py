"""The service catalog: loads forms/catalog/*.toml, reports broken files, finds items.

A broken file never stops the station: it is reported as a :class:`CatalogIssue` (file, key,
Chinese message) in ``Catalog.issues`` and skipped; every other item still loads.

Pinyin: importing pypinyin costs ~100–150 ms (its phrase dictionary), and the CLI loads the catalog
on every command. Pinyin of each name is therefore kept in a small JSON cache (per user cache dir by
default) keyed by the name; pypinyin is imported only when a name is not in the cache yet.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable

import platformdirs

from forms.schema import ServiceItem, parse_item
from forms.problems import StationError

DEFAULT_CATALOG_DIR = Path(__file__).resolve().parent / "catalog"
PINYIN_CACHE_FILE = "pinyin-cache-v1.json"
MAX_FILE_BYTES = 256 * 1024

_ASCII_WORD = re.compile(r"[a-z0-9]+")
_QUERY_JUNK = re.compile(r"[\s'’·\-_]+")


@dataclass(frozen=True)
class CatalogIssue:
    """One problem in one catalog file: ``key`` is the dotted TOML key ("" for the whole file)."""

    path: Path
    key: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"path": str(self.path), "key": self.key, "message": self.message}

    def __str__(self) -> str:
        where = f"{self.path.name}: {self.key}" if self.key else self.path.name
        return f"{where}: {self.message}"


# --- pinyin -----------------------------------------------------------------------------------

def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("village-station", appauthor=False))


class PinyinCache:
    """name -> space-separated toneless syllables, persisted as JSON; computes misses with pypinyin."""

    def __init__(self, path: Path | None):
        self.path = path
        self._data: dict[str, str] = {}
        self._dirty = False
        if path is not None and path.is_file():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                loaded = {}  # a corrupt cache is only a slower load: recompute and rewrite
            if isinstance(loaded, dict):
                self._data = {k: v for k, v in loaded.items() if isinstance(k, str) and isinstance(v, str)}

    def syllables(self, text: str) -> list[str]:
        cached = self._data.get(text)
        if cached is None:
            cached = " ".join(_compute_syllables(text))
            self._data[text] = cached
            self._dirty = True
        return cached.split()

    def save(self) -> None:
        if not self._dirty or self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self._data, ensure_ascii=False, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.path)
            self._dirty = False
        except OSError:
            # A read-only or full cache dir costs speed on the next load, never correctness.
            pass


def _compute_syllables(text: str) -> list[str]:
    from pypinyin import Style, lazy_pinyin  # slow import, only on a cache miss

    out: list[str] = []
    for chunk in lazy_pinyin(text, style=Style.NORMAL, errors="default"):
        # Non-Han runs come back unchanged: keep their ASCII words, drop punctuation.
        out.extend(_ASCII_WORD.findall(chunk.lower().replace("ü", "v")))
    return out


def _pinyin_pair(syllables: Iterable[str]) -> tuple[str, str]:
    parts = list(syllables)
    return "".join(parts), "".join(p[0] for p in parts if p)


# --- catalog ----------------------------------------------------------------------------------

class Catalog:
    """Every loaded item, ordered by code, plus the issues of the files that did not load."""

    def __init__(self, items: Iterable[ServiceItem], issues: Iterable[CatalogIssue] = ()):
        self.items: tuple[ServiceItem, ...] = tuple(sorted(items, key=lambda i: i.code))
        self.issues: tuple[CatalogIssue, ...] = tuple(issues)
        self._by_code = {i.code: i for i in self.items}

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):
        return iter(self.items)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code.strip().upper() in self._by_code

    def for_division(self, division_code: str) -> "Catalog":
        """The catalog as it applies in a station's province (``[province.NN]`` overrides applied)."""
        return Catalog((i.for_province(division_code[:2]) for i in self.items), self.issues)

    def get(self, code: str) -> ServiceItem:
        item = self._by_code.get(code.strip().upper()) if isinstance(code, str) else None
        if item is None:
            raise StationError("unknown_item", f"未找到事项编码 {code}")
        return item

    def search(self, text: str, limit: int = 20) -> list[ServiceItem]:
        """Find items by code, name, full pinyin or pinyin initials, case-insensitive.

        Ranking: exact code, then exact initials (db → 低保), initials prefix (gljt → 高龄津贴), then
        name/short-name substring,
        then code prefix/substring, then full pinyin prefix, then pinyin substring; ties by code.
        An empty query lists the catalog.
        """
        raw = (text or "").strip()
        if limit <= 0:
            return []
        if not raw:
            return list(self.items[:limit])
        upper = raw.upper()
        lowered = raw.lower()
        compact = _QUERY_JUNK.sub("", lowered).replace("ü", "v").replace("u:", "v")
        ranked: list[tuple[int, str, ServiceItem]] = []
        for item in self.items:
            rank = _rank(item, upper, lowered, compact)
            if rank is not None:
                ranked.append((rank, item.code, item))
        ranked.sort(key=lambda t: (t[0], t[1]))
        return [t[2] for t in ranked[:limit]]


def _rank(item: ServiceItem, upper: str, lowered: str, compact: str) -> int | None:
    code = item.code
    if upper == code:
        return 0
    initials = (item.initials, item.short_initials)
    pinyins = (item.pinyin, item.short_pinyin)
    ascii_query = bool(compact) and compact.isascii() and compact.isalnum()
    if ascii_query and any(i and i == compact for i in initials):
        return 1  # "db" is 低保 itself before 低保边缘家庭认定
    if ascii_query and any(i and i.startswith(compact) for i in initials):
        return 2
    if lowered in item.name.lower() or (item.short_name and lowered in item.short_name.lower()):
        return 3
    if upper in code or upper.replace(" ", "") in code.replace("-", ""):
        return 4
    if ascii_query and any(p and p.startswith(compact) for p in pinyins):
        return 5
    if ascii_query and any(p and compact in p for p in pinyins):
        return 6
    return None


def load_catalog(directory: Path | None = None, *, cache_dir: Path | None = None,
                 use_cache: bool = True) -> Catalog:
    """Load every ``*.toml`` in ``directory`` (default: the shipped forms/catalog).

    Broken files become issues and are skipped. Files are read in name order, so when two files
    claim the same code the later file name is the one reported. ``cache_dir`` is where the pinyin
    cache lives (default: the per-user cache dir); ``use_cache=False`` computes pinyin in memory.
    """
    directory = DEFAULT_CATALOG_DIR if directory is None else Path(directory)
    cache = PinyinCache((cache_dir or default_cache_dir()) / PINYIN_CACHE_FILE if use_cache else None)
    items: list[ServiceItem] = []
    issues: list[CatalogIssue] = []
    seen_codes: dict[str, Path] = {}
    if not directory.is_dir():
        issues.append(CatalogIssue(directory, "", "事项目录不存在"))
        return Catalog(items, issues)
    for path in sorted(directory.glob("*.toml")):
        item, file_issues = _load_file(path, cache)
        if item is not None and item.code in seen_codes:
            file_issues.append(CatalogIssue(
                path, "code", f"事项编码 {item.code} 与文件 {seen_codes[item.code].name} 重复，本文件未载入"))
            item = None
        issues.extend(file_issues)
        if item is not None:
            seen_codes[item.code] = path
            items.append(item)
    cache.save()
    return Catalog(items, issues)


def _load_file(path: Path, cache: PinyinCache) -> tuple[ServiceItem | None, list[CatalogIssue]]:
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        return None, [CatalogIssue(path, "", f"无法读取文件：{exc.strerror or exc}")]
    if len(raw_bytes) > MAX_FILE_BYTES:
        return None, [CatalogIssue(path, "", f"文件过大（超过 {MAX_FILE_BYTES // 1024} KiB）")]
    try:
        data = tomllib.loads(raw_bytes.decode("utf-8"))
    except UnicodeDecodeError:
        return None, [CatalogIssue(path, "", "文件不是 UTF-8 编码，请用 UTF-8 保存")]
    except tomllib.TOMLDecodeError as exc:
        return None, [CatalogIssue(path, "", f"TOML 格式错误：{exc}")]
    item, problems, overrides = parse_item(data)
    if item is None:
        return None, [CatalogIssue(path, p.key, p.message) for p in problems]
    name_syl = overrides["pinyin"].split() if overrides["pinyin"] else cache.syllables(item.name)
    pinyin, initials = _pinyin_pair(name_syl)
    short_pinyin = short_initials = ""
    if item.short_name:
        short_syl = (overrides["short_pinyin"].split() if overrides["short_pinyin"]
                     else cache.syllables(item.short_name))
        short_pinyin, short_initials = _pinyin_pair(short_syl)
    return replace(item, pinyin=pinyin, initials=initials, short_pinyin=short_pinyin,
                   short_initials=short_initials), []
