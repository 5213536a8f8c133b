"""Plausible, valid sample applications: for the demo station, the benchmarks and the tests.

Everything here is generated (names from common surnames and given names, IDs with correct check
digits for a given area code): no real person's data.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from forms.schema import FieldDef, ServiceItem, age_on
from forms.identity import credit_check_char, iso7064_mod11_2

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "秀英桂兰玉梅凤珍华明国强建军伟平红芳丽霞春生德福海燕文学志忠永成金荣淑云兰英杰宝山林福祥贵兴发顺"
VILLAGE_ROADS = ["一组", "二组", "三组", "四组", "五组", "六组", "东湾", "西湾", "新屋", "老屋场"]


def make_name(rng: random.Random) -> str:
    given_len = 1 if rng.random() < 0.3 else 2
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(given_len))


def make_resident_id(rng: random.Random, area: str = "421381", born_from: date = date(1930, 1, 1),
                     born_to: date = date(2005, 12, 31), sex: str | None = None) -> str:
    birth = born_from + timedelta(days=rng.randrange((born_to - born_from).days + 1))
    seq = rng.randrange(1, 1000)
    if sex == "男" and seq % 2 == 0 or sex == "女" and seq % 2 == 1:
        seq = seq % 999 + 1
    first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
    return first17 + iso7064_mod11_2(first17)


def make_mobile(rng: random.Random) -> str:
    return rng.choice(["138", "139", "150", "151", "158", "186", "187", "199"]) + f"{rng.randrange(10**8):08d}"


def _luhn_complete(partial: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return partial + str((10 - total % 10) % 10)


def make_bank_card(rng: random.Random) -> str:
    return _luhn_complete("621700" + "".join(str(rng.randrange(10)) for _ in range(12)))


def make_credit_code(rng: random.Random, area: str = "421381") -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    first17 = "93" + area + "".join(rng.choice(alphabet) for _ in range(9))
    return first17 + credit_check_char(first17)


def _born_range(item: ServiceItem, today: date) -> tuple[date, date]:
    """Birth dates that meet the item's age conditions on ``today`` (and make an adult otherwise)."""
    c = item.conditions
    if c.age_min is None and c.age_max is None:
        return date(1930, 1, 1), min(date(2005, 12, 31), today)
    young = c.age_min if c.age_min is not None else 20
    old = c.age_max if c.age_max is not None else max(young + 10, 80)
    latest = date(today.year - young, 1, 1) - timedelta(days=1) if young else today
    earliest = date(today.year - old, 12, 31) + timedelta(days=1)
    return max(earliest, date(1920, 1, 1)), min(latest, date(2005, 12, 31), today)


def _field_value(fd: FieldDef, rng: random.Random, today: date, applicant: dict[str, str]) -> Any:
    t = fd.type
    if fd.from_id:
        rid = applicant["id_number"]
        birth = date(int(rid[6:10]), int(rid[10:12]), int(rid[12:14]))
        return {"age": age_on(birth, today), "sex": "男" if int(rid[16]) % 2 else "女",
                "birth_date": birth.isoformat()}[fd.from_id]
    if t == "resident_id":
        return applicant["id_number"]
    if t == "phone":
        return applicant["phone"]
    if t == "bank_account":
        return make_bank_card(rng)
    if t == "credit_code":
        return make_credit_code(rng)
    if t == "choice":
        return rng.choice(list(fd.options))
    if t == "yesno":
        return rng.random() < 0.5
    if t == "number":
        lo = float(fd.min) if isinstance(fd.min, (int, float)) else 0.0
        hi = float(fd.max) if isinstance(fd.max, (int, float)) else lo + 100
        value = rng.uniform(lo, min(hi, lo + 100))
        return int(value) if fd.decimals == 0 else round(value, fd.decimals)
    if t == "date":
        def bound(b: Any) -> date | None:
            if b == "today":
                return today
            return date.fromisoformat(b) if isinstance(b, str) else None
        lo, hi = bound(fd.min), bound(fd.max)
        if hi is None:
            hi = today + timedelta(days=30) if lo and lo >= today else today
        if lo is None:
            lo = hi - timedelta(days=365)
        return (lo + timedelta(days=rng.randrange(max(1, (hi - lo).days + 1)))).isoformat()
    if t == "textarea":
        return "因家庭困难申请，情况属实。"[: fd.max_length]
    return ("示例" + fd.label)[: fd.max_length]


def make_submission(item: ServiceItem, rng: random.Random, today: date, waive: bool = False,
                    name: str | None = None, id_number: str | None = None) -> dict[str, Any]:
    """A valid submission for ``item``; with ``waive`` the waivable materials are taken under 容缺."""
    applicant = {"name": name or make_name(rng),
                 "id_number": id_number or make_resident_id(rng, "421381", *_born_range(item, today),
                                                            sex=item.conditions.sex or None),
                 "phone": make_mobile(rng),
                 "address": f"示范村{rng.choice(VILLAGE_ROADS)}{rng.randrange(1, 80)}号"}
    if item.agent_relationship:
        applicant["relationship"] = rng.choice(["本人", "子女", "配偶", "亲属"])
    fields = {fd.key: _field_value(fd, rng, today, applicant) for fd in item.fields
              if fd.required or rng.random() < 0.5}
    materials = {}
    waived = []
    for m in item.materials:
        if waive and m.waivable:
            materials[m.key] = "waived"
            waived.append(m.key)
        else:
            materials[m.key] = "received"
    data: dict[str, Any] = {"applicant": applicant, "fields": fields, "materials": materials}
    if waived:
        data["commitment"] = {"signed": True, "signer": applicant["name"],
                              "due_date": (today + timedelta(days=7)).isoformat()}
    return data
