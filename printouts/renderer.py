"""One entry point: ``render(doc, kind, fmt, large, font_path) -> PDF bytes``."""

from __future__ import annotations

import logging
from pathlib import Path
from types import ModuleType
from typing import Callable

from reportlab.platypus import Flowable

from forms.problems import StationError

from . import (acceptance, application, commitment, correction, daily, inform, monthly, notice, rating_card,
               receipt, refusal, result)
from .fonts import resolve_font
from .formatting import group_case_number
from .layout import ALL_FORMATS, Ctx, build_pdf, make_ctx, missing_note, page_spec
from .model import (AcceptanceDoc, ApplicationDoc, CaseDoc, CommitmentDoc, CorrectionDoc, DailyReport, Document,
                    InformDoc, MonthlyReport, RatingCardDoc, RefusalDoc, ResultDoc)
from .texts import load_texts

log = logging.getLogger(__name__)

#: kind -> (builder module, document type, formats allowed)
KINDS: dict[str, tuple[ModuleType, type, tuple[str, ...]]] = {
    "receipt": (receipt, CaseDoc, ALL_FORMATS),
    "notice": (notice, CaseDoc, ALL_FORMATS),
    "correction": (correction, CorrectionDoc, ALL_FORMATS),
    "result": (result, ResultDoc, ALL_FORMATS),
    "refusal": (refusal, RefusalDoc, ALL_FORMATS),
    "daily": (daily, DailyReport, ("a4",)),
    "acceptance": (acceptance, AcceptanceDoc, ALL_FORMATS),
    "inform": (inform, InformDoc, ALL_FORMATS),
    "application": (application, ApplicationDoc, ("a4",)),
    "commitment": (commitment, CommitmentDoc, ALL_FORMATS),
    "rating_card": (rating_card, RatingCardDoc, ALL_FORMATS),
}

#: Statistics reports (not per-case or per-day documents, no sample data): rendered like the
#: documents above but kept out of :data:`KINDS`, which callers iterate to render every document.
REPORT_KINDS: dict[str, tuple[ModuleType, type, tuple[str, ...]]] = {
    "monthly": (monthly, MonthlyReport, ("a4",)),
}


def _case_of(doc: Document) -> CaseDoc | None:
    if isinstance(doc, CaseDoc):
        return doc
    return getattr(doc, "case", None)


def render(doc: Document, kind: str, fmt: str = "a4", large: bool = False,
           font_path: str | None = None, texts_path: Path | None = None) -> bytes:
    """Render one document to PDF bytes.

    ``kind``: receipt | notice | correction | result | refusal | acceptance | inform | application |
    commitment | rating_card | daily | monthly. ``fmt``: a4 |
    roll80 | roll58 (the daily and monthly reports are A4 only). ``font_path``: the station's configured CJK font, tried
    before the system search; ``"builtin:STSong-Light"`` forces the non-embedded CID font.
    ``texts_path``: a locally edited copy of ``printouts/texts/zh.toml``.
    """
    try:
        module, doc_type, formats = {**KINDS, **REPORT_KINDS}[kind]
    except KeyError:
        raise StationError("bad_kind",
                           f"没有这种文书：{kind}（可用：{'、'.join([*KINDS, *REPORT_KINDS])}）") from None
    spec = page_spec(fmt)
    if fmt not in formats:
        raise StationError("bad_format", f"{kind} 不支持 {fmt} 纸张（可用：{'、'.join(formats)}）")
    if not isinstance(doc, doc_type):
        raise StationError("bad_document",
                           f"{kind} 需要 {doc_type.__name__} 数据，收到的是 {type(doc).__name__}")
    font = resolve_font(font_path)
    if kind == "rating_card":
        large = True  # for elderly citizens, always large type
    ctx = make_ctx(spec, large, font.name, load_texts(texts_path))
    builder: Callable[[Document, Ctx], list[Flowable]] = module.build
    flowables = builder(doc, ctx)
    case = _case_of(doc)
    station = case.station if case else doc.station  # type: ignore[union-attr]
    title_bits = [kind, case.case_number if case else getattr(doc, "number", None) or getattr(doc, "day", None)
                  or getattr(doc, "month", "")]
    footer = ctx.cover(ctx.texts("common", "footer", station_name=station.name, station_phone=station.phone))
    head = None
    if case:
        footer = f"{ctx.cover(case.case_number)}　{footer}"
        head = ctx.cover(ctx.texts("common", "running_head", title=_title(flowables) or kind,
                                   case_number=group_case_number(case.case_number)))
    if ctx.missing:
        # never a silent blank: the characters are boxes on paper and the note says which ones
        log.warning("%s %s: no installed font draws %s; printed as boxes with a note", kind, title_bits[1],
                    " ".join(f"U+{ord(ch):04X}" for ch in ctx.missing))
        flowables += missing_note(ctx)
    return build_pdf(ctx, flowables, title=" ".join(str(b) for b in title_bits), footer=footer,
                     running_head=head)


def _title(flowables: list[Flowable]) -> str:
    """The document's printed title (its first paragraph in the title style)."""
    for f in flowables:
        style = getattr(f, "style", None)
        if getattr(style, "name", "") == "title":
            return getattr(f, "_plain", None) or ""
    return ""
