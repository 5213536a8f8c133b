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
     "service"?: {"channel": "窗口" | "代办" | "上门" | "网办", "assist": "" | "帮办" | "代办"},
     "item_code"?: "MZ-GLJT-001", "item_version"?: 1}

What the ID number decides (age on the day, sex) is computed from it and checked against the item's
``[conditions]``; a field marked ``from_id`` must agree with the ID (行政许可法 §31: the applicant
answers for the truth of the application, and the station does not accept what the ID contradicts).
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

from dataclasses import replace

from forms.schema import FieldDef, ServiceItem, age_on
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

TOP_KEYS = frozenset({"applicant", "fields", "materials", "commitment", "item_code", "item_version", "service"})
SERVICE_KEYS = frozenset({"channel", "assist"})
#: How the application reached the station (the national 申报渠道, in the station's words).
CHANNELS: tuple[str, ...] = ("窗口", "代办", "上门", "网办")
#: What the agent did for the citizen: nothing special, 帮办 (helped fill in), 代办 (did it for them).
ASSISTS: tuple[str, ...] = ("", "帮办", "代办")
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
    age: int = 0         # 周岁 on the day of the check, from the ID number

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "id_number": self.id_number, "phone": self.phone,
                "address": self.address, "relationship": self.relationship, "sex": self.sex,
                "birth_date": self.birth_date.isoformat(), "age": self.age}


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
    channel: str = "窗口"
    assist: str = ""

    @property
    def age(self) -> int:
        """The applicant's age on the day of the check (from the ID's birth date)."""
        return self.applicant.age

    def to_dict(self) -> dict[str, Any]:
        return {"item_code": self.item_code, "item_version": self.item_version,
                "applicant": self.applicant.to_dict(), "fields": dict(self.fields),
                "materials": dict(self.materials), "waived": dict(self.waived),
                "commitment_signer": self.commitment_signer, "channel": self.channel, "assist": self.assist}

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
        if _odd_characters(text):
            problems.add(path, "odd_characters", _odd_message(label, text))
            return None
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

@dataclass(frozen=True)
class CheckResult:
    """Every problem of an application, and what could be read of it even when it is not valid
    (the 一次性告知书 of a refused application needs the name and the ID-derived facts)."""

    submission: Submission | None
    problems: tuple[Problem, ...]
    applicant_name: str = ""
    id_number: str = ""
    age: int | None = None
    sex: str = ""

    @property
    def ok(self) -> bool:
        return self.submission is not None


#: Problem codes that are about materials (what the citizen must bring) and conditions (what the
#: citizen is): the two lists of the 一次性告知书.
MATERIAL_CODES = frozenset({"material_missing", "not_waivable"})
CONDITION_CODES = frozenset({"condition_not_met", "id_mismatch"})


def validate_submission(item: ServiceItem, data: Mapping[str, Any], today: date) -> Submission:
    """Check ``data`` against ``item``; raise ``StationError("invalid_submission")`` listing every
    problem, or return the normalised :class:`Submission`."""
    result = check_submission(item, data, today)
    if result.submission is None:
        raise StationError("invalid_submission", "申请信息有误，请按提示修改", result.problems)
    return result.submission


def check_submission(item: ServiceItem, data: Mapping[str, Any], today: date) -> CheckResult:
    """Check ``data`` against ``item`` and return every problem with what could be read (never raises
    for a bad application; the caller decides: refuse, or record a 告知件)."""
    if not isinstance(data, Mapping):
        return CheckResult(None, (Problem("", "invalid_type", "申请信息应为对象（键值对）"),))
    try:
        size = len(json.dumps(data, ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError):
        return CheckResult(None, (Problem("", "invalid_type", "申请信息含有无法保存的内容"),))
    if size > MAX_SUBMISSION_BYTES:
        return CheckResult(None, (Problem("", "too_large", f"申请信息过大（{size // 1024} KiB），上限为64 KiB"),))

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
    channel, assist = _check_service(_mapping(data, "service", problems, required=False), problems)
    raw_applicant = data.get("applicant") if isinstance(data.get("applicant"), Mapping) else {}
    rid = None
    raw_id = raw_applicant.get("id_number")
    if isinstance(raw_id, str) and raw_id.strip() and not resident_id_problems(raw_id, "applicant.id_number", today):
        rid = parse_resident_id(raw_id, "applicant.id_number", today)
    age = age_on(rid.birth_date, today) if rid else None
    if rid is not None:
        _check_id_facts(item, rid.birth_date, rid.sex, age, _mapping(data, "fields", ProblemList(), required=False),
                        problems)
    name = raw_applicant.get("name") if isinstance(raw_applicant.get("name"), str) else ""
    facts = dict(applicant_name=(name or "").strip(), id_number=rid.number if rid else "", age=age,
                 sex=rid.sex if rid else "")
    if problems or applicant is None:
        return CheckResult(None, tuple(problems.items), **facts)
    applicant = replace(applicant, age=age or 0)
    return CheckResult(Submission(
        item_code=item.code, item_version=item.version, applicant=applicant,
        fields=MappingProxyType(fields), materials=MappingProxyType(materials),
        waived=MappingProxyType(waived), commitment_signer=signer, channel=channel, assist=assist,
    ), (), **facts)


def _check_service(raw: Mapping[str, Any], problems: ProblemList) -> tuple[str, str]:
    for key in raw:
        if key not in SERVICE_KEYS:
            problems.add(f"service.{key}", "unknown_field", f"不认识的办理方式项目 {key}")
    channel = raw.get("channel", "窗口")
    if channel not in CHANNELS:
        problems.add("service.channel", "invalid_choice", f"申报渠道应为以下之一：{'、'.join(CHANNELS)}")
        channel = "窗口"
    assist = raw.get("assist") or ""
    if assist not in ASSISTS:
        problems.add("service.assist", "invalid_choice", "代办员服务应为“帮办”“代办”或不填")
        assist = ""
    return channel, assist


def _check_id_facts(item: ServiceItem, birth: date, sex: str, age: int, raw_fields: Mapping[str, Any],
                    problems: ProblemList) -> None:
    """The item's conditions and the ``from_id`` fields against what the ID number says."""
    cond = item.conditions
    if (cond.age_min is not None and age < cond.age_min) or (cond.age_max is not None and age > cond.age_max):
        problems.add("applicant.id_number", "condition_not_met",
                     f"按身份证出生日期（{birth.isoformat()}）计算，申请人现年{age}周岁；"
                     f"本事项要求{cond.describe().split('、')[0]}")
    if cond.sex and sex != cond.sex:
        problems.add("applicant.id_number", "condition_not_met",
                     f"按身份证号，申请人为{sex}性；本事项只受理{cond.sex}性申请人")
    for fd in item.fields:
        value = raw_fields.get(fd.key)
        if not fd.from_id or _is_blank(value):
            continue
        expected: Any = {"age": age, "sex": sex, "birth_date": birth.isoformat()}[fd.from_id]
        given: Any = value
        if fd.from_id == "age":
            try:
                given = int(Decimal(str(value).strip()))
            except (InvalidOperation, ValueError):
                continue  # the field check reports a non-number
        elif isinstance(value, str):
            given = value.strip()
        if given != expected:
            problems.add(f"fields.{fd.key}", "id_mismatch",
                         f"{fd.label}应为{expected}（按身份证出生日期计算），填写的是{value}")


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


# Emoji and pictographs (and the joiners and selectors that build them): a bank's name or an address
# never holds one, and the county's systems and the printer's font cannot carry them. Rare Chinese
# characters (生僻字, CJK extensions beyond the BMP) are letters, not symbols, and stay allowed.
_PICTOGRAPH_BLOCKS = ((0x1F000, 0x1FAFF), (0x2600, 0x27BF), (0x2B00, 0x2BFF), (0xFE00, 0xFE0F))


def _odd_characters(text: str) -> list[str]:
    """Characters a form value must not hold: control and format characters, private use, unassigned
    code points, emoji and pictographs."""
    odd = []
    for ch in text:
        cp, cat = ord(ch), unicodedata.category(ch)
        if (cat in ("Cc", "Cf", "Co", "Cs", "Cn") and ch not in "\n\t") or \
                any(lo <= cp <= hi for lo, hi in _PICTOGRAPH_BLOCKS):
            odd.append(ch)
    return odd


def _odd_message(label: str, text: str) -> str:
    shown = "".join(c for c in dict.fromkeys(_odd_characters(text)) if unicodedata.category(c)[0] != "C")
    return f"{label}中不能有表情符号或特殊字符{('（' + shown + '）') if shown else ''}，请删去后再填"


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
    if _odd_characters(text):
        problems.add(field, "odd_characters", _odd_message(label, text))
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
        if fd.from_id == "age":  # bounded by the item's conditions, checked against the ID (one problem, not two)
            fd = replace(fd, min=None, max=None)
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
