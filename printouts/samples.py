"""Made-up documents for tests, benchmarks and the demo (no real person's data)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from .model import (HANDLING_TOWNSHIP, AcceptanceDoc, ApplicationDoc, CaseDoc, CommitmentDoc, CorrectionDoc,
                    DailyReport, DueInfo, InformDoc, InformLine, MaterialLine, RatingCardDoc, RefusalDoc, ResultDoc,
                    StationInfo)

#: A valid GB 11643 number (the standard's own example); never printed in full.
SAMPLE_ID = "11010519491231002X"
SAMPLE_CASE = "4201021002012026031500071K"


def station(query_url: str | None = None) -> StationInfo:
    return StationInfo(name="某某镇某某村便民服务站", division_code="420102100201",
                       phone="027-8888 1234", address="某某村村委会一楼大厅", query_url=query_url)


def materials() -> list[MaterialLine]:
    return [
        MaterialLine("id_card", "居民身份证", "原件", 1, True, "received"),
        MaterialLine("hukou", "户口簿", "复印件", 1, True, "waived", date(2026, 3, 20)),
        MaterialLine("photo", "近期一寸免冠照片", "原件", 2, True, "missing", date(2026, 3, 25)),
        MaterialLine("bank", "本人银行卡", "复印件", 1, False, "received", None, "社保卡亦可"),
    ]


def case(**changes: object) -> CaseDoc:
    base = CaseDoc(
        station=station(), case_number=SAMPLE_CASE, query_password="583920",
        item_code="11420102MB1234567X4000112001000", item_name="高龄津贴申请", department="民政",
        applicant_name="张秀英", applicant_id_number=SAMPLE_ID, applicant_phone="13812345678",
        received_at=datetime(2026, 3, 15, 9, 30), agent_name="李代办",
        promised=DueInfo(date(2026, 4, 10), estimate=True),
        statutory=DueInfo(date(2026, 4, 28), estimate=False), materials=materials(),
        handling_level=HANDLING_TOWNSHIP, status_label="村级已收件", reprint_count=0,
        deciding_body="某某区民政局", accepting_body="某某镇人民政府",
        legal_basis=("《中华人民共和国老年人权益保障法》第三十三条",),
        handover_due=DueInfo(date(2026, 3, 18), False))
    return replace(base, **changes)  # type: ignore[arg-type]


def correction(c: CaseDoc | None = None) -> CorrectionDoc:
    c = c or case()
    return CorrectionDoc(case=c, requested_at=datetime(2026, 3, 18, 14, 0),
                         reviewer="某某镇民政办王审核", reason="户口簿复印件不清晰；照片不是近期照片。",
                         materials=[m for m in c.materials if m.status != "received"],
                         due=DueInfo(date(2026, 3, 30), estimate=True))


def result(c: CaseDoc | None = None) -> ResultDoc:
    return ResultDoc(case=c or case(), decided_at=datetime(2026, 4, 8, 10, 0),
                     decided_by="某某镇人民政府", result="准予发放高龄津贴，每月200元",
                     certificate_no="GLJT-2026-0088", collect_where="某某村便民服务站",
                     collect_how="本人或委托人凭身份证领取")


def refusal(c: CaseDoc | None = None, kind: str = "不予受理") -> RefusalDoc:
    return RefusalDoc(case=c or case(), kind=kind, decided_at=datetime(2026, 3, 16, 9, 0),
                      decided_by="某某镇人民政府", reason="申请人未满80周岁，不符合高龄津贴申领条件。",
                      authority="某某镇人民政府", reconsideration_body="某某区人民政府",
                      court="某某区人民法院")


def acceptance(c: CaseDoc | None = None) -> AcceptanceDoc:
    return AcceptanceDoc(case=c or case(), accepted_at=date(2026, 3, 17), accepting_body="某某镇人民政府",
                         deciding_body="某某区民政局")


def inform() -> InformDoc:
    return InformDoc(number="420102100201-260315-G001", station=station(), made_at=datetime(2026, 3, 15, 9, 0),
                     agent_name="李代办", applicant_name="张秀英", applicant_id_number=SAMPLE_ID,
                     item_code="MZ-GLJT-001", item_name="高龄津贴申领", deciding_body="某某区民政局",
                     accepting_body="某某镇人民政府", legal_basis=("《中华人民共和国老年人权益保障法》第三十三条",),
                     materials=materials(), unmet=[InformLine(kind="condition", text="申请人现年76周岁，本事项要求80周岁及以上")])


def application(c: CaseDoc | None = None) -> ApplicationDoc:
    return ApplicationDoc(case=c or case(), applicant_address="某某村三组12号", relationship="子女", sex="女",
                          birth_date=date(1949, 12, 31), fields=[("居住情况", "独居"), ("开户银行", "农商银行")])


def commitment(c: CaseDoc | None = None) -> CommitmentDoc:
    c = c or case()
    return CommitmentDoc(case=c, signer="张秀英", materials=[m for m in c.materials if m.status == "waived"])


def rating_card(c: CaseDoc | None = None) -> RatingCardDoc:
    return RatingCardDoc(case=c or case())


def daily() -> DailyReport:
    return DailyReport(
        station=station(), day=date(2026, 3, 15),
        received_by_item=[("高龄津贴申请", 3), ("城乡居民医保参保登记", 5), ("社保卡密码重置", 1)],
        pending_sync_events=12,
        near_due=[("4201021002012026031000031K", "高龄津贴申请", "王大爷",
                   DueInfo(date(2026, 3, 17), False))],
        overdue=[("4201021002012026020100012K", "临时救助", "赵婶", DueInfo(date(2026, 3, 2), True))])


def documents(c: CaseDoc | None = None) -> dict[str, object]:
    """kind -> a sample document of that kind."""
    c = c or case()
    return {"receipt": c, "notice": c, "correction": correction(c), "result": result(c),
            "refusal": refusal(c), "daily": daily(), "acceptance": acceptance(c), "inform": inform(),
            "application": application(c), "commitment": commitment(c), "rating_card": rating_card(c)}
