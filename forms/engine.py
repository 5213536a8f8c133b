"""The form engine: checks one application against its service item and normalises it.

:func:`validate_submission` walks the whole input and reports *every* problem at once (行政许可法
§32: the applicant is told everything to correct in one go), each with a dotted field path
("applicant.id_number", "fields.age", "materials.photo", "commitment.due_date"), a stable code and
a Chinese message. A valid input becomes a frozen :class:`Submission` with normalised values.

Input shape (JSON)::

    {"applicant": {"name", "id_number", "phone", "address", "relationship"?},
     "fields": {KEY: value},
     "materials": {KEY: "received" | "missing" | "waived"},
     "commitment": {"signed": true, "signer": "张三", "due_date": "YYYY-MM-DD",
                    "due_dates": {material_key: "YYYY-MM-DD"}?},
     "item_code"?: "MZ-GLJT-001", "item_version"?: 1}
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Mapping

from forms.schema import FieldDef, ServiceItem
from forms.identity import (
    bank_account_problems,
    credit_code_problems,
    normalize_phone,
    parse_resident_id,
    phone_problems,
    resident_id_problems,
)
from forms.problems import Problem, ProblemList, StationError

MAX_SUBMISSION_BYTES = 64 * 1024
MAX_COMMITMENT_DAYS = 60
MAX_ADDRESS = 200
MAX_RELATIONSHIP = 20
MATERIAL_STATUSES: tuple[str, ...] = ("received", "missing", "waived")
MATERIAL_STATUS_ZH: Mapping[str, str] = {"received": "已收", "missing": "缺", "waived": "容缺"}

TOP_KEYS = frozenset({"applicant", "fields", "materials", "commitment", "item_code", "item_version"})
APPLICANT_KEYS = frozenset({"name", "id_number", "phone", "address", "relationship"})
COMMITMENT_KEYS = frozenset({"signed", "signer", "due_date", "due_dates"})

# Han characters (BMP, Ext A, Ext B–G and compatibility blocks) and 〇; "·" joins the parts of
# minority and transliterated names (买买提·艾力). Variant dots are normalised to U+00B7 first.
_HAN = r"\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_NAME_RE = re.compile(rf"^[{_HAN}]+(·[{_HAN}]+)*$")
_DOTS = str.maketrans({"•": "·", "・": "·", "．": "·", "‧": "·", "∙": "·", "⋅": "·", "●": "·"})
_WS = re.compile(r"\s+")
_SECTION_ZH = {"applicant": "申请人信息", "fields": "表单内容", "materials": "材料情况", "commitment": "承诺书"}
_YES = ("是", "yes", "true")
_NO = ("否", "no", "false")


@dataclass(frozen=True)
class Applicant:
    name: str
    id_number: str       # upper-case, 18 characters
    phone: str           # normalised (forms.identity.normalize_phone)
    address: str
    relationship: str    # of the person at the counter (代办人) to the applicant; "" if not asked
    sex: str             # 男 / 女, from the ID number
    birth_date: date     # from the ID number

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "id_number": self.id_number, "phone": self.phone,
                "address": self.address, "relationship": self.relationship, "sex": self.sex,
                "birth_date": self.birth_date.isoformat()}


@dataclass(frozen=True)
class Submission:
    """A checked application. ``fields`` hold normalised values (int/float, ISO date strings,
    bool for yesno, upper-case IDs); ``waived`` maps each 容缺 material to its due date (ISO)."""

    item_code: str
    item_version: int
    applicant: Applicant
    fields: Mapping[str, Any]
    materials: Mapping[str, str]
    waived: Mapping[str, str]
    commitment_signer: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"item_code": self.item_code, "item_version": self.item_version,
                "applicant": self.applicant.to_dict(), "fields": dict(self.fields),
                "materials": dict(self.materials), "waived": dict(self.waived),
                "commitment_signer": self.commitment_signer}

    @property
    def missing(self) -> tuple[str, ...]:
        """Keys of materials neither received nor waived (only optional ones can be here)."""
        return tuple(k for k, v in self.materials.items() if v == "missing")


# --- helpers ----------------------------------------------------------------------------------

def _clean_text(value: str) -> str:
    return value.strip()


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _parse_iso_date(value: Any) -> date | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def _bound_date(bound: Any, today: date) -> date | None:
    if bound is None:
        return None
    return today if bound == "today" else date.fromisoformat(str(bound))


def _mapping(data: Mapping[str, Any], key: str, problems: ProblemList, *, required: bool) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        if required:
            problems.add(key, "required", f"缺少{_SECTION_ZH.get(key, key)}")
        return {}
    if not isinstance(value, Mapping):
        problems.add(key, "invalid_type", f"{key} 应为对象（键值对）")
        return {}
    return value


def check_person_name(value: Any, field: str, problems: ProblemList, what: str = "姓名") -> str:
    """Chinese personal names: 2–50 Han characters, parts joined by "·" for minority names."""
    if _is_blank(value):
        problems.add(field, "required", f"请填写{what}")
        return ""
    if not isinstance(value, str):
        problems.add(field, "invalid_type", f"{what}应为文字")
        return ""
    name = _WS.sub("", unicodedata.normalize("NFC", value)).translate(_DOTS)
    if len(name) > 50:
        problems.add(field, "too_long", f"{what}过长（最多50个字）")
    elif len(name) < 2:
        problems.add(field, "too_short", f"{what}至少2个字")
    elif not _NAME_RE.match(name):
        problems.add(field, "invalid_name", f"{what}只能由汉字组成，少数民族姓名各部分之间用“·”分隔")
    return name


# --- field values -----------------------------------------------------------------------------

def _check_field(fd: FieldDef, value: Any, path: str, today: date, problems: ProblemList) -> Any:
    """Normalised value of one present (non-blank) field, or None after adding its problems."""
    label = fd.label
    if fd.type == "yesno":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _YES:
            return True
        if isinstance(value, str) and value.strip().lower() in _NO:
            return False
        problems.add(path, "invalid_yesno", f"{label}应填“是”或“否”")
        return None

    if fd.type == "number":
        return _check_number(fd, value, path, problems)

    if not isinstance(value, str):
        problems.add(path, "invalid_type", f"{label}应为文字")
        return None
    text = _clean_text(value)
    if len(text) > fd.max_length:
        problems.add(path, "too_long", f"{label}过长：最多{fd.max_length}个字，现有{len(text)}个字")
        return None

    if fd.type in ("text", "textarea"):
        return text
    if fd.type == "choice":
        if text not in fd.options:
            problems.add(path, "invalid_choice", f"{label}应为以下之一：{'、'.join(fd.options)}")
            return None
        return text
    if fd.type == "date":
        return _check_date(fd, text, path, today, problems)
    if fd.type == "resident_id":
        found = resident_id_problems(text, path, today)
        problems.extend(found)
        return None if found else _WS.sub("", unicodedata.normalize("NFKC", text)).upper()
    if fd.type == "phone":
        found = phone_problems(text, path)
        problems.extend(found)
        return None if found else normalize_phone(text)
    if fd.type == "bank_account":
        found = bank_account_problems(text, path)
        problems.extend(found)
        return None if found else _WS.sub("", unicodedata.normalize("NFKC", text))
    if fd.type == "credit_code":
        found = credit_code_problems(text, path)
        problems.extend(found)
        return None if found else _WS.sub("", unicodedata.normalize("NFKC", text)).upper()
    raise AssertionError(f"unhandled field type {fd.type}")  # schema admits only known types


def _check_number(fd: FieldDef, value: Any, path: str, problems: ProblemList) -> int | float | None:
    label = fd.label
    if isinstance(value, bool):
        problems.add(path, "invalid_number", f"{label}应为数字")
        return None
    if isinstance(value, str):
        text = _clean_text(unicodedata.normalize("NFKC", value)).replace(",", "")
        if len(text) > 40:
            problems.add(path, "too_long", f"{label}过长")
            return None
    elif isinstance(value, (int, float)):
        text = repr(value)
    else:
        problems.add(path, "invalid_number", f"{label}应为数字")
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        problems.add(path, "invalid_number", f"{label}应为数字，现为“{text[:20]}”")
        return None
    if not number.is_finite():
        problems.add(path, "invalid_number", f"{label}应为数字")
        return None
    exponent = number.normalize().as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if places > fd.decimals:
        if fd.decimals == 0:
            problems.add(path, "invalid_number", f"{label}应为整数")
        else:
            problems.add(path, "invalid_number", f"{label}最多保留{fd.decimals}位小数")
        return None
    lo, hi = fd.min, fd.max
    if (lo is not None and number < Decimal(str(lo))) or (hi is not None and number > Decimal(str(hi))):
        problems.add(path, "out_of_range", f"{label}应在{_range_zh(lo, hi)}")
        return None
    return int(number) if fd.decimals == 0 else float(number)


def _range_zh(lo: Any, hi: Any) -> str:
    if lo is not None and hi is not None:
        return f"{lo}到{hi}之间"
    if lo is not None:
        return f"{lo}及以上"
    return f"{hi}及以下"


def _check_date(fd: FieldDef, text: str, path: str, today: date, problems: ProblemList) -> str | None:
    parsed = _parse_iso_date(text)
    if parsed is None:
        problems.add(path, "invalid_date", f"{fd.label}应为有效日期，格式 YYYY-MM-DD（如 2024-03-01）")
        return None
    lo, hi = _bound_date(fd.min, today), _bound_date(fd.max, today)
    if lo is not None and parsed < lo:
        problems.add(path, "out_of_range", f"{fd.label}不能早于{'今天' if fd.min == 'today' else lo.isoformat()}")
        return None
    if hi is not None and parsed > hi:
        problems.add(path, "out_of_range", f"{fd.label}不能晚于{'今天' if fd.max == 'today' else hi.isoformat()}")
        return None
    return parsed.isoformat()


# --- main entry -------------------------------------------------------------------------------

def validate_submission(item: ServiceItem, data: Mapping[str, Any], today: date) -> Submission:
    """Check ``data`` against ``item``; raise ``StationError("invalid_submission")`` listing every
    problem, or return the normalised :class:`Submission`."""
    if not isinstance(data, Mapping):
        raise StationError("invalid_submission", "申请信息有误，请按提示修改",
                           [Problem("", "invalid_type", "申请信息应为对象（键值对）")])
    try:
        size = len(json.dumps(data, ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError):
        raise StationError("invalid_submission", "申请信息有误，请按提示修改",
                           [Problem("", "invalid_type", "申请信息含有无法保存的内容")]) from None
    if size > MAX_SUBMISSION_BYTES:
        raise StationError("invalid_submission", "申请信息有误，请按提示修改",
                           [Problem("", "too_large", f"申请信息过大（{size // 1024} KiB），上限为64 KiB")])

    problems = ProblemList()
    for key in data:
        if key not in TOP_KEYS:
            problems.add(str(key) or "(空键名)", "unknown_field", f"不认识的项目「{key}」")
    _check_item_identity(item, data, problems)

    applicant = _check_applicant(item, _mapping(data, "applicant", problems, required=True), today, problems)
    fields = _check_fields(item, _mapping(data, "fields", problems, required=False), today, problems)
    materials = _check_materials(item, _mapping(data, "materials", problems, required=False), problems)
    waived_keys = [k for k, v in materials.items() if v == "waived"]
    waived, signer = _check_commitment(item, _mapping(data, "commitment", problems, required=False),
                                       waived_keys, today, problems)

    problems.raise_if_any("invalid_submission", "申请信息有误，请按提示修改")
    assert applicant is not None
    return Submission(
        item_code=item.code, item_version=item.version, applicant=applicant,
        fields=MappingProxyType(fields), materials=MappingProxyType(materials),
        waived=MappingProxyType(waived), commitment_signer=signer,
    )


def _check_item_identity(item: ServiceItem, data: Mapping[str, Any], problems: ProblemList) -> None:
    code = data.get("item_code")
    if code is not None and (not isinstance(code, str) or code.strip().upper() != item.code):
        problems.add("item_code", "item_mismatch", f"申请信息所属事项编码与当前事项 {item.code} 不符")
    version = data.get("item_version")
    if version is not None and (isinstance(version, bool) or version != item.version):
        problems.add("item_version", "version_mismatch",
                     f"表单版本（{version}）与当前事项版本（{item.version}）不符，请按新版表单重新填写")


def _check_applicant(item: ServiceItem, raw: Mapping[str, Any], today: date,
                     problems: ProblemList) -> Applicant | None:
    for key in raw:
        if key not in APPLICANT_KEYS:
            problems.add(f"applicant.{key}", "unknown_field", f"不认识的申请人信息 {key}")
    before = len(problems.items)
    name = check_person_name(raw.get("name"), "applicant.name", problems, "申请人姓名")

    id_value = raw.get("id_number")
    rid = None
    if _is_blank(id_value):
        problems.add("applicant.id_number", "required", "请填写申请人身份证号")
    else:
        found = resident_id_problems(id_value, "applicant.id_number", today)
        problems.extend(found)
        if not found:
            rid = parse_resident_id(id_value, "applicant.id_number", today)

    phone_value = raw.get("phone")
    phone = ""
    if _is_blank(phone_value):
        problems.add("applicant.phone", "required", "请填写联系电话")
    else:
        found = phone_problems(phone_value, "applicant.phone")
        problems.extend(found)
        if not found:
            phone = normalize_phone(phone_value)

    address = _short_text(raw.get("address"), "applicant.address", "住址", MAX_ADDRESS, True, problems)
    relationship = _short_text(raw.get("relationship"), "applicant.relationship", "代办人与申请人的关系",
                               MAX_RELATIONSHIP, item.agent_relationship, problems)
    if len(problems.items) != before or rid is None:
        return None
    return Applicant(name=name, id_number=rid.number, phone=phone, address=address,
                     relationship=relationship, sex=rid.sex, birth_date=rid.birth_date)


def _short_text(value: Any, field: str, label: str, max_len: int, required: bool,
                problems: ProblemList) -> str:
    if _is_blank(value):
        if required:
            problems.add(field, "required", f"请填写{label}")
        return ""
    if not isinstance(value, str):
        problems.add(field, "invalid_type", f"{label}应为文字")
        return ""
    text = value.strip()
    if len(text) > max_len:
        problems.add(field, "too_long", f"{label}过长：最多{max_len}个字，现有{len(text)}个字")
    return text


def _check_fields(item: ServiceItem, raw: Mapping[str, Any], today: date,
                  problems: ProblemList) -> dict[str, Any]:
    out: dict[str, Any] = {}
    known = {f.key for f in item.fields}
    for key in raw:
        if key not in known:
            problems.add(f"fields.{key}", "unknown_field", f"本事项没有“{key}”这一项")
    for fd in item.fields:
        path = f"fields.{fd.key}"
        value = raw.get(fd.key)
        if _is_blank(value):
            if fd.required:
                problems.add(path, "required", f"请填写{fd.label}")
            continue
        normalised = _check_field(fd, value, path, today, problems)
        if normalised is not None:
            out[fd.key] = normalised
    return out


def _check_materials(item: ServiceItem, raw: Mapping[str, Any], problems: ProblemList) -> dict[str, str]:
    out: dict[str, str] = {}
    known = {m.key for m in item.materials}
    for key in raw:
        if key not in known:
            problems.add(f"materials.{key}", "unknown_material", f"本事项没有“{key}”这项材料")
    for md in item.materials:
        path = f"materials.{md.key}"
        status = raw.get(md.key, "missing")
        if status not in MATERIAL_STATUSES:
            problems.add(path, "invalid_status", f"「{md.name}」的状态应为 已收（received）、缺（missing）或 容缺（waived）")
            continue
        if status == "missing" and md.required:
            hint = ("；该材料可容缺受理：签署承诺书并约定补交日期" if md.waivable
                    else "；该材料不可容缺，须收齐后才能受理")
            problems.add(path, "material_missing", f"缺少必需材料「{md.name}」，请收取{hint}")
        if status == "waived" and not md.waivable:
            problems.add(path, "not_waivable", f"「{md.name}」不允许容缺受理，须收取后才能受理")
        out[md.key] = status
    return out


def _check_commitment(item: ServiceItem, raw: Mapping[str, Any], waived_keys: list[str], today: date,
                      problems: ProblemList) -> tuple[dict[str, str], str | None]:
    for key in raw:
        if key not in COMMITMENT_KEYS:
            problems.add(f"commitment.{key}", "unknown_field", f"不认识的承诺书项目 {key}")
    raw_due_dates = raw.get("due_dates") or {}
    if not isinstance(raw_due_dates, Mapping):
        problems.add("commitment.due_dates", "invalid_type", "due_dates 应为 材料键: 日期 的对象")
        raw_due_dates = {}
    for key in raw_due_dates:
        if item.material(key) is None:
            problems.add(f"commitment.due_dates.{key}", "unknown_material", f"本事项没有“{key}”这项材料")
        elif key not in waived_keys:
            problems.add(f"commitment.due_dates.{key}", "not_waived",
                         f"「{item.material(key).name}」未容缺，不需要补交日期")  # type: ignore[union-attr]
    if not waived_keys:
        return {}, None

    if raw.get("signed") is not True:
        problems.add("commitment.signed", "commitment_required", "容缺受理须由申请人签署承诺书")
    signer = None
    if _is_blank(raw.get("signer")):
        problems.add("commitment.signer", "commitment_required", "请填写承诺书签署人姓名")
    else:
        signer = check_person_name(raw.get("signer"), "commitment.signer", problems, "承诺书签署人姓名")

    latest = today + timedelta(days=MAX_COMMITMENT_DAYS)
    waived: dict[str, str] = {}
    general_checked = False
    for key in waived_keys:
        name = item.material(key).name  # type: ignore[union-attr]
        if key in raw_due_dates:
            path, value = f"commitment.due_dates.{key}", raw_due_dates[key]
        else:
            path, value = "commitment.due_date", raw.get("due_date")
            if general_checked:
                # The shared due date is reported once, not once per waived material.
                if value is not None and (d := _parse_iso_date(value)) and today < d <= latest:
                    waived[key] = d.isoformat()
                continue
            general_checked = True
        if _is_blank(value):
            problems.add(path, "commitment_required", f"请约定「{name}」的补交日期")
            continue
        due = _parse_iso_date(value)
        if due is None:
            problems.add(path, "invalid_due_date", "补交日期应为有效日期，格式 YYYY-MM-DD")
        elif due <= today:
            problems.add(path, "invalid_due_date", "补交日期应晚于今天")
        elif due > latest:
            problems.add(path, "invalid_due_date",
                         f"补交日期不能超过{MAX_COMMITMENT_DAYS}天（最晚 {latest.isoformat()}）")
        else:
            waived[key] = due.isoformat()
    return waived, (signer or None)
