"""Admin sessions held on the server (``web_sessions``): they end when the user signs out,
after an idle time, at an absolute age, and when the password changes or the account is
locked.

The browser keeps only a random key (inside Flask's signed cookie); the table keeps its
SHA-256, so a copy of the database does not hold live keys. Checking a session is one
indexed read; its ``last_seen_at`` is written at most once a minute
(:data:`TOUCH_EVERY`), so the idle limit is exact to within that minute.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from broadcaster import clock
from broadcaster.models import WebSession

TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Limits:
    idle: timedelta
    absolute: timedelta


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start(session: Session, user_id: int, *, address: str = "", user_agent: str = "") -> str:
    """A new session for ``user_id``; returns the key the browser keeps."""
    key = secrets.token_urlsafe(32)
    now = clock.utcnow()
    session.add(
        WebSession(
            key_sha256=_digest(key),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            address=address[:64],
            user_agent=user_agent[:200],
        )
    )
    return key


def check(
    session: Session, key: str | None, user_id: int, limits: Limits, now: datetime | None = None
) -> str | None:
    """None when the session behind ``key`` may go on (and it is touched), else why not:
    ``missing``, ``ended`` (signed out, password, locked), ``idle`` or ``expired`` — an idle
    or expired session is ended here."""
    if not key or len(key) > 100:
        return "missing"
    row = session.scalar(select(WebSession).where(WebSession.key_sha256 == _digest(key)))
    if row is None or row.user_id != user_id:
        return "missing"
    if row.ended_at is not None:
        return "ended"
    now = now or clock.utcnow()
    reason = None
    if now - row.created_at > limits.absolute:
        reason = "expired"
    elif now - row.last_seen_at > limits.idle:
        reason = "idle"
    if reason is not None:
        row.ended_at, row.end_reason = now, reason
        return reason
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return None


def end(session: Session, key: str | None, reason: str = "signed_out") -> bool:
    """End the session behind ``key`` (signing out); False when there was none open."""
    if not key or len(key) > 100:
        return False
    done = session.execute(
        update(WebSession)
        .where(WebSession.key_sha256 == _digest(key), WebSession.ended_at.is_(None))
        .values(ended_at=clock.utcnow(), end_reason=reason)
    )
    return bool(done.rowcount)


def end_all(session: Session, user_id: int, reason: str) -> int:
    """End every open session of ``user_id`` (a new password, a locked account)."""
    done = session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
        .values(ended_at=clock.utcnow(), end_reason=reason)
    )
    return done.rowcount or 0
