"""Filing (nộp) a stored report to the unit above, and who has filed.

A commune's stored report with a document is filed to its province, a province's to
the country. A filing is never changed or removed (the table refuses it): a later
stored report of the same unit and period is filed as the next version, and both stay.
A unit's state for a period (on time, late, missing) is its FIRST filing's, judged by
the local date against the deadline; the LATEST version is the one a province's
(the country's) report aggregates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from broadcaster.db import utcnow
from broadcaster.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from broadcaster.models import AdminUnit, ComplianceReport, ReportFiling, Station
from broadcaster.reports import store
from broadcaster.reports.periods import KINDS, Period, closed
from broadcaster.reports.sections import local_iso
from broadcaster.services.reports.aggregate import aggregate, unit_totals
from broadcaster.services.reports.drafts import deadline, has_document

ON_TIME, LATE, MISSING = "on_time", "late", "missing"
REMIND_PAST_DAYS = 31  # an unfiled period is still reminded this long after its deadline


@dataclass(frozen=True)
class Filing:
    id: int
    report_id: int
    unit_code: str
    unit_name: str
    parent_code: str | None  # None: filed to the country
    period_kind: str
    period_key: str
    cutoff_day: int
    deadline: date
    filed_at: datetime  # UTC
    filed_by: str
    on_time: bool
    version: int


@dataclass(frozen=True)
class UnitStatus:
    code: str
    name: str
    state: str  # "on_time" | "late" | "missing": the first filing's
    filing: Filing | None  # the latest version (the one aggregated)
    versions: int


@dataclass(frozen=True)
class FilingStatus:
    period: Period
    parent_code: str | None
    parent_name: str
    deadline: date
    units: list[UnitStatus]
    on_time: int
    late: int
    missing: int


@dataclass(frozen=True)
class Reminder:
    period: Period
    deadline: date
    days_left: int  # negative: the deadline has passed
    filed: bool


def _filing(row: ReportFiling, names: dict[str, str]) -> Filing:
    return Filing(
        row.id,
        row.report_id,
        row.unit_code,
        names.get(row.unit_code, row.unit_code),
        row.parent_code,
        row.period_kind,
        row.period_key,
        row.cutoff_day,
        row.deadline,
        row.filed_at,
        row.filed_by,
        row.on_time,
        row.version,
    )


def _names(session: Session, codes) -> dict[str, str]:
    codes = sorted(set(codes))
    if not codes:
        return {}
    return dict(
        session.execute(
            select(AdminUnit.code, AdminUnit.name).where(AdminUnit.code.in_(codes))
        ).all()
    )


def _unit(session: Session, code: str) -> AdminUnit:
    unit = session.scalar(select(AdminUnit).where(AdminUnit.code == code))
    if unit is None:
        raise NotFound("Không có đơn vị hành chính nào mã '{code}'.", field="unit_code", code=code)
    return unit


def _same_period(q, kind: str, key: str, cutoff_day: int):
    return q.where(
        ReportFiling.period_kind == kind,
        ReportFiling.period_key == key,
        ReportFiling.cutoff_day == cutoff_day,
    )


def file_report(
    session: Session,
    report_id: int,
    *,
    scope_unit_code: str | None,
    filed_by: str,
    deadline_day: int,
    tz: ZoneInfo,
    now: datetime | None = None,
) -> Filing:
    """File a stored document report to the unit above (the caller commits)."""
    info, body = store.get(session, report_id)
    if not has_document(body):
        raise InvalidInput(
            "Báo cáo số {report_id} chưa có phần văn bản (số, người ký, mục II–III): "
            "hãy soạn và lưu báo cáo theo mẫu văn bản trước khi nộp.",
            report_id=report_id,
        )
    if info.unit_code is None:
        raise InvalidInput(
            "Báo cáo số {report_id} là báo cáo toàn quốc: không có cấp trên để nộp.",
            report_id=report_id,
        )
    if info.campaign_id is not None or info.period_kind not in KINDS:
        raise InvalidInput(
            "Chỉ nộp được báo cáo cả đơn vị theo kỳ tháng, quý, 6 tháng hoặc năm; "
            "báo cáo số {report_id} là báo cáo riêng một chiến dịch hoặc một khoảng ngày.",
            report_id=report_id,
        )
    unit = _unit(session, info.unit_code)
    if scope_unit_code is not None:
        scope = _unit(session, scope_unit_code)
        if not unit.path.startswith(scope.path):
            raise PermissionDenied(
                "Báo cáo số {report_id} là của {unit}, ngoài phạm vi {scope}: không nộp thay được.",
                report_id=report_id,
                unit=unit.name,
                scope=scope.name,
            )
    if (
        done := session.scalar(select(ReportFiling).where(ReportFiling.report_id == report_id))
    ) is not None:
        raise Conflict(
            "Báo cáo số {report_id} đã nộp (lần {version}); muốn sửa thì lập và lưu "
            "báo cáo mới rồi nộp, bản đã nộp được giữ nguyên.",
            report_id=report_id,
            version=done.version,
        )
    period = store.period_of(body)
    cutoff = body["period"]["cutoff_day"]
    latest = session.execute(
        _same_period(
            select(func.max(ReportFiling.version), func.max(ReportFiling.report_id)).where(
                ReportFiling.unit_code == unit.code
            ),
            period.kind,
            period.key,
            cutoff,
        )
    ).one()
    if latest[1] is not None and latest[1] > report_id:
        raise Conflict(
            "Báo cáo số {report_id} cũ hơn báo cáo số {newer} đã nộp cho cùng kỳ: "
            "không nộp lại bản cũ.",
            report_id=report_id,
            newer=latest[1],
        )
    moment = now or utcnow()
    due = deadline(period, deadline_day)
    row = ReportFiling(
        report_id=report_id,
        unit_code=unit.code,
        parent_code=unit.parent.code if unit.parent is not None else None,
        period_kind=period.kind,
        period_key=period.key,
        cutoff_day=cutoff,
        version=(latest[0] or 0) + 1,
        deadline=due,
        filed_at=moment,
        filed_by=filed_by[:120],
        on_time=moment.astimezone(tz).date() <= due,
        body_sha256=info.body_sha256,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict(
            "Báo cáo số {report_id} vừa được nộp cùng lúc ở nơi khác: tải lại để xem.",
            report_id=report_id,
        ) from None
    return _filing(row, {unit.code: unit.name})


def _below(session: Session, parent: AdminUnit | None) -> list[AdminUnit]:
    """The units directly below ``parent`` (None: the provinces) that have active stations."""
    q = select(AdminUnit)
    q = (
        q.where(AdminUnit.level == 1)
        if parent is None
        else q.where(AdminUnit.parent_id == parent.id)
    )
    children = list(session.scalars(q.order_by(AdminUnit.code)))
    station_q = (
        select(AdminUnit.path).join(Station, Station.unit_id == AdminUnit.id).where(Station.active)
    )
    if parent is not None:
        station_q = station_q.where(AdminUnit.path.startswith(parent.path))
    paths = set(session.scalars(station_q.distinct()))
    return [c for c in children if any(p.startswith(c.path) for p in paths)]


def filing_status(
    session: Session, period: Period, parent_code: str | None, *, deadline_day: int, tz: ZoneInfo
) -> FilingStatus:
    """Who below ``parent_code`` (None: the provinces of the country) filed ``period``."""
    parent = _unit(session, parent_code) if parent_code is not None else None
    children = _below(session, parent)
    q = _same_period(select(ReportFiling), period.kind, period.key, period.cutoff_day)
    q = q.where(
        ReportFiling.parent_code.is_(None)
        if parent_code is None
        else ReportFiling.parent_code == parent_code
    )
    rows = list(session.scalars(q.order_by(ReportFiling.unit_code, ReportFiling.version)))
    names = {c.code: c.name for c in children} | _names(
        session, {r.unit_code for r in rows} - {c.code for c in children}
    )
    by_unit: dict[str, list[ReportFiling]] = {}
    for row in rows:
        by_unit.setdefault(row.unit_code, []).append(row)
    units = []
    for code in sorted({c.code for c in children} | set(by_unit)):
        filed = by_unit.get(code, [])
        if not filed:
            units.append(UnitStatus(code, names.get(code, code), MISSING, None, 0))
            continue
        state = ON_TIME if filed[0].on_time else LATE
        units.append(
            UnitStatus(code, names.get(code, code), state, _filing(filed[-1], names), len(filed))
        )
    return FilingStatus(
        period=period,
        parent_code=parent_code,
        parent_name=parent.name if parent is not None else "Toàn quốc",
        deadline=deadline(period, deadline_day),
        units=units,
        on_time=sum(u.state == ON_TIME for u in units),
        late=sum(u.state == LATE for u in units),
        missing=sum(u.state == MISSING for u in units),
    )


def filings_section(
    session: Session, period: Period, parent_code: str | None, *, deadline_day: int, tz: ZoneInfo
) -> dict:
    """The document's ``filings`` dict (format in reports/official.py): the latest filed
    report of every unit below, those missing, and the sum of the filed totals."""
    status = filing_status(session, period, parent_code, deadline_day=deadline_day, tz=tz)
    filed = [u for u in status.units if u.filing is not None]
    bodies = {}
    if filed:
        ids = [u.filing.report_id for u in filed]
        for row in session.scalars(select(ComplianceReport).where(ComplianceReport.id.in_(ids))):
            bodies[row.id] = row
    units = []
    for u in filed:
        row = bodies[u.filing.report_id]
        totals = unit_totals(json.loads(row.body)["totals"])
        units.append(
            {
                "code": u.code,
                "name": u.name,
                "report_id": row.id,
                "body_sha256": row.body_sha256,
                "filed_at": local_iso(u.filing.filed_at, tz),
                "on_time": u.state == ON_TIME,
                "version": u.filing.version,
                "totals": totals,
            }
        )
    return {
        "deadline": status.deadline.isoformat(),
        "units": units,
        "missing": [{"code": u.code, "name": u.name} for u in status.units if u.filing is None],
        "aggregate": aggregate(u["totals"] for u in units),
    }


def filings_of(session: Session, unit_code: str) -> list[Filing]:
    """Every filing of a unit, newest first."""
    rows = list(
        session.scalars(
            select(ReportFiling)
            .where(ReportFiling.unit_code == unit_code)
            .order_by(ReportFiling.id.desc())
        )
    )
    return [_filing(r, _names(session, [unit_code])) for r in rows]


def reminders(
    session: Session,
    unit_code: str,
    *,
    today: date,
    cutoff_day: int,
    deadline_day: int,
    remind_days: int,
) -> list[Reminder]:
    """The unit's unfiled periods whose deadline is at most ``remind_days`` away, or
    passed up to a month ago (soonest first): for the dashboard."""
    unit = _unit(session, unit_code)
    if unit.level < 1:
        return []
    filed = {
        (kind, key)
        for kind, key in session.execute(
            select(ReportFiling.period_kind, ReportFiling.period_key).where(
                ReportFiling.unit_code == unit_code, ReportFiling.cutoff_day == cutoff_day
            )
        )
    }
    horizon = today + timedelta(days=remind_days + 62)
    out = []
    for kind in KINDS:
        for period in closed(kind, horizon, cutoff_day):
            due = deadline(period, deadline_day)
            left = (due - today).days
            if (
                period.end < today
                and -REMIND_PAST_DAYS <= left <= remind_days
                and (kind, period.key) not in filed
            ):
                out.append(Reminder(period, due, left, False))
    return sorted(out, key=lambda r: (r.deadline, KINDS.index(r.period.kind)))
