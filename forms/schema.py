"""Service item definitions: the value types and the checks a catalog file must pass.

A catalog file (forms/catalog/*.toml) is parsed by :func:`parse_item`, which reports *every*
problem of the file as a :class:`SchemaIssue` (dotted key + Chinese message) instead of stopping at
the first, so an official fixing a file sees the whole list at once. The checks are explicit Python
rather than a JSON Schema document: they give Chinese messages keyed by the exact TOML key, cost no
extra dependency and keep catalog loading fast (the CLI loads the catalog on every command).

Pinyin is not computed here: :mod:`forms.catalog` fills ``pinyin``/``initials`` (cached).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Callable, Mapping

# --- vocabularies -----------------------------------------------------------------------------

FIELD_TYPES: tuple[str, ...] = (
    "text", "textarea", "number", "date", "choice", "yesno",
    "resident_id", "phone", "bank_account", "credit_code",
)
ITEM_TYPES: tuple[str, ...] = (
    "行政许可", "行政确认", "行政裁决", "行政给付", "行政奖励", "行政备案", "其他行政权力", "公共服务",
)
HANDLING_LEVELS: tuple[str, ...] = ("village", "township")
HANDLING_LEVEL_ZH: Mapping[str, str] = {"village": "村级受理村级办结", "township": "村级受理乡镇办结"}
CASE_KINDS: tuple[str, ...] = ("即办件", "承诺件", "联办件", "上报件")
TIME_UNITS: tuple[str, ...] = ("工作日", "自然日")
MATERIAL_FORMS: tuple[str, ...] = ("原件", "复印件", "原件及复印件", "电子件")
DEPARTMENTS: tuple[str, ...] = (
    "民政", "人社", "医保", "卫健", "农业农村", "自然资源", "司法", "残联", "财政",
    "住建", "退役军人", "公安", "教育", "税务", "水利", "林业", "乡镇", "其他",
)

DEFAULT_MAX_LENGTH = 200
DEFAULT_TEXTAREA_MAX_LENGTH = 1000
#: Hard upper bound for any field's max_length: keeps one submission well under 64 KiB.
MAX_FIELD_LENGTH = 4000
MAX_FIELDS = 60
MAX_MATERIALS = 40

#: Local implementation code: DEPT-ITEM-NNN, e.g. "MZ-GLJT-001" (see docs/catalog.md).
CODE_RE = re.compile(r"^[A-Z]{2,4}-[A-Z0-9]{2,12}-\d{3}$")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PINYIN_RE = re.compile(r"^[a-z]+( [a-z]+)*$")

#: Names that mark the core identity document or the application form: never 容缺. ("身份证明",
#: a proof of status such as 低保 membership, is not an identity document.)
CORE_MATERIAL_RE = re.compile(r"身份证(?!明)|申请表|申请书|申报表|申领表|登记表|审批表")

TOP_KEYS: frozenset[str] = frozenset({
    "code", "name", "short_name", "department", "item_type", "handling_level", "case_kind",
    "version", "promised_limit", "statutory_limit", "posting_days", "fee", "agent_relationship",
    "fields", "materials", "pinyin", "short_pinyin", "description",
})
REQUIRED_TOP_KEYS: tuple[str, ...] = (
    "code", "name", "department", "item_type", "handling_level", "case_kind", "version",
    "promised_limit", "statutory_limit", "posting_days", "fee", "agent_relationship",
    "fields", "materials",
)
FIELD_KEYS: frozenset[str] = frozenset({
    "key", "label", "type", "required", "options", "min", "max", "max_length", "decimals", "help",
})
MATERIAL_KEYS: frozenset[str] = frozenset({
    "key", "name", "form", "copies", "required", "waivable", "note",
})


# --- values -----------------------------------------------------------------------------------

Bound = int | float | str | None


@dataclass(frozen=True)
class TimeLimit:
    amount: int
    unit: str  # 工作日 | 自然日

    def to_dict(self) -> dict[str, Any]:
        return {"amount": self.amount, "unit": self.unit}

    def __str__(self) -> str:
        return f"{self.amount}个{self.unit}"


@dataclass(frozen=True)
class FieldDef:
    """One form field. ``min``/``max`` are numbers for ``number`` and ISO dates or "today" for
    ``date``; ``decimals`` is the number of decimal places a number may carry (0 = integer)."""

    key: str
    label: str
    type: str
    required: bool = False
    options: tuple[str, ...] = ()
    min: Bound = None
    max: Bound = None
    max_length: int = DEFAULT_MAX_LENGTH
    decimals: int = 0
    help: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "label": self.label, "type": self.type,
                               "required": self.required, "max_length": self.max_length}
        if self.type == "choice":
            out["options"] = list(self.options)
        if self.type in ("number", "date"):
            out["min"] = self.min
            out["max"] = self.max
        if self.type == "number":
            out["decimals"] = self.decimals
        if self.help:
            out["help"] = self.help
        return out


@dataclass(frozen=True)
class MaterialDef:
    key: str
    name: str
    form: str
    copies: int = 1
    required: bool = True
    waivable: bool = False  # 容缺受理 allowed
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ServiceItem:
    """One service item (事项) at one version. ``code`` never changes; ``version`` goes up whenever
    fields or materials change, and a case records the version it was filed under."""

    code: str
    name: str
    department: str
    item_type: str
    handling_level: str
    case_kind: str
    version: int
    promised_limit: TimeLimit
    statutory_limit: TimeLimit
    posting_days: int
    fee: str
    agent_relationship: bool
    fields: tuple[FieldDef, ...]
    materials: tuple[MaterialDef, ...]
    short_name: str = ""
    description: str = ""
    pinyin: str = ""          # full lowercase pinyin of the name, no tones, no spaces
    initials: str = ""        # first letters of each syllable, e.g. "gljt"
    short_pinyin: str = ""
    short_initials: str = ""

    def field(self, key: str) -> FieldDef | None:
        for f in self.fields:
            if f.key == key:
                return f
        return None

    def material(self, key: str) -> MaterialDef | None:
        for m in self.materials:
            if m.key == key:
                return m
        return None

    @property
    def handling_level_zh(self) -> str:
        return HANDLING_LEVEL_ZH[self.handling_level]

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "short_name": self.short_name,
            "version": self.version,
            "department": self.department,
            "item_type": self.item_type,
            "handling_level": self.handling_level,
            "case_kind": self.case_kind,
            "promised_limit": self.promised_limit.to_dict(),
            "statutory_limit": self.statutory_limit.to_dict(),
            "posting_days": self.posting_days,
            "fee": self.fee,
            "agent_relationship": self.agent_relationship,
            "description": self.description,
            "pinyin": self.pinyin,
            "initials": self.initials,
            "fields": [f.to_dict() for f in self.fields],
            "materials": [m.to_dict() for m in self.materials],
        }


@dataclass(frozen=True)
class SchemaIssue:
    key: str
    message: str


# --- parsing ----------------------------------------------------------------------------------

@dataclass
class _Checker:
    issues: list[SchemaIssue] = field(default_factory=list)

    def add(self, key: str, message: str) -> None:
        self.issues.append(SchemaIssue(key, message))

    def string(self, data: Mapping[str, Any], key: str, path: str, *, required: bool = True,
               max_len: int = 200) -> str:
        if key not in data:
            if required:
                self.add(path, f"缺少必填项 {key}")
            return ""
        value = data[key]
        if not isinstance(value, str):
            self.add(path, f"{key} 应为文字（字符串）")
            return ""
        value = value.strip()
        if required and not value:
            self.add(path, f"{key} 不能为空")
        if len(value) > max_len:
            self.add(path, f"{key} 过长（最多 {max_len} 字）")
        return value

    def boolean(self, data: Mapping[str, Any], key: str, path: str, *, default: bool | None = None) -> bool:
        if key not in data:
            if default is None:
                self.add(path, f"缺少必填项 {key}")
                return False
            return default
        value = data[key]
        if not isinstance(value, bool):
            self.add(path, f"{key} 应为 true 或 false")
            return False
        return value

    def integer(self, data: Mapping[str, Any], key: str, path: str, *, minimum: int = 0,
                maximum: int = 10_000, default: int | None = None) -> int:
        if key not in data:
            if default is None:
                self.add(path, f"缺少必填项 {key}")
                return minimum
            return default
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, f"{key} 应为整数")
            return minimum
        if not minimum <= value <= maximum:
            self.add(path, f"{key} 应在 {minimum} 到 {maximum} 之间")
        return value

    def one_of(self, data: Mapping[str, Any], key: str, path: str, allowed: tuple[str, ...]) -> str:
        value = self.string(data, key, path)
        if value and value not in allowed:
            self.add(path, f"{key} 的值「{value}」无效，应为：{'、'.join(allowed)}")
        return value

    def unknown_keys(self, data: Mapping[str, Any], allowed: frozenset[str], prefix: str) -> None:
        for k in data:
            if k not in allowed:
                self.add(f"{prefix}{k}", f"不认识的配置项 {k}（请检查拼写）")


def _time_limit(c: _Checker, data: Mapping[str, Any], key: str) -> TimeLimit:
    if key not in data:
        c.add(key, f"缺少必填项 {key}")
        return TimeLimit(0, "工作日")
    raw = data[key]
    if not isinstance(raw, Mapping):
        c.add(key, f"{key} 应写成 {{ amount = 数字, unit = \"工作日\" }}")
        return TimeLimit(0, "工作日")
    c.unknown_keys(raw, frozenset({"amount", "unit"}), f"{key}.")
    amount = c.integer(raw, "amount", f"{key}.amount", minimum=0, maximum=3650)
    unit = c.one_of(raw, "unit", f"{key}.unit", TIME_UNITS)
    return TimeLimit(amount, unit or "工作日")


def _is_date_bound(value: Any) -> bool:
    if value == "today":
        return True
    if isinstance(value, str) and ISO_DATE_RE.match(value):
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
        return True
    return False


def _parse_field(c: _Checker, raw: Any, index: int) -> FieldDef | None:
    if not isinstance(raw, Mapping):
        c.add(f"fields[{index}]", "每个字段应写成 [[fields]] 表")
        return None
    key = raw.get("key")
    path = f"fields.{key}" if isinstance(key, str) and KEY_RE.match(key) else f"fields[{index}]"
    c.unknown_keys(raw, FIELD_KEYS, f"{path}.")
    key = c.string(raw, "key", f"{path}.key", max_len=40)
    if key and not KEY_RE.match(key):
        c.add(f"{path}.key", f"字段键「{key}」应为小写英文字母开头的 snake_case（a-z、0-9、_，最多40位）")
    label = c.string(raw, "label", f"{path}.label", max_len=40)
    ftype = c.one_of(raw, "type", f"{path}.type", FIELD_TYPES)
    required = c.boolean(raw, "required", f"{path}.required", default=False)
    help_text = c.string(raw, "help", f"{path}.help", required=False, max_len=200)
    default_len = DEFAULT_TEXTAREA_MAX_LENGTH if ftype == "textarea" else DEFAULT_MAX_LENGTH
    max_length = c.integer(raw, "max_length", f"{path}.max_length", minimum=1,
                           maximum=MAX_FIELD_LENGTH, default=default_len)
    decimals = c.integer(raw, "decimals", f"{path}.decimals", minimum=0, maximum=6, default=0)

    options: tuple[str, ...] = ()
    if "options" in raw:
        opts = raw["options"]
        if ftype != "choice":
            c.add(f"{path}.options", "只有 choice（选项）类型的字段才能有 options")
        elif not isinstance(opts, list) or not all(isinstance(o, str) and o.strip() for o in opts):
            c.add(f"{path}.options", "options 应为非空文字列表")
        else:
            options = tuple(o.strip() for o in opts)
            if len(set(options)) != len(options):
                c.add(f"{path}.options", "options 中有重复的选项")
    if ftype == "choice" and not options and "options" not in raw:
        c.add(f"{path}.options", "choice（选项）类型的字段必须列出 options")
    if ftype == "choice" and "options" in raw and isinstance(raw["options"], list) and not raw["options"]:
        c.add(f"{path}.options", "options 不能为空")
    if "decimals" in raw and ftype != "number":
        c.add(f"{path}.decimals", "只有 number（数字）类型的字段才能有 decimals")

    bounds: dict[str, Bound] = {"min": None, "max": None}
    for b in ("min", "max"):
        if b not in raw:
            continue
        value = raw[b]
        if ftype == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                c.add(f"{path}.{b}", f"{b} 应为数字")
                continue
        elif ftype == "date":
            if isinstance(value, date):  # TOML local date literal
                value = value.isoformat()
            if not _is_date_bound(value):
                c.add(f"{path}.{b}", f"{b} 应为日期 YYYY-MM-DD 或 \"today\"")
                continue
        else:
            c.add(f"{path}.{b}", f"只有 number 和 date 类型的字段才能有 {b}")
            continue
        bounds[b] = value
    lo, hi = bounds["min"], bounds["max"]
    if lo is not None and hi is not None:
        if ftype == "number" and lo > hi:  # type: ignore[operator]
            c.add(f"{path}.min", f"min（{lo}）不能大于 max（{hi}）")
        if ftype == "date" and "today" not in (lo, hi) and str(lo) > str(hi):
            c.add(f"{path}.min", f"min（{lo}）不能晚于 max（{hi}）")
    if not key or not ftype:
        return None
    return FieldDef(key=key, label=label, type=ftype, required=required, options=options,
                    min=lo, max=hi, max_length=max_length, decimals=decimals, help=help_text)


def _parse_material(c: _Checker, raw: Any, index: int) -> MaterialDef | None:
    if not isinstance(raw, Mapping):
        c.add(f"materials[{index}]", "每个材料应写成 [[materials]] 表")
        return None
    key = raw.get("key")
    path = f"materials.{key}" if isinstance(key, str) and KEY_RE.match(key) else f"materials[{index}]"
    c.unknown_keys(raw, MATERIAL_KEYS, f"{path}.")
    key = c.string(raw, "key", f"{path}.key", max_len=40)
    if key and not KEY_RE.match(key):
        c.add(f"{path}.key", f"材料键「{key}」应为小写英文字母开头的 snake_case（a-z、0-9、_，最多40位）")
    name = c.string(raw, "name", f"{path}.name", max_len=80)
    form = c.one_of(raw, "form", f"{path}.form", MATERIAL_FORMS)
    copies = c.integer(raw, "copies", f"{path}.copies", minimum=1, maximum=20, default=1)
    required = c.boolean(raw, "required", f"{path}.required")
    waivable = c.boolean(raw, "waivable", f"{path}.waivable")
    note = c.string(raw, "note", f"{path}.note", required=False, max_len=200)
    if waivable and CORE_MATERIAL_RE.search(name):
        c.add(f"{path}.waivable", f"「{name}」是身份证件或申请表，不能容缺受理")
    if not key:
        return None
    return MaterialDef(key=key, name=name, form=form, copies=copies, required=required,
                       waivable=waivable, note=note)


def _pinyin_override(c: _Checker, data: Mapping[str, Any], key: str) -> str:
    value = c.string(data, key, key, required=False, max_len=400)
    if value and not PINYIN_RE.match(value):
        c.add(key, f"{key} 应为不带声调的小写拼音，音节之间用一个空格分开")
    return value


def _parse_tables(c: "_Checker", data: Mapping[str, Any], name: str, what: str, limit: int,
                  parse: Callable[["_Checker", Any, int], Any]) -> list[Any]:
    """Parse a TOML array of tables ([[fields]] / [[materials]]): bounded, each checked, keys unique."""
    out: list[Any] = []
    if name not in data:
        return out
    raw = data[name]
    if not isinstance(raw, list):
        c.add(name, f"{name} 应写成若干个 [[{name}]] 表")
    elif len(raw) > limit:
        c.add(name, f"{what}过多（最多 {limit} 个）")
    else:
        for i, entry in enumerate(raw):
            parsed = parse(c, entry, i)
            if parsed is not None:
                if any(o.key == parsed.key for o in out):
                    c.add(f"{name}.{parsed.key}.key", f"{what}键「{parsed.key}」重复")
                out.append(parsed)
    return out


def parse_item(data: Mapping[str, Any]) -> tuple[ServiceItem | None, list[SchemaIssue], dict[str, str]]:
    """Check one parsed catalog file. Returns the item (None when any issue was found), every
    issue, and the pinyin overrides (``pinyin``/``short_pinyin``, space-separated syllables)."""
    c = _Checker()
    c.unknown_keys(data, TOP_KEYS, "")
    for k in REQUIRED_TOP_KEYS:
        if k not in data:
            c.add(k, f"缺少必填项 {k}")

    code = c.string(data, "code", "code", required="code" in data, max_len=24) if "code" in data else ""
    if code and not CODE_RE.match(code):
        c.add("code", f"事项编码「{code}」格式应为 部门-事项-序号，如 MZ-GLJT-001（大写字母、数字）")
    name = c.string(data, "name", "name", required="name" in data, max_len=60) if "name" in data else ""
    short_name = c.string(data, "short_name", "short_name", required=False, max_len=20)
    description = c.string(data, "description", "description", required=False, max_len=1000)
    department = c.one_of(data, "department", "department", DEPARTMENTS) if "department" in data else ""
    item_type = c.one_of(data, "item_type", "item_type", ITEM_TYPES) if "item_type" in data else ""
    level = (c.one_of(data, "handling_level", "handling_level", HANDLING_LEVELS)
             if "handling_level" in data else "")
    case_kind = c.one_of(data, "case_kind", "case_kind", CASE_KINDS) if "case_kind" in data else ""
    version = c.integer(data, "version", "version", minimum=1, maximum=9999) if "version" in data else 1
    promised = _time_limit(c, data, "promised_limit") if "promised_limit" in data else TimeLimit(0, "工作日")
    statutory = (_time_limit(c, data, "statutory_limit") if "statutory_limit" in data
                 else TimeLimit(0, "工作日"))
    if (promised.unit == statutory.unit and "promised_limit" in data and "statutory_limit" in data
            and promised.amount > statutory.amount):
        c.add("promised_limit", f"承诺时限（{promised}）不能长于法定时限（{statutory}）")
    posting = c.integer(data, "posting_days", "posting_days", maximum=60) if "posting_days" in data else 0
    fee = c.string(data, "fee", "fee", max_len=100) if "fee" in data else ""
    agent_rel = c.boolean(data, "agent_relationship", "agent_relationship") if "agent_relationship" in data else False
    overrides = {k: _pinyin_override(c, data, k) for k in ("pinyin", "short_pinyin")}
    if overrides["short_pinyin"] and not short_name:
        c.add("short_pinyin", "没有 short_name 时不能写 short_pinyin")

    fields: list[FieldDef] = _parse_tables(c, data, "fields", "字段", MAX_FIELDS, _parse_field)
    materials: list[MaterialDef] = _parse_tables(c, data, "materials", "材料", MAX_MATERIALS, _parse_material)
    if isinstance(data.get("materials"), list) and not data["materials"]:
        c.add("materials", "至少要列出一项申请材料")

    if c.issues:
        return None, c.issues, overrides
    item = ServiceItem(
        code=code, name=name, short_name=short_name, description=description,
        department=department, item_type=item_type, handling_level=level, case_kind=case_kind,
        version=version, promised_limit=promised, statutory_limit=statutory, posting_days=posting,
        fee=fee, agent_relationship=agent_rel, fields=tuple(fields), materials=tuple(materials),
    )
    return item, [], overrides
