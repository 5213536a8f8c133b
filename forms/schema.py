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
from dataclasses import asdict, dataclass, field, replace
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
#: 四办 labels of an item (马上办 / 网上办 / 就近办 / 一次办), the reform reports' measures.
SERVICE_LABELS: tuple[str, ...] = ("马上办", "网上办", "就近办", "一次办")
#: Item types that are administrative acts: a refusal carries the applicant's rights of review and
#: suit (行政复议法 / 行政诉讼法). 公共服务 is not an administrative act: no rights text.
ADMINISTRATIVE_ACT_TYPES: frozenset[str] = frozenset(
    {"行政许可", "行政确认", "行政裁决", "行政给付", "行政奖励", "行政备案", "其他行政权力"})
#: What the ID number decides about the applicant (fields marked ``from_id`` must agree with it).
FROM_ID: tuple[str, ...] = ("age", "sex", "birth_date")
#: Placeholders a body name in the catalog may use; the station fills them from its settings.
BODY_PLACEHOLDERS: tuple[str, ...] = ("county", "township")
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
    "legal_basis", "authority", "forward", "conditions", "labels", "campaign", "province", "updated",
})
REQUIRED_TOP_KEYS: tuple[str, ...] = (
    "code", "name", "department", "item_type", "handling_level", "case_kind", "version",
    "promised_limit", "statutory_limit", "posting_days", "fee", "agent_relationship",
    "fields", "materials", "legal_basis", "authority",
)
FIELD_KEYS: frozenset[str] = frozenset({
    "key", "label", "type", "required", "options", "min", "max", "max_length", "decimals", "help", "from_id",
})
MATERIAL_KEYS: frozenset[str] = frozenset({
    "key", "name", "form", "copies", "required", "waivable", "note", "keep_original",
})
AUTHORITY_KEYS: frozenset[str] = frozenset({"decides", "accepts", "seal"})
CONDITION_KEYS: frozenset[str] = frozenset({"age_min", "age_max", "sex"})
#: What a province may override (``[province.61]``): the rest of an item is national.
PROVINCE_KEYS: frozenset[str] = frozenset({
    "authority", "conditions", "fields", "posting_days", "promised_limit", "statutory_limit",
    "legal_basis", "description",
})
PROVINCE_FIELD_KEYS: frozenset[str] = frozenset({"label", "min", "max", "options", "help"})
PROVINCE_RE = re.compile(r"^[1-9]\d$")

#: Originals the station keeps (signed forms, photos, proofs written for this application); every
#: other original (ID card, 户口簿, certificates, bank card) is checked and handed back.
KEPT_ORIGINAL_RE = re.compile(r"申请|审批表|登记表|申报表|授权书|承诺书|照片|证明|说明|声明|协议|意见书|记录|报告|示意图|设计图|票据")


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
    from_id: str = ""  # "age" / "sex" / "birth_date": the value must agree with the applicant's ID

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "label": self.label, "type": self.type,
                               "required": self.required, "max_length": self.max_length}
        if self.from_id:
            out["from_id"] = self.from_id
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


def original_kept(name: str, keep_original: bool | None = None) -> bool:
    """Does the station keep the original of this material (a signed form, a photo, a proof made for
    the application), or check it and hand it back (ID card, 户口簿, certificates, bank card)?"""
    return bool(KEPT_ORIGINAL_RE.search(name)) if keep_original is None else keep_original


def form_label(form: str, name: str, keep_original: bool | None = None) -> str:
    """The form as the citizen reads it: 原件（核验后退还） / 原件（留存） / 复印件（留存）."""
    kept = original_kept(name, keep_original)
    original = "原件（留存）" if kept else "原件（核验后退还）"
    if form == "原件":
        return original
    if form == "复印件":
        return "复印件（留存）"
    if form == "原件及复印件":
        return f"{original}及复印件（留存）" if not kept else "原件及复印件（留存）"
    return form


@dataclass(frozen=True)
class MaterialDef:
    key: str
    name: str
    form: str
    copies: int = 1
    required: bool = True
    waivable: bool = False  # 容缺受理 allowed
    note: str = ""
    keep_original: bool | None = None  # None: decided by the name (see original_kept)

    @property
    def form_label(self) -> str:
        return form_label(self.form, self.name, self.keep_original)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["form_label"] = self.form_label
        return out


def resolve_body(template: str, names: Mapping[str, str] | None = None) -> str:
    """A body name from the catalog with the station's county / township filled in.

    ``{county}民政局`` → ``广水市民政局``; with no name set, a generic ``县（市、区）民政局``."""
    names = names or {}
    county = (names.get("county") or "").strip() or "县（市、区）"
    township = (names.get("township") or "").strip() or "乡（镇）"
    return template.replace("{county}", county).replace("{township}", township)


@dataclass(frozen=True)
class Authority:
    """Who accepts and who decides (受理机关 / 决定机关): bodies, never persons.

    ``seal``: the deciding body issues sealed notices (a seal line is printed on its refusals and
    results); False for bodies without an official seal of their own for this item."""

    decides: str
    accepts: str = ""
    seal: bool = True

    def accepting(self, handling_level: str) -> str:
        if self.accepts:
            return self.accepts
        return "{township}人民政府" if handling_level == "township" else self.decides

    def to_dict(self) -> dict[str, Any]:
        return {"decides": self.decides, "accepts": self.accepts, "seal": self.seal}


@dataclass(frozen=True)
class ForwardBody:
    """A body a case may be forwarded to (转报), with its own time limit to watch."""

    body: str
    limit: TimeLimit

    def to_dict(self) -> dict[str, Any]:
        return {"body": self.body, "limit": self.limit.to_dict()}


@dataclass(frozen=True)
class Conditions:
    """Conditions the applicant's ID number decides (age in whole years on the day, sex)."""

    age_min: int | None = None
    age_max: int | None = None
    sex: str = ""

    def __bool__(self) -> bool:
        return self.age_min is not None or self.age_max is not None or bool(self.sex)

    def describe(self) -> str:
        parts = []
        if self.age_min is not None and self.age_max is not None:
            parts.append(f"{self.age_min}至{self.age_max}周岁")
        elif self.age_min is not None:
            parts.append(f"{self.age_min}周岁及以上")
        elif self.age_max is not None:
            parts.append(f"{self.age_max}周岁及以下")
        if self.sex:
            parts.append(f"{self.sex}性")
        return "、".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"age_min": self.age_min, "age_max": self.age_max, "sex": self.sex}


def age_on(birth: date, day: date) -> int:
    """Age in whole years (周岁) on ``day``; a 29 February birthday counts on 1 March in other years."""
    years = day.year - birth.year
    if (day.month, day.day) < (birth.month, birth.day):
        years -= 1
    return years


@dataclass(frozen=True)
class ProvinceOverride:
    """What one province changes of an item (``[province.61]``): conditions, bodies, field bounds."""

    province: str
    authority: Authority | None = None
    conditions: Conditions | None = None
    fields: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    posting_days: int | None = None
    promised_limit: TimeLimit | None = None
    statutory_limit: TimeLimit | None = None
    legal_basis: tuple[str, ...] = ()
    description: str = ""


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
    legal_basis: tuple[str, ...] = ()
    authority: Authority = Authority("{county}人民政府")
    forward: tuple[ForwardBody, ...] = ()
    conditions: Conditions = Conditions()
    labels: tuple[str, ...] = ()
    campaign: bool = False    # a yearly campaign item: batch 申报 and 公示, no per-case time limit
    provinces: tuple[ProvinceOverride, ...] = ()
    province: str = ""        # the province whose override is applied ("" = national text)
    # when the item's rules were last brought up to date with their sources (the catalog's age on the
    # home screen is its oldest item's: a file's mtime is only when the software was installed)
    updated: date | None = None

    @property
    def is_administrative_act(self) -> bool:
        return self.item_type in ADMINISTRATIVE_ACT_TYPES

    def for_province(self, province: str) -> "ServiceItem":
        """The item as it applies in ``province`` (the first two digits of a division code)."""
        province = (province or "")[:2]
        override = next((o for o in self.provinces if o.province == province), None)
        if override is None:
            return self
        fields_ = []
        for f in self.fields:
            change = dict(override.fields.get(f.key, {}))
            if "options" in change:
                change["options"] = tuple(change["options"])
            fields_.append(replace(f, **change) if change else f)
        conditions = override.conditions or self.conditions
        if override.conditions is not None:  # a field the ID decides follows the province's bounds
            fields_ = [replace(f, min=conditions.age_min, max=conditions.age_max if conditions.age_max
                               is not None else f.max) if f.from_id == "age" else f for f in fields_]
        return replace(
            self, fields=tuple(fields_), conditions=conditions, province=province,
            authority=override.authority or self.authority,
            posting_days=self.posting_days if override.posting_days is None else override.posting_days,
            promised_limit=override.promised_limit or self.promised_limit,
            statutory_limit=override.statutory_limit or self.statutory_limit,
            legal_basis=self.legal_basis + override.legal_basis,
            description=override.description or self.description)

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
            "updated": self.updated.isoformat() if self.updated else None,
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
            "legal_basis": list(self.legal_basis),
            "authority": self.authority.to_dict(),
            "forward": [f.to_dict() for f in self.forward],
            "conditions": self.conditions.to_dict(),
            "labels": list(self.labels),
            "campaign": self.campaign,
            "provinces": [o.province for o in self.provinces],
            "province": self.province,
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


EARLIEST_UPDATE = date(2000, 1, 1)


def _updated(c: _Checker, data: Mapping[str, Any]) -> date | None:
    """``updated = 2026-12-02``: a TOML date (not a date-time, not a string), optional."""
    if "updated" not in data:
        return None
    value = data["updated"]
    if type(value) is not date or value < EARLIEST_UPDATE:
        c.add("updated", "更新日期 updated 应写成日期，例如 updated = 2026-12-02（不加引号，不带时间）")
        return None
    return value


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
    from_id = c.string(raw, "from_id", f"{path}.from_id", required=False, max_len=20)
    if from_id:
        expected = {"age": ("number",), "sex": ("choice", "text"), "birth_date": ("date",)}.get(from_id)
        if expected is None:
            c.add(f"{path}.from_id", f"from_id 的值「{from_id}」无效，应为：{'、'.join(FROM_ID)}")
        elif ftype and ftype not in expected:
            c.add(f"{path}.from_id", f"from_id = \"{from_id}\" 的字段类型应为 {' 或 '.join(expected)}")
    if not key or not ftype:
        return None
    return FieldDef(key=key, label=label, type=ftype, required=required, options=options,
                    min=lo, max=hi, max_length=max_length, decimals=decimals, help=help_text,
                    from_id=from_id)


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
    keep = c.boolean(raw, "keep_original", f"{path}.keep_original", default=False) if "keep_original" in raw else None
    if keep is not None and form in ("复印件", "电子件"):
        c.add(f"{path}.keep_original", "只有原件才需要写明是否留存（keep_original）")
    if not key:
        return None
    return MaterialDef(key=key, name=name, form=form, copies=copies, required=required,
                       waivable=waivable, note=note, keep_original=keep)


def _body_name(c: _Checker, data: Mapping[str, Any], key: str, path: str, required: bool) -> str:
    value = c.string(data, key, path, required=required, max_len=60)
    for name in re.findall(r"\{([^}]*)\}", value):
        if name not in BODY_PLACEHOLDERS:
            c.add(path, f"机关名称中只能使用 {{county}}、{{township}}，不认识 {{{name}}}")
    return value


def _authority(c: _Checker, raw: Any, path: str) -> Authority | None:
    if not isinstance(raw, Mapping):
        c.add(path, f"{path} 应写成表：decides = \"决定机关\"，可选 accepts、seal")
        return None
    c.unknown_keys(raw, AUTHORITY_KEYS, f"{path}.")
    decides = _body_name(c, raw, "decides", f"{path}.decides", True)
    accepts = _body_name(c, raw, "accepts", f"{path}.accepts", False)
    seal = c.boolean(raw, "seal", f"{path}.seal", default=True)
    return Authority(decides, accepts, seal) if decides else None


def _conditions(c: _Checker, raw: Any, path: str) -> Conditions:
    if not isinstance(raw, Mapping):
        c.add(path, f"{path} 应写成表：age_min、age_max、sex")
        return Conditions()
    c.unknown_keys(raw, CONDITION_KEYS, f"{path}.")
    age_min = c.integer(raw, "age_min", f"{path}.age_min", maximum=150) if "age_min" in raw else None
    age_max = c.integer(raw, "age_max", f"{path}.age_max", maximum=150) if "age_max" in raw else None
    if age_min is not None and age_max is not None and age_min > age_max:
        c.add(f"{path}.age_min", f"age_min（{age_min}）不能大于 age_max（{age_max}）")
    sex = c.one_of(raw, "sex", f"{path}.sex", ("男", "女")) if "sex" in raw else ""
    return Conditions(age_min, age_max, sex)


def _string_list(c: _Checker, data: Mapping[str, Any], key: str, path: str, max_len: int = 200) -> tuple[str, ...]:
    raw = data.get(key)
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, str) and x.strip() for x in raw):
        c.add(path, f"{key} 应为非空文字列表")
        return ()
    out = tuple(x.strip() for x in raw)
    for x in out:
        if len(x) > max_len:
            c.add(path, f"{key} 中的一项过长（最多 {max_len} 字）")
    return out


def _forward(c: _Checker, raw: Any) -> tuple[ForwardBody, ...]:
    if not isinstance(raw, list):
        c.add("forward", "forward 应写成若干个 [[forward]] 表（body、limit）")
        return ()
    out = []
    for i, entry in enumerate(raw):
        path = f"forward[{i}]"
        if not isinstance(entry, Mapping):
            c.add(path, "每个转报机关应写成 [[forward]] 表")
            continue
        c.unknown_keys(entry, frozenset({"body", "limit"}), f"{path}.")
        body = _body_name(c, entry, "body", f"{path}.body", True)
        limit = _time_limit(c, entry, "limit") if "limit" in entry else None
        if limit is None:
            c.add(f"{path}.limit", "请写明该机关的办理时限 limit = { amount = 数字, unit = \"工作日\" }")
        elif body:
            out.append(ForwardBody(body, limit))
    if len({f.body for f in out}) != len(out):
        c.add("forward", "转报机关重复")
    return tuple(out)


def _province(c: _Checker, code: str, raw: Any, fields: list[FieldDef]) -> ProvinceOverride | None:
    path = f"province.{code}"
    if not PROVINCE_RE.match(code):
        c.add(path, f"省级代码「{code}」应为两位数字（区划代码前两位，如 61 陕西）")
        return None
    if not isinstance(raw, Mapping):
        c.add(path, f"{path} 应写成表")
        return None
    c.unknown_keys(raw, PROVINCE_KEYS, f"{path}.")
    authority = _authority(c, raw["authority"], f"{path}.authority") if "authority" in raw else None
    conditions = _conditions(c, raw["conditions"], f"{path}.conditions") if "conditions" in raw else None
    field_changes: dict[str, dict[str, Any]] = {}
    raw_fields = raw.get("fields", {})
    if not isinstance(raw_fields, Mapping):
        c.add(f"{path}.fields", "fields 应写成 字段键 = { ... } 的表")
        raw_fields = {}
    by_key = {f.key: f for f in fields}
    for key, change in raw_fields.items():
        fpath = f"{path}.fields.{key}"
        if key not in by_key:
            c.add(fpath, f"本事项没有字段 {key}")
            continue
        if not isinstance(change, Mapping):
            c.add(fpath, "应写成表（label、min、max、options、help）")
            continue
        c.unknown_keys(change, PROVINCE_FIELD_KEYS, f"{fpath}.")
        ok = {k: v for k, v in change.items() if k in PROVINCE_FIELD_KEYS}
        if "options" in ok and (by_key[key].type != "choice" or not isinstance(ok["options"], list)
                                or not all(isinstance(o, str) and o for o in ok["options"])):
            c.add(f"{fpath}.options", "只有 choice 字段才能改 options，且应为非空文字列表")
        for b in ("min", "max"):
            if b in ok and (isinstance(ok[b], bool) or not isinstance(ok[b], (int, float))):
                c.add(f"{fpath}.{b}", f"{b} 应为数字")
        field_changes[key] = ok
    posting = c.integer(raw, "posting_days", f"{path}.posting_days", maximum=60) if "posting_days" in raw else None
    promised = _time_limit(c, raw, "promised_limit") if "promised_limit" in raw else None
    statutory = _time_limit(c, raw, "statutory_limit") if "statutory_limit" in raw else None
    basis = _string_list(c, raw, "legal_basis", f"{path}.legal_basis")
    description = c.string(raw, "description", f"{path}.description", required=False, max_len=1000)
    return ProvinceOverride(code, authority, conditions, field_changes, posting, promised, statutory, basis,
                            description)


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
    updated = _updated(c, data)
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

    legal_basis = _string_list(c, data, "legal_basis", "legal_basis")
    if data.get("legal_basis") == []:
        c.add("legal_basis", "至少写明一项办理依据（法律、法规、规章或规范性文件及条款）")
    authority = _authority(c, data["authority"], "authority") if "authority" in data else None
    forward = _forward(c, data["forward"]) if "forward" in data else ()
    conditions = _conditions(c, data["conditions"], "conditions") if "conditions" in data else Conditions()
    labels = _string_list(c, data, "labels", "labels", max_len=10)
    for label in labels:
        if label not in SERVICE_LABELS:
            c.add("labels", f"四办标签「{label}」无效，应为：{'、'.join(SERVICE_LABELS)}")
    if len(set(labels)) != len(labels):
        c.add("labels", "四办标签重复")
    campaign = c.boolean(data, "campaign", "campaign", default=False)
    if campaign and case_kind == "即办件":
        c.add("campaign", "年度集中申报的事项不能是即办件")
    for f in fields:
        if f.from_id == "age" and not (conditions.age_min is not None or conditions.age_max is not None):
            c.add(f"fields.{f.key}.from_id", "按身份证计算年龄的字段需要在 [conditions] 写明年龄条件")
    provinces: list[ProvinceOverride] = []
    raw_provinces = data.get("province", {})
    if not isinstance(raw_provinces, Mapping):
        c.add("province", "province 应写成 [province.两位省级代码] 表")
    else:
        for code_, raw in raw_provinces.items():
            parsed = _province(c, str(code_), raw, fields)
            if parsed is not None:
                provinces.append(parsed)

    if c.issues:
        return None, c.issues, overrides
    item = ServiceItem(
        code=code, name=name, short_name=short_name, description=description,
        department=department, item_type=item_type, handling_level=level, case_kind=case_kind,
        version=version, promised_limit=promised, statutory_limit=statutory, posting_days=posting,
        fee=fee, agent_relationship=agent_rel, fields=tuple(fields), materials=tuple(materials),
        legal_basis=legal_basis, authority=authority or Authority("{county}人民政府"), forward=forward,
        conditions=conditions, labels=labels, campaign=campaign, provinces=tuple(provinces), updated=updated,
    )
    return item, [], overrides
