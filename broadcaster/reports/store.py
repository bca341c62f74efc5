"""Stored compliance reports: generated once, kept unchanged, provable later.

A stored report keeps its JSON byte for byte, the digest of those bytes, its
place in the stored reports' chain whose head is signed outside the database
(reports/seal.py), and the airing chains' heads of its scope at generation time.
:func:`verify` proves that the body is the one stored and that no stored report
was rewritten or removed (digest, chain, signed head), that the airing rows up
to each stamped head are unchanged (airing chains), that the body's figures
agree with each other at every level, and that recounting the log as it stood
at generation time gives the same airing figures in every section.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcaster.db import utcnow
from broadcaster.errors import NotFound
from broadcaster.models import ComplianceReport
from broadcaster.reports import checks, compliance, seal, sections
from broadcaster.reports.export import to_json
from broadcaster.reports.periods import Period, custom, resolve
from broadcaster.reports.seal import SealKey
from broadcaster.services.chain import verify_prefix
from broadcaster.services.reports.aggregate import check_filings


@dataclass(frozen=True)
class StoredInfo:
    id: int
    period_kind: str
    period_key: str
    period_from: date
    period_to: date
    unit_code: str | None
    campaign_id: int | None
    generated_at: datetime
    generated_by: str
    scheduled: bool
    stations: int
    compliance_pct: float | None
    body_sha256: str


@dataclass
class Verification:
    report_id: int
    stations: int = 0
    chain_seq: int | None = None  # the report's place in the stored reports' chain
    chain: seal.ChainCheck | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # not proof of tampering: the plan moved

    @property
    def ok(self) -> bool:
        return not self.problems


def _info(r: ComplianceReport) -> StoredInfo:
    return StoredInfo(
        r.id,
        r.period_kind,
        r.period_key,
        r.period_from,
        r.period_to,
        r.unit_code,
        r.campaign_id,
        r.generated_at,
        r.generated_by,
        r.schedule_key is not None,
        r.stations,
        r.compliance_pct,
        r.body_sha256,
    )


def _columns(report: dict) -> dict:
    """The row's columns that repeat the body (for lists and lookups)."""
    period = report["period"]
    unit = report["scope"]["unit"]
    campaign = report["scope"]["campaign"]
    return dict(
        period_kind=period["kind"],
        period_key=period["key"],
        period_from=date.fromisoformat(period["from"]),
        period_to=date.fromisoformat(period["to"]),
        cutoff_day=period["cutoff_day"],
        unit_code=unit["code"] if unit else None,
        campaign_id=campaign["id"] if campaign else None,
        generated_at=datetime.fromisoformat(report["as_of"]),
        stations=report["totals"]["stations"],
        compliance_pct=report["totals"]["compliance_pct"],
        heads_sha256=report["stamp"]["heads_sha256"],
    )


def store(
    session: Session,
    report: dict,
    *,
    key: SealKey,
    generated_by: str,
    schedule_key: str | None = None,
) -> StoredInfo:
    """Keep a computed report, unchanged from now on, at the next place in the chain."""
    body = to_json(report)
    columns = _columns(report) | dict(
        generated_by=generated_by[:120],
        schedule_key=schedule_key,
        body_sha256=hashlib.sha256(body).hexdigest(),
        body=body.decode("utf-8"),
    )
    return _info(seal.append(session, columns, key))


def _load(session: Session, report_id: int) -> ComplianceReport:
    row = session.get(ComplianceReport, report_id)
    if row is None:
        raise NotFound("Không có báo cáo đã lưu số {report_id}.", report_id=report_id)
    return row


def get(session: Session, report_id: int) -> tuple[StoredInfo, dict]:
    row = _load(session, report_id)
    return _info(row), json.loads(row.body)


def list_stored(
    session: Session, *, unit_code: str | None = None, kind: str | None = None, limit: int = 100
) -> list[StoredInfo]:
    q = select(ComplianceReport).order_by(ComplianceReport.id.desc()).limit(limit)
    if unit_code is not None:
        q = q.where(ComplianceReport.unit_code == unit_code)
    if kind is not None:
        q = q.where(ComplianceReport.period_kind == kind)
    return [_info(r) for r in session.scalars(q)]


def period_of(stored: dict) -> Period:
    p = stored["period"]
    if p["kind"] == "custom":
        return custom(date.fromisoformat(p["from"]), date.fromisoformat(p["to"]), p["cutoff_day"])
    return resolve(p["kind"], p["key"], p["cutoff_day"])


def verify(
    session: Session,
    report_id: int,
    *,
    key: SealKey,
    progress: Callable[[int], None] | None = None,
) -> Verification:
    """Prove a stored report: its bytes and place in the signed chain, the airing log
    behind it, its figures' agreement, and a recount at its time."""
    row = _load(session, report_id)
    result = Verification(report_id, chain_seq=row.chain_seq)
    result.chain = seal.check(session, key)  # every stored report's place, and the signed head
    own = _verify_body(session, row, result, progress)
    result.problems = result.chain.problems + own
    return result


def _verify_body(
    session: Session, row: ComplianceReport, result: Verification, progress
) -> list[str]:
    """This report's own proof: bytes, columns, airing log, agreement, recount."""
    problems: list[str] = []
    if hashlib.sha256(row.body.encode("utf-8")).hexdigest() != row.body_sha256:
        problems.append("nội dung báo cáo không khớp mã băm đã lưu (báo cáo bị sửa)")
        return problems
    body = json.loads(row.body)
    if changed := [k for k, v in _columns(body).items() if getattr(row, k) != v]:
        problems.append("các cột của báo cáo khác nội dung của nó: " + ", ".join(changed))
    heads = body["stamp"]["heads"]
    if sections.heads_digest(heads) != body["stamp"]["heads_sha256"]:
        problems.append("dấu chuỗi băm trong báo cáo không khớp dấu đã lưu")
        return problems
    for code, (seq, head_hash) in sorted(heads.items()):
        broken = verify_prefix(session, code, seq, head_hash)
        if broken is not None:
            problems.append(f"đài {code}, dòng số {broken.seq}: {broken.reason}")
        result.stations += 1
        if progress:
            progress(1)
    problems += checks.agreement(body)
    problems += check_filings(session, body)  # a province's document: the filed reports
    if problems:  # the recount would only repeat them
        return problems
    # the log is intact: recounting it as it stood then must give the same airing figures
    again = compliance.compute(
        session,
        period_of(body),
        unit_code=row.unit_code,
        campaign_id=row.campaign_id,
        as_of=row.generated_at,
        tz=ZoneInfo(body["timezone"]),
        rules=compliance.Rules.of(body["rules"]),
        roster={
            s["code"]: (s["unit_code"], s["unit_name"], s["province_code"])
            for s in body["stations"]
        },
    )
    differ, result.notes = checks.recount(body, again)
    return problems + differ


def schedule_key(period: Period, unit_code: str | None) -> str:
    return f"{period.kind}:{period.key}:{period.cutoff_day}:{unit_code or 'VN'}"


def generate(
    session: Session,
    period: Period,
    *,
    key: SealKey,
    unit_code: str | None = None,
    campaign_id: int | None = None,
    generated_by: str,
    tz: ZoneInfo,
    as_of: datetime | None = None,
    scheduled: bool = False,
) -> StoredInfo:
    """Compute and store in one go (what the scheduler and ``report compliance --store`` do)."""
    report = compliance.compute(
        session,
        period,
        unit_code=unit_code,
        campaign_id=campaign_id,
        as_of=as_of or utcnow(),
        tz=tz,
    )
    schedule = schedule_key(period, unit_code) if scheduled else None
    return store(session, report, key=key, generated_by=generated_by, schedule_key=schedule)
