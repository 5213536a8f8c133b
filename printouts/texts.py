"""Printout wording, loaded from ``printouts/texts/zh.toml`` so officials can change it.

The file is checked when loaded: every key the documents use must be there, and each text may
only use the placeholders listed in :data:`SCHEMA` (a typo such as ``{agnet}`` would otherwise
crash at print time, in front of a citizen). All problems are reported at once.
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from forms.problems import ProblemList, StationError

_P = frozenset
#: section -> key -> placeholders the text may use
SCHEMA: dict[str, dict[str, frozenset[str]]] = {
    "common": {
        "reprint_mark": _P({"n"}), "estimate_suffix": _P(), "estimate_note": _P(),
        "footer": _P({"station_name", "station_phone"}), "page": _P({"page"}),
        "running_head": _P({"title", "case_number"}),
        "case_number": _P(), "query_password": _P(), "password_withheld": _P(), "item": _P(), "department": _P(),
        "applicant": _P(), "id_number": _P(), "phone": _P(), "received_at": _P(), "promised": _P(),
        "statutory": _P(), "agent": _P(), "status": _P(), "none": _P(), "material_no": _P(),
        "material_name": _P(), "material_form": _P(), "material_copies": _P(),
        "material_status": _P(), "copies": _P({"copies"}), "optional": _P(),
        "status_received": _P(), "status_missing": _P(), "status_missing_due": _P({"due"}),
        "status_waived": _P(), "status_waived_due": _P({"due"}), "sign_agent": _P(),
        "sign_applicant": _P(), "sign_date": _P(), "deciding_body": _P(), "accepting_body": _P(),
        "legal_basis": _P(), "accepted_at": _P(), "where_now": _P(), "forwarded": _P({"body", "due"}),
        "posting": _P({"start", "end", "days"}), "handover": _P({"due", "body"}),
        "missing_glyphs": _P({"codes"}), "supersedes": _P({"date", "title"}),
    },
    "receipt": {
        "title": _P(), "materials_received": _P(), "materials_to_bring": _P(), "next_title": _P(),
        "next_village": _P({"station_phone", "promised", "agent", "deciding_body"}),
        "next_township": _P({"station_phone", "promised", "agent", "accepting_body", "handover", "deciding_body"}),
        "next_default": _P({"station_phone", "promised", "agent"}),
        "no_promise": _P(), "keep": _P(), "qr_caption": _P(), "qr_caption_text": _P(), "scan_to_query": _P(), "renumbered": _P({"old"}),
    },
    "notice": {
        "title": _P(), "intro": _P({"applicant", "item"}), "materials_title": _P(),
        "where_title": _P(), "where": _P({"station_name", "station_address", "station_phone"}),
        "all_received": _P(), "legal": _P(),
    },
    "correction": {
        "title": _P(), "intro": _P({"applicant", "item", "body", "requested_at"}),
        "reason_title": _P(), "materials_title": _P(),
        "due": _P({"due", "station_name", "station_address", "station_phone"}), "legal": _P(),
    },
    "result": {
        "title": _P(), "intro": _P({"applicant", "item", "received_at", "decided_at"}),
        "result": _P(), "certificate_no": _P(), "decided_by": _P(), "collect_where": _P(),
        "collect_how": _P(), "bring": _P(), "posted": _P({"start", "end", "days"}),
    },
    "acceptance": {
        "title": _P(), "intro": _P({"applicant", "item", "received_at", "accepted_at", "accepting_body"}),
        "deemed": _P({"received_at", "accepting_body"}), "promise": _P({"promised", "deciding_body"}),
        "legal": _P(), "seal": _P({"body"}),
    },
    "inform": {
        "title": _P(), "number": _P(), "intro": _P({"applicant", "item"}), "materials_title": _P(),
        "unmet_title": _P(), "jurisdiction": _P({"apply_to"}), "where_title": _P(),
        "where": _P({"station_name", "station_address", "station_phone", "number"}), "promise": _P(),
        "legal": _P(), "made_at": _P(), "status_brought": _P(), "status_missing": _P(),
        "status_waivable": _P(), "none_unmet": _P(),
    },
    "application": {
        "title": _P({"item"}), "intro": _P(), "applicant_title": _P(), "fields_title": _P(),
        "materials_title": _P(), "declaration": _P(), "sign": _P(), "address": _P(), "relationship": _P(),
        "sex": _P(), "birth_date": _P(),
    },
    "commitment": {
        "title": _P(), "intro": _P({"applicant", "item", "accepting_body"}), "materials_title": _P(),
        "consequence": _P({"accepting_body"}), "sign": _P({"signer"}),
    },
    "rating_card": {
        "title": _P(), "intro": _P({"item"}), "levels": _P(), "detail": _P(), "qr_caption": _P(),
        "independent": _P(), "thanks": _P(),
    },
    "refusal": {
        "title": _P({"kind"}),
        "intro": _P({"applicant", "item", "received_at", "authority", "kind"}),
        "reason_title": _P(), "decided_by": _P(), "decided_at": _P(),
        "rights": _P({"reconsideration_body", "court"}), "help": _P(), "seal": _P({"authority"}),
        "basis_title": _P(), "apply_to": _P({"apply_to"}), "no_rights": _P(), "body": _P(),
    },
    "daily": {
        "title": _P(), "day": _P({"day"}), "by_item_title": _P(), "item": _P(), "count": _P(),
        "total": _P(), "pending_sync": _P({"n"}), "pending_sync_zero": _P(),
        "near_due_title": _P(), "overdue_title": _P(), "due": _P(), "none": _P(),
    },
    "monthly": {
        "title": _P({"station_name", "month"}), "period": _P({"date_from", "date_to", "made_on"}),
        "totals_title": _P(), "village_title": _P(), "village_chart_title": _P(),
        "daily_chart_title": _P(), "item_title": _P(), "village": _P(), "item": _P(),
        "received": _P(), "accepted": _P(), "completed": _P(), "on_time": _P(),
        "on_time_rate": _P(), "overdue_now": _P(), "avg_working_days": _P(),
        "corrections_per_case": _P(), "ratings": _P(), "satisfaction_rate": _P(),
        "bad_ratings": _P(), "followups": _P(), "undefined": _P(), "none": _P(),
        "day_axis": _P(), "count_axis": _P(), "chart_part": _P({"part", "parts"}),
        "definitions_title": _P(), "definitions": _P(), "pointer": _P(), "measures_title": _P(),
        "consultations": _P(), "deemed_accepted": _P(), "not_accepted": _P(), "forwarded": _P(),
        "second_corrections": _P(), "handover_late": _P(), "early_rate": _P(), "on_the_spot_rate": _P(),
        "one_trip_rate": _P(), "trips_per_case": _P(), "revisit_rate": _P(), "rectification_rate": _P(),
        "share": _P(), "correction_overdue_now": _P(),
    },
}


@dataclass(frozen=True)
class Texts:
    """Validated wording; ``t("receipt", "title")`` or ``t("common", "copies", copies=2)``."""

    sections: Mapping[str, Mapping[str, str]]

    def __call__(self, section: str, key: str, **values: Any) -> str:
        text = self.sections[section][key]
        return text.format(**values)


def _placeholders(text: str) -> set[str] | None:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return None


def parse_texts(data: Mapping[str, Any], source: str) -> Texts:
    problems = ProblemList()
    sections: dict[str, dict[str, str]] = {}
    for section, keys in SCHEMA.items():
        table = data.get(section)
        if not isinstance(table, dict):
            problems.add(section, "missing_section", f"缺少段落 [{section}]")
            continue
        sections[section] = {}
        for key, allowed in keys.items():
            field_name = f"{section}.{key}"
            text = table.get(key)
            if not isinstance(text, str):
                problems.add(field_name, "missing_text", f"缺少文字 {field_name}")
                continue
            used = _placeholders(text)
            if used is None:
                problems.add(field_name, "bad_braces", f"{field_name} 的花括号不成对")
                continue
            unknown = used - allowed
            if unknown:
                allowed_txt = "、".join(sorted(allowed)) or "（不能使用）"
                problems.add(field_name, "unknown_placeholder",
                             f"{field_name} 用了未知的 {{{'}、{'.join(sorted(unknown))}}}，"
                             f"可用：{allowed_txt}")
                continue
            sections[section][key] = text
    problems.raise_if_any("bad_texts", f"打印文字文件有误：{source}")
    return Texts(sections)


def load_texts(path: Path | None = None) -> Texts:
    """Load and check the wording; ``path`` overrides the packaged file (a local edit)."""
    if path is None:
        return _default_texts()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise StationError("bad_texts", f"无法读取打印文字文件 {path}：{exc}") from exc
    return parse_texts(data, str(path))


@lru_cache(maxsize=1)
def _default_texts() -> Texts:
    raw = resources.files("printouts").joinpath("texts/zh.toml").read_text(encoding="utf-8")
    return parse_texts(tomllib.loads(raw), "printouts/texts/zh.toml")
