"""Search text for the FTS5 index: what an operator might type to find a case.

unicode61 would treat a run of Chinese characters as one token, so names and item names are
indexed character by character ("李 明") and searched as a phrase; pinyin is indexed joined
("liming"), by syllable and as initials ("lm") so that prefixes match; the case number compactly
and by its day sequence; the last four ID digits only as a keyed token (``PiiCodec.last4_token``),
so the index holds nothing of the ID a copied database could read.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable

from pypinyin import lazy_pinyin

_CJK = re.compile(r"[\u3400-\u9fff]")


@lru_cache(maxsize=65536)
def name_pinyin(name: str) -> tuple[str, str]:
    """(joined full pinyin, initials) of a name, lower-case, tones dropped."""
    syllables = [s for s in lazy_pinyin(name, errors="ignore") if s.isascii() and s.isalpha()]
    return "".join(syllables).lower(), "".join(s[0] for s in syllables).lower()


@lru_cache(maxsize=4096)
def _spaced(text: str) -> str:
    return " ".join(ch for ch in text if not ch.isspace())


def case_search_text(number: str, name: str, pinyin: str, initials: str, last4_token: str,
                     item_name: str) -> str:
    compact = number.replace("-", "").lower()
    parts = number.split("-")
    seq = parts[2] if len(parts) >= 3 else ""
    syllables = " ".join(lazy_pinyin(name, errors="ignore")).lower()
    item_pinyin, item_initials = name_pinyin(item_name)
    return " ".join(x for x in (compact, seq, _spaced(name), pinyin, syllables, initials,
                                last4_token, _spaced(item_name), item_initials) if x)


_LAST4 = re.compile(r"^\d{3}[\dx]$")


def fts_query(text: str, last4_token: Callable[[str], str] | None = None) -> str | None:
    """Turn what the operator typed into an FTS5 query, or None when nothing is searchable.

    Four characters that could end an ID number also match the keyed last-four token."""
    tokens: list[str] = []
    for chunk in text.strip().lower().replace("-", "").split():
        if _CJK.search(chunk):
            chars = [c for c in chunk if c.isalnum()]
            if chars:
                tokens.append('"' + " ".join(chars) + '"')
        else:
            clean = "".join(c for c in chunk if c.isalnum())
            if clean and last4_token is not None and _LAST4.match(clean):
                tokens.append(f'("{clean}"* OR "{last4_token(clean)}")')
            elif clean:
                tokens.append(f'"{clean}"*')
    return " AND ".join(tokens) if tokens else None
