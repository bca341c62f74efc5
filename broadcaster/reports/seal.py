"""The stored reports' chain and its signed head (niêm phong báo cáo đã lưu).

Every stored report takes the next place in one chain, at insert::

    chain_n = sha256("broadcaster.report-chain/1" \\n n \\n chain_(n-1) \\n body_sha256_n)

and the chain's head (its place and hash) is kept in ``report_chain_head``,
signed with HMAC-SHA256 under a key derived from the instance's secret key,
which lives outside the database (``instance/secret_key`` or
``BROADCASTER_SECRET_KEY``). Whoever can write the database but not read that
key cannot make the chain agree with a rewritten body and digest, nor with a
report removed from the middle or the end: recomputing the chain from the rows
no longer gives the signed head, and a new head cannot be signed.

What it does not prove: a head rolled back to an older copy that was itself
signed (a restored backup) together with the reports after it removed, and
everything deleted at once (no reports, no head). Those need a record kept
elsewhere — the audit log, ``job_runs`` or a printed head (``report verify``).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from broadcaster.db import utcnow
from broadcaster.errors import BroadcasterError
from broadcaster.models import ComplianceReport, ReportChainHead

VERSION = "broadcaster.report-chain/1"
GENESIS = "0" * 64
_HEAD_ID = 1
_ATTEMPTS = 5


@dataclass(frozen=True)
class SealKey:
    """The signing key, derived from the instance secret; ``id`` names it without revealing it."""

    key: bytes = field(repr=False)
    id: str

    @classmethod
    def from_secret(cls, secret: str) -> SealKey:
        key = hmac.new(secret.encode("utf-8"), VERSION.encode(), hashlib.sha256).digest()
        return cls(key, hashlib.sha256(b"key-id\n" + key).hexdigest()[:16])

    def sign(self, seq: int, chain_sha256: str) -> str:
        return hmac.new(self.key, f"{seq}\n{chain_sha256}".encode(), hashlib.sha256).hexdigest()

    def signed(self, seq: int, chain_sha256: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(seq, chain_sha256), signature)


def link(seq: int, prev_sha256: str, body_sha256: str) -> str:
    text = f"{VERSION}\n{seq}\n{prev_sha256}\n{body_sha256}"
    return hashlib.sha256(text.encode("ascii")).hexdigest()


class ChainRefused(BroadcasterError):
    """The head cannot be extended: it is not signed by this instance's key."""


def head_problem(head: ReportChainHead, key: SealKey) -> str | None:
    """Why ``head`` is not a head this instance signed (None: it is)."""
    if head.key_id != key.id:
        return (
            f"đầu chuỗi báo cáo được ký bằng khóa {head.key_id}, khóa của máy này là {key.id}: "
            "khóa bí mật (instance/secret_key hoặc BROADCASTER_SECRET_KEY) đã đổi? "
            "Dùng lại khóa cũ thì mới kiểm được các báo cáo đã lưu"
        )
    if not key.signed(head.seq, head.chain_sha256, head.signature):
        return "chữ ký của đầu chuỗi báo cáo không đúng (đầu chuỗi bị sửa)"
    return None


def append(session: Session, columns: dict, key: SealKey) -> ComplianceReport:
    """Insert a stored report at the chain's next place and sign the new head.

    Writers are serialised by the head row (locked on PostgreSQL) and by the unique
    place: one that loses a race takes the next place instead.
    """
    for attempt in range(_ATTEMPTS):
        try:
            with session.begin_nested():
                return _append(session, columns, key)
        except IntegrityError as exc:
            # another writer took this place (or made the first head): try the next one;
            # any other conflict (a periodic report stored twice) is the caller's
            raced = "chain_seq" in str(exc.orig) or "report_chain_head" in str(exc.orig)
            if not raced or attempt == _ATTEMPTS - 1:
                raise
        except _Moved:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


class _Moved(Exception):
    """Another writer moved the head between reading and updating it."""


def _append(session: Session, columns: dict, key: SealKey) -> ComplianceReport:
    if session.get_bind().dialect.name == "sqlite":
        # take the write lock before reading the head: a transaction that read first
        # and wrote second would be refused once another writer had committed between
        session.execute(
            update(ReportChainHead)
            .where(ReportChainHead.id == _HEAD_ID)
            .values(seq=ReportChainHead.seq)
            .execution_options(synchronize_session=False)
        )
    stmt = select(ReportChainHead).where(ReportChainHead.id == _HEAD_ID)
    head = session.scalar(stmt.with_for_update().execution_options(populate_existing=True))
    if head is not None:
        problem = head_problem(head, key)
        if problem:
            raise ChainRefused("Không lưu được báo cáo: {problem}.", problem=problem)
    seq, prev = (head.seq, head.chain_sha256) if head else (0, GENESIS)
    seq += 1
    chain = link(seq, prev, columns["body_sha256"])
    row = ComplianceReport(**columns, chain_seq=seq, prev_sha256=prev, chain_sha256=chain)
    session.add(row)
    session.flush()
    values = {"seq": seq, "chain_sha256": chain, "key_id": key.id, "updated_at": utcnow()}
    values["signature"] = key.sign(seq, chain)
    if head is None:
        session.add(ReportChainHead(id=_HEAD_ID, **values))
        session.flush()
    else:
        moved = session.execute(
            update(ReportChainHead)
            .where(ReportChainHead.id == _HEAD_ID, ReportChainHead.seq == seq - 1)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:
            raise _Moved
    return row


@dataclass
class ChainCheck:
    reports: int = 0
    head_seq: int = 0
    head_sha256: str | None = None
    problems: list[str] = field(default_factory=list)


def check(session: Session, key: SealKey) -> ChainCheck:
    """Recompute the whole chain from the rows and hold it against the signed head."""
    result = ChainCheck()
    rows = session.execute(
        select(
            ComplianceReport.id,
            ComplianceReport.chain_seq,
            ComplianceReport.prev_sha256,
            ComplianceReport.chain_sha256,
            ComplianceReport.body_sha256,
        ).order_by(ComplianceReport.chain_seq.nulls_first(), ComplianceReport.id)
    ).all()
    head = session.get(ReportChainHead, _HEAD_ID)
    result.reports = len(rows)
    prev, expected = GENESIS, 1
    for report_id, seq, stored_prev, stored_chain, body_sha256 in rows:
        if seq is None:
            result.problems.append(f"báo cáo số {report_id} không nằm trong chuỗi báo cáo")
            continue
        if seq != expected:
            missing = "" if seq < expected else f" (thiếu vị trí {expected}–{seq - 1}: bị xóa)"
            result.problems.append(
                f"chuỗi báo cáo đứt trước báo cáo số {report_id}, vị trí {seq}{missing}"
            )
        elif stored_prev != prev:
            result.problems.append(
                f"báo cáo số {report_id} (vị trí {seq}) không nối vào báo cáo trước nó"
            )
        if link(seq, stored_prev, body_sha256) != stored_chain:
            result.problems.append(
                f"báo cáo số {report_id} (vị trí {seq}): mã băm hoặc mắt xích bị sửa"
            )
        # go on from what the row holds, so each break is named once, not at every row after
        prev, expected = stored_chain, seq + 1
    if head is None:
        if rows:
            result.problems.append("không có đầu chuỗi báo cáo (bảng report_chain_head trống)")
        return result
    result.head_seq, result.head_sha256 = head.seq, head.chain_sha256
    problem = head_problem(head, key)
    if problem:
        result.problems.append(problem)
    elif (head.seq, head.chain_sha256) != (expected - 1, prev):
        if head.seq > expected - 1:
            gone = f"thiếu báo cáo ở vị trí {expected}–{head.seq} (bị xóa)"
        else:
            gone = "đầu chuỗi đã ký không khớp các báo cáo đang có"
        result.problems.append(f"chuỗi báo cáo không khớp đầu chuỗi đã ký: {gone}")
    return result
