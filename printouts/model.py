"""Plain data the printouts are made from.

The printout package never imports the station store: the team fills these frozen dataclasses
from a case projection and hands them to :func:`printouts.render`. Values that a citizen must not
see in full (the resident ID number, the phone number) arrive in full and are masked here, at the
last moment, so that no caller can forget it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Union

from forms.problems import StationError

MaterialStatus = Literal["received", "missing", "waived"]
MATERIAL_STATUSES: tuple[str, ...] = ("received", "missing", "waived")

#: Handling levels the texts know; any other value gets the generic "what happens next" text.
HANDLING_VILLAGE = "village"      # received and finished at the village station
HANDLING_TOWNSHIP = "township"    # received at the village, forwarded to the township

REFUSAL_KINDS: tuple[str, ...] = ("不予受理", "不予批准")


@dataclass(frozen=True)
class StationInfo:
    name: str
    division_code: str
    phone: str
    address: str
    query_url: str | None = None   # the platform's query URL template (printouts.query_url), if published


@dataclass(frozen=True)
class DueInfo:
    """A due date; ``estimate`` is True when no holiday table covered the period (weekday guess)."""

    date: date
    estimate: bool = False


@dataclass(frozen=True)
class MaterialLine:
    """One material the item asks for.

    ``status``: ``received`` (handed in), ``missing`` (must be brought before the case can go on),
    ``waived`` (容缺: accepted without it for now; ``due_date`` says by when it must be brought).
    """

    key: str
    name: str
    form: str
    copies: int
    required: bool
    status: MaterialStatus
    due_date: date | None = None
    note: str | None = None
    form_label: str = ""  # 原件（核验后退还） / 复印件（留存）; ``form`` when empty

    @property
    def form_text(self) -> str:
        return self.form_label or self.form

    def __post_init__(self) -> None:
        if self.status not in MATERIAL_STATUSES:
            raise StationError("bad_document", f"材料“{self.name}”的状态无效：{self.status}")


@dataclass(frozen=True, kw_only=True)
class CaseDoc:
    """Everything about one case that any citizen document prints (keyword-only: many strings)."""

    case_number: str
    query_password: str
    item_code: str
    item_name: str
    department: str
    applicant_name: str
    applicant_id_number: str
    applicant_phone: str
    received_at: datetime
    agent_name: str
    promised: DueInfo | None
    statutory: DueInfo | None
    materials: list[MaterialLine] = field(default_factory=list)
    handling_level: str = HANDLING_VILLAGE
    status_label: str = "已受理"
    reprint_count: int = 0
    station: StationInfo
    # The legal record: bodies (never persons), basis, and where the case is now.
    deciding_body: str = ""
    accepting_body: str = ""
    legal_basis: tuple[str, ...] = ()
    handover_due: DueInfo | None = None     # the agent takes the file to the township by then
    forwarded_to: str = ""                  # 转报: the body the case is with now
    forward_due: DueInfo | None = None
    posting: tuple[date, date, int] | None = None   # 公示: first day, last day, days
    replaces_number: str = ""  # the number this case was filed under first (a copied PC's case renumbered)
    # (printed on, title) of notices printed for a decision that lost to another and are void: the notice
    # of the decision in force says it replaces them
    supersedes: tuple[tuple[date, str], ...] = ()


@dataclass(frozen=True, kw_only=True)
class CorrectionDoc:
    case: CaseDoc
    requested_at: datetime
    reviewer: str
    reason: str
    materials: list[MaterialLine]
    due: DueInfo


@dataclass(frozen=True, kw_only=True)
class ResultDoc:
    case: CaseDoc
    decided_at: datetime
    decided_by: str       # the deciding body, never a person
    result: str
    certificate_no: str | None
    collect_where: str
    collect_how: str


@dataclass(frozen=True, kw_only=True)
class AcceptanceDoc:
    """受理通知书: the township (or the deciding body) accepted the application on a date."""

    case: CaseDoc
    accepted_at: date
    accepting_body: str
    deciding_body: str
    deemed: bool = False   # accepted by law: not told to correct within 5 working days of receipt


@dataclass(frozen=True, kw_only=True)
class InformLine:
    """One thing the citizen must bring or change before the application can be taken."""

    kind: str       # material / condition / jurisdiction / other
    text: str


@dataclass(frozen=True, kw_only=True)
class InformDoc:
    """一次性告知书 of a 告知件: an application that could not be taken, everything it lacks at once."""

    number: str
    station: StationInfo
    made_at: datetime
    agent_name: str
    applicant_name: str
    applicant_id_number: str
    item_code: str
    item_name: str
    deciding_body: str
    accepting_body: str
    legal_basis: tuple[str, ...]
    materials: list[MaterialLine]
    unmet: list[InformLine]
    apply_to: str = ""
    reprint_count: int = 0


@dataclass(frozen=True, kw_only=True)
class ApplicationDoc:
    """申请表 pre-filled from the case, for the applicant's signature or thumbprint."""

    case: CaseDoc
    applicant_address: str
    relationship: str
    sex: str
    birth_date: date | None
    fields: list[tuple[str, str]]


@dataclass(frozen=True, kw_only=True)
class CommitmentDoc:
    """容缺受理承诺书: the materials accepted without, the date each is due, what happens if missed."""

    case: CaseDoc
    signer: str
    materials: list[MaterialLine]


@dataclass(frozen=True, kw_only=True)
class RatingCardDoc:
    """好差评 评价卡: large type, five boxes, a QR; handed out with the result, entered independently."""

    case: CaseDoc
    rating_url: str | None = None

@dataclass(frozen=True, kw_only=True)
class RefusalDoc:
    case: CaseDoc
    kind: str
    decided_at: datetime
    decided_by: str
    reason: str
    authority: str               # the body that refuses (不予受理: the accepting body; 不予批准: the deciding body)
    reconsideration_body: str
    court: str
    rights: bool = True          # the item is an administrative act: 行政复议 / 行政诉讼 rights are printed
    seal: bool = True            # the body holds an official seal: a seal line is printed
    legal_basis: tuple[str, ...] = ()
    apply_to: str = ""           # 不属本机关职权范围: the body to apply to (行政许可法 §32(1)(2))

    def __post_init__(self) -> None:
        if self.kind not in REFUSAL_KINDS:
            raise StationError("bad_document", f"告知书类型无效：{self.kind}（应为“不予受理”或“不予批准”）")


#: (case number, item name, applicant name, due date)
DueRow = tuple[str, str, str, Union[DueInfo, date]]


@dataclass(frozen=True, kw_only=True)
class DailyReport:
    station: StationInfo
    day: date
    received_by_item: list[tuple[str, int]]
    pending_sync_events: int
    near_due: list[DueRow] = field(default_factory=list)
    overdue: list[DueRow] = field(default_factory=list)
    reprint_count: int = 0


@dataclass(frozen=True, kw_only=True)
class FigureRow:
    """One line of the monthly report: a village, an item or the total (see docs/统计口径.md).

    Rates are fractions (0.6667) or None where undefined (nothing completed / no rating).
    """

    code: str
    name: str = ""
    received: int = 0
    accepted: int = 0
    completed: int = 0
    on_time: int = 0
    on_time_rate: float | None = None
    overdue_now: int = 0
    avg_working_days: float | None = None
    corrections_per_case: float | None = None
    ratings: int = 0
    satisfaction_rate: float | None = None
    bad_ratings: int = 0
    followups_open: int = 0
    followups_overdue: int = 0
    # the legal record and the seeds' measures (docs/统计口径.md)
    consultations: int = 0
    deemed_accepted: int = 0
    not_accepted: int = 0
    forwarded: int = 0
    second_corrections: int = 0
    early_rate: float | None = None
    on_the_spot_rate: float | None = None
    one_trip_rate: float | None = None
    trips_per_case: float | None = None
    revisit_rate: float | None = None
    rectification_rate: float | None = None
    handover_late: int = 0
    correction_overdue_now: int = 0   # awaiting 补正 on made_on, its 补正期限 passed
    label_shares: tuple[tuple[str, float | None], ...] = ()


@dataclass(frozen=True, kw_only=True)
class MonthlyReport:
    """政务服务统计月报: the month's figures in total, by village and by item."""

    station: StationInfo
    month: date                  # any day of the month; printed as 2026年9月
    date_from: date
    date_to: date
    made_on: date                # 制表日期, also the day 当前超期 is counted on
    total: FigureRow
    by_village: list[FigureRow] = field(default_factory=list)
    by_item: list[FigureRow] = field(default_factory=list)
    daily_received: list[tuple[date, int]] = field(default_factory=list)
    reprint_count: int = 0


Document = Union[CaseDoc, CorrectionDoc, ResultDoc, RefusalDoc, DailyReport, MonthlyReport, AcceptanceDoc,
                 InformDoc, ApplicationDoc, CommitmentDoc, RatingCardDoc]
