"""Chinese line breaking for every printout: where a line may end, decided here and only here.

reportlab's CJK wrapping breaks between any two characters and lets a closing mark that does not
fit hang into the margin, which on a thermal roll is paper the head never reaches. This module
breaks plain text into lines that fit a width, following the usual rules of Chinese typesetting
(禁则, as in GB/T 15834 practice and W3C clreq):

* no line starts with a closing mark (，。、；：？！）》」』】 …) and no line ends with an opening mark
  (（《「『【 …): the mark travels with its neighbour, and when that neighbour does not fit either,
  both go to the next line (never hanging past the edge);
* some runs never break: case numbers (written whole, or spaced for reading aloud), dates
  (2026年3月15日, with its weekday), times, ID-like and other ASCII tokens (4201**********123X,
  027-8888, GLJT-2026-0088), a number with its unit (2份, 5个工作日, 第三十二条) and the terms in
  :data:`KEEP_TOGETHER` (原件及复印件 …);
* a run wider than a whole line is the only thing that breaks inside: at its spaces first, then
  between characters (still keeping the marks rules).

:func:`break_lines` is the algorithm (pure: a width function in, lines out); :class:`BrokenParagraph`
is the reportlab paragraph that uses it at whatever width the frame or table cell gives it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence
from xml.sax.saxutils import escape

from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Paragraph
from reportlab.platypus.paragraph import cleanBlockQuotedText

from .fonts import font_runs, glyph_font

#: May not start a line (closing brackets and quotes, sentence and clause marks, ellipsis, units).
CLOSING = frozenset("，。、；：？！）》」』】〕〉｝］〗〙〛”’…‥·・％‰℃°″′～"
                    ",.;:?!)]}>%")
#: May not end a line (opening brackets and quotes).
OPENING = frozenset("（《「『【〔〈｛［〖〘〚“‘([{<＜")

#: Terms that read wrongly when split across lines (the longest match wins).
KEEP_TOGETHER: tuple[str, ...] = (
    "原件及复印件", "原件和复印件", "原件或复印件", "复印件（加盖公章）", "原件", "复印件", "居民身份证", "身份证",
    "户口簿", "户口本", "结婚证", "银行卡", "社保卡", "残疾人证", "营业执照", "办件编号", "查询密码", "收件回执",
    "一次性告知书", "告知书", "通知书", "承诺书", "申请表", "不予受理", "不予批准", "行政复议", "行政诉讼",
    "工作日", "容缺", "补正", "补交", "盖章", "签名", "手印", "服务站", "人民政府", "人民法院",
)

_CN_NUM = "一二三四五六七八九十百千零〇两"
_UNIT = r"(?:个工作日|个自然日|个月|周岁|工作日|小时|分钟|份|元|日|天|次|页|条|项|件|人|岁|年|月|号|张|本|周|%|％)"
_PATTERNS = (
    # the station's case number, spaced for reading aloud (one line or the receipt's two)
    r"\d{4} \d{4} \d{4} - \d{6} - \d{4} - [0-9X]",
    r"\d{6} - \d{4} - [0-9X]",
    r"\d{4} \d{4} \d{4}(?= |$|\n)",
    # an older-style case number in groups of four: 4201 0210 0201 2026 0315 00071 K
    r"(?:[0-9A-Z]{4,5} ){3,}[0-9A-Z](?![0-9A-Za-z])",
    # dates and times: 2026年3月15日（星期五）, 3月20日, 2026年3月, 09:30
    r"\d{4}年\d{1,2}月\d{1,2}日(?:（星期[一二三四五六日天]）)?",
    r"\d{4}年\d{1,2}月",
    r"\d{1,2}月\d{1,2}日(?:（星期[一二三四五六日天]）)?",
    r"\d{4}年",
    # a label with the blank to sign or write on: 申请人签名：＿＿＿＿
    r"[\u4e00-\u9fff]{1,6}[：:]＿+",
    r"＿+",
    # a short note in brackets: （估算）, （原件）, （有则提供）
    r"（[^（）\s]{1,4}）",
    # 第三十二条, 第2次
    rf"第[\d{_CN_NUM}]+[条款项次章节页号批]",
    # a number with its unit: 2份, 5个工作日, 200元
    rf"\d+(?:\.\d+)?{_UNIT}",
    # ASCII tokens: numbers, masked IDs, phones, codes, URLs (no spaces inside)
    r"[0-9A-Za-z*＊#@&_./:+\-=?~]+",
)
_RUN = re.compile("|".join([*_PATTERNS, *(re.escape(t) for t in sorted(KEEP_TOGETHER, key=len, reverse=True))]))
_SPACE = re.compile(r"[ \t\u3000]+")

Measure = Callable[[str], float]


@dataclass(frozen=True)
class _Seg:
    text: str
    space: bool = False   # a break opportunity, dropped at the end and start of a line


def _atoms(text: str) -> list[_Seg]:
    """Unbreakable runs, single characters and spaces, in order."""
    out: list[_Seg] = []
    i = 0
    while i < len(text):
        sp = _SPACE.match(text, i)
        if sp:
            out.append(_Seg(sp.group(), space=True))
            i = sp.end()
            continue
        run = _RUN.match(text, i)
        if run and run.end() > i:
            out.append(_Seg(run.group()))
            i = run.end()
        else:
            out.append(_Seg(text[i]))
            i += 1
    return out


def _glue(atoms: Iterable[_Seg]) -> list[_Seg]:
    """Join what may not be parted: a closing mark to what precedes it, an opening mark to what follows."""
    out: list[_Seg] = []
    for a in atoms:
        prev = out[-1] if out else None
        if prev is not None and not prev.space and not a.space and (
                a.text[0] in CLOSING or prev.text[-1] in OPENING):
            out[-1] = _Seg(prev.text + a.text)
        elif prev is not None and prev.space and len(out) > 1 and not a.space and a.text[0] in CLOSING:
            out[-2:] = [_Seg(out[-2].text + prev.text + a.text)]   # "word ，": the space does not let it start a line
        else:
            out.append(a)
    return out


def _chars(text: str, width: float, measure: Measure) -> list[str]:
    """A run wider than the line, cut between characters, keeping the marks rules where it can."""
    lines: list[str] = []
    line = ""
    for ch in text:
        if not line or measure(line + ch) <= width:
            line += ch
            continue
        carry = ""
        # a closing mark takes the character before it along; an opening mark goes down with what follows
        if ch in CLOSING:
            # back to the last character that may start a line, keeping one on this line
            k = len(line) - 1
            while k > 0 and line[k] in CLOSING:
                k -= 1
            if k > 0 and measure(line[k:] + ch) <= width:
                line, carry = line[:k], line[k:]
        while len(line) > 1 and line[-1] in OPENING and measure(line[-1] + carry + ch) <= width:
            line, carry = line[:-1], line[-1] + carry
        lines.append(line)
        line = carry + ch
    if line:
        lines.append(line)
    return lines


def _fill(segs: Sequence[_Seg], widths: Sequence[float], measure: Measure, start: int = 0) -> list[str]:
    """Greedy filling: as many segments on a line as fit; ``widths[i]`` for line i (the last repeats)."""
    lines: list[str] = []

    def width() -> float:
        return widths[min(start + len(lines), len(widths) - 1)]

    line = space = ""
    for seg in segs:
        if seg.space:
            space = seg.text if line else ""
            continue
        if line and measure(line + space + seg.text) <= width():
            line, space = line + space + seg.text, ""
            continue
        if line:
            lines.append(line)
            line = space = ""
        if measure(seg.text) <= width():
            line = seg.text
            continue
        pieces = _oversized(seg.text, widths, measure, start + len(lines))
        lines += pieces[:-1]
        line = pieces[-1] if pieces else ""
    if line:
        lines.append(line)
    return lines


#: Inside a run too wide for a line, the least bad places to break: after a hyphen, slash or a date
#: unit, before a bracket.
_SOFT = re.compile(r"(?<=[-/年月：:])(?=.)|(?<=日)(?=[（(])|(?<=.)(?=[（(])")


def _oversized(text: str, widths: Sequence[float], measure: Measure, start: int) -> list[str]:
    """A run wider than a whole line: broken at its spaces, else at its soft points, else anywhere."""
    if " " in text.strip():
        parts = [_Seg(p, space=p.isspace()) for p in re.split(r"( +)", text) if p]
        return _fill(_glue(parts), widths, measure, start)
    soft = [p for p in _SOFT.split(text) if p]
    if len(soft) > 1:
        # each piece whole when it fits; a piece that does not fit alone is cut between characters
        return _fill(_glue(_Seg(p) for p in soft), widths, measure, start)
    return _chars(text, widths[min(start, len(widths) - 1)], measure)


def break_lines(text: str, widths: float | Sequence[float], measure: Measure) -> list[str]:
    """``text`` broken into lines no wider than ``widths`` (one width, or the first line's and the rest's).

    Explicit newlines are kept; an empty line stays empty. ``measure(s)`` gives a string's width.
    """
    ws = [float(widths)] if isinstance(widths, (int, float)) else list(widths)
    out: list[str] = []
    for hard in text.split("\n"):
        hard = hard.rstrip(" \t\u3000").lstrip(" \t")
        if not hard:
            out.append("")
            continue
        indent = hard[:len(hard) - len(hard.lstrip("\u3000"))]   # a paragraph's 　　 indent stays
        segs = ([_Seg(indent)] if indent else []) + _glue(_atoms(hard[len(indent):]))
        out += _fill(segs, ws, measure, start=len(out))
    return out


def measure_with(font: str, size: float) -> Measure:
    """The width of a string as reportlab will draw it (the sum of its glyphs, as the CJK wrapper adds
    them, each in the font that draws it: :func:`printouts.fonts.glyph_font`)."""
    cache: dict[str, float] = {}

    def width(s: str) -> float:
        total = 0.0
        for ch in s:
            w = cache.get(ch)
            if w is None:
                w = cache[ch] = stringWidth(ch, glyph_font(ch, font) or font, size)
            total += w
        return total + 1e-3   # never exactly at the edge: the drawing adds the same widths in another order

    return width


def markup(line: str, font: str) -> str:
    """One line of plain text as paragraph markup: escaped, and every run of characters that ``font``
    has no glyph for set in the installed font that has (``<font name=…>``)."""
    return "".join(escape(run) if f == font else f'<font name="{f}">{escape(run)}</font>'
                   for run, f in font_runs(line, font))


class BrokenParagraph(Paragraph):
    """A paragraph of plain text, broken by :func:`break_lines` at the width it is laid out in.

    reportlab then only draws the given lines (each fits, so its own wrapper never breaks one). The
    parts of a paragraph split across pages are ordinary paragraphs of lines already broken.
    """

    def __init__(self, text: str | None, style: object = None, bulletText: str | None = None,
                 frags: object = None, plain: str | None = None, **kw: object):
        if plain is not None:
            font = getattr(style, "fontName", "")
            text = "<br/>".join(markup(line, font) for line in plain.split("\n"))
        super().__init__(text, style, bulletText, frags, **kw)  # type: ignore[arg-type]
        self._plain = plain
        self._broken_at: float | None = None

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        if self._plain is not None and availWidth != self._broken_at:
            st = self.style
            first = availWidth - st.leftIndent - st.firstLineIndent - st.rightIndent
            later = availWidth - st.leftIndent - st.rightIndent
            lines = break_lines(self._plain, (first, later), measure_with(st.fontName, st.fontSize))
            self._setup("<br/>".join(markup(line, st.fontName) for line in lines), st, self.bulletText, None,
                        cleanBlockQuotedText)
            self.__dict__.pop("blPara", None)
            self._broken_at = availWidth
        return super().wrap(availWidth, availHeight)
