"""Station pull tokens (mã truy cập của đài): issued once, stored hashed, rotatable, revocable.

A token is 32 random bytes (URL-safe base64) behind a ``bst_`` prefix. Being
random and long, a plain sha256 is the right way to keep it: a slow password
hash would only slow every playlist pull without making a guess any likelier.

A **playlist link** (``bsl_`` prefix) is the same kind of secret for players that
cannot send a header (liquidsoap, VLC, IP loudspeaker controllers): it goes in
the playlist's URL, like a private calendar feed, and reaches only that
station's M3U8 and XSPF playlists, whose audio URLs are signed and expiring
(:mod:`broadcaster.services.signed_audio`). It never works as a header token,
nor a header token in a link. Every use of a link is counted.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from broadcaster.db import utcnow
from broadcaster.errors import NotFound, PermissionDenied
from broadcaster.models import AdminUnit, Role, Station, StationToken
from broadcaster.services.audit import Actor, record

PREFIX = "bst_"
LINK_PREFIX = "bsl_"
KINDS = {"header": PREFIX, "link": LINK_PREFIX}
# A right token is remembered this long by the process that checked it, so a pull
# costs no token query. Issuing or revoking in this process forgets at once; a
# revocation made elsewhere (the CLI, another server process) takes effect within it.
CACHE_SECONDS = 10.0
# On PostgreSQL every revocation is announced here (payload: the station's code), so
# each server process forgets that station's token at once instead of within
# CACHE_SECONDS; processes that are not listening ask :func:`revoked_since`.
REVOKED_CHANNEL = "broadcaster_tokens_revoked"
_MAX_CACHED = 20_000
_cache: dict[str, tuple[StationAuth, float]] = {}
_cache_lock = threading.Lock()


def forget_cached() -> None:
    with _cache_lock:
        _cache.clear()


@dataclass(frozen=True)
class IssuedToken:
    station_code: str
    token: str  # shown once; never stored
    prefix: str
    revoked: int  # how many earlier tokens this issue revoked


@dataclass(frozen=True)
class TokenInfo:
    id: int
    station_code: str
    prefix: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    last_used_at: datetime | None
    kind: str = "header"  # header | link
    uses: int = 0  # counted for links


@dataclass(frozen=True)
class StationAuth:
    """Who a valid token speaks for."""

    station_id: int
    station_code: str
    token_id: int


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _station(session: Session, code: str, actor: Actor | None = None) -> Station:
    station = session.scalar(select(Station).where(Station.code == code))
    if station is None:
        raise NotFound("Không có đài nào mã '{code}'.", field="code", code=code)
    if actor is not None and not actor.is_system:
        unit_path = session.scalar(select(AdminUnit.path).where(AdminUnit.id == station.unit_id))
        if actor.role is not Role.ADMIN or not actor.covers(unit_path):
            raise PermissionDenied(
                "Chỉ quản trị mới cấp hoặc thu hồi mã truy cập của đài {code}.", code=code
            )
    return station


def issue(
    session: Session, actor: Actor, code: str, *, keep_old: bool = False, link: bool = False
) -> IssuedToken:
    """A new token (or, with ``link``, a playlist link) for a station; earlier ones of the
    same kind are revoked unless ``keep_old`` (rotation with overlap)."""
    station = _station(session, code, actor)
    kind = LINK_PREFIX if link else PREFIX
    revoked = 0 if keep_old else _revoke_all(session, station.id, kind)
    forget_cached()
    if revoked:
        _announce(session, code)
    token = kind + secrets.token_urlsafe(32)
    prefix = token[: len(kind) + 6]
    session.add(
        StationToken(
            station_id=station.id,
            token_sha256=token_hash(token),
            prefix=prefix,
            created_by=actor.label,
        )
    )
    record(
        session,
        actor,
        "station.link.issue" if link else "station.token.issue",
        "station",
        code,
        after={"prefix": prefix, "revoked": revoked},
    )
    return IssuedToken(station_code=code, token=token, prefix=prefix, revoked=revoked)


def _revoke_all(session: Session, station_id: int, kind: str | None = None) -> int:
    """Revoke every live token of a station (of one kind: its prefix; None: every kind)."""
    live = [StationToken.station_id == station_id, StationToken.revoked_at.is_(None)]
    if kind is not None:
        live.append(StationToken.prefix.startswith(kind))
    result = session.execute(update(StationToken).where(*live).values(revoked_at=utcnow()))
    return result.rowcount


def revoke(
    session: Session,
    actor: Actor,
    code: str,
    prefix: str | None = None,
    *,
    kind: str | None = None,
) -> int:
    """Revoke a station's tokens: the one with this prefix, or all of a ``kind``
    (``header`` or ``link``), or all of them."""
    station = _station(session, code, actor)
    forget_cached()
    if prefix is None:
        count = _revoke_all(session, station.id, KINDS[kind] if kind else None)
    else:
        count = session.execute(
            update(StationToken)
            .where(
                StationToken.station_id == station.id,
                StationToken.prefix == prefix,
                StationToken.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        ).rowcount
        if not count:
            raise NotFound(
                "Đài {code} không có mã truy cập còn hiệu lực bắt đầu bằng '{prefix}'.",
                field="prefix",
                code=code,
                prefix=prefix,
            )
    if count:
        _announce(session, code)
    record(session, actor, "station.token.revoke", "station", code, after={"revoked": count})
    return count


def _announce(session: Session, code: str) -> None:
    """Tell every listening server process (at commit) that ``code`` lost a token."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sql("SELECT pg_notify(:channel, :code)"), {"channel": REVOKED_CHANNEL, "code": code}
        )


def revoked_since(session: Session, since: datetime) -> tuple[datetime, set[str]]:
    """The stations that had a token revoked after ``since``, and the newest such moment
    (``since`` when there was none): how a process that hears no notices keeps up."""
    rows = session.execute(
        select(Station.code, StationToken.revoked_at)
        .join(Station, Station.id == StationToken.station_id)
        .where(StationToken.revoked_at > since)
    ).all()
    return max((at for _, at in rows), default=since), {code for code, _ in rows}


def list_tokens(session: Session, code: str) -> list[TokenInfo]:
    station = _station(session, code)
    rows = session.scalars(
        select(StationToken)
        .where(StationToken.station_id == station.id)
        .order_by(StationToken.created_at.desc(), StationToken.id.desc())
    )
    return [
        TokenInfo(
            id=t.id,
            station_code=code,
            prefix=t.prefix,
            created_at=t.created_at,
            created_by=t.created_by,
            revoked_at=t.revoked_at,
            last_used_at=t.last_used_at,
            kind="link" if t.prefix.startswith(LINK_PREFIX) else "header",
            uses=t.uses,
        )
        for t in rows
    ]


def remembered(token: str) -> StationAuth | None:
    """The station of a right token checked in this process within CACHE_SECONDS, if any."""
    with _cache_lock:
        cached = _cache.get(token_hash(token))
    if cached is not None and cached[1] > time.monotonic():
        return cached[0]
    return None


def authenticate(session: Session, token: str) -> StationAuth | None:
    """The station a token speaks for, or None for an unknown or revoked token.

    Asks the database; a right answer is remembered (see :func:`remembered`).
    """
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    digest = token_hash(token)
    now = time.monotonic()
    row = session.execute(
        select(StationToken.id, Station.id, Station.code)
        .join(Station, Station.id == StationToken.station_id)
        .where(
            StationToken.token_sha256 == digest,
            StationToken.revoked_at.is_(None),
            Station.active.is_(True),
        )
    ).first()
    if row is None:
        return None
    auth = StationAuth(station_id=row[1], station_code=row[2], token_id=row[0])
    with _cache_lock:
        if len(_cache) >= _MAX_CACHED:
            _cache.clear()
        _cache[digest] = (auth, now + CACHE_SECONDS)
    return auth


def _live_link(session: Session, *where) -> StationAuth | None:
    row = session.execute(
        select(StationToken.id, Station.id, Station.code)
        .join(Station, Station.id == StationToken.station_id)
        .where(
            *where,
            StationToken.prefix.startswith(LINK_PREFIX),
            StationToken.revoked_at.is_(None),
            Station.active.is_(True),
        )
    ).first()
    if row is None:
        return None
    return StationAuth(station_id=row[1], station_code=row[2], token_id=row[0])


def use_link(session: Session, secret: str) -> StationAuth | None:
    """The station a playlist link reaches (None for an unknown or revoked one); counts the use.

    Not cached: a revoked link stops at once, and a player fetches its playlist a few
    times a day, not every minute.
    """
    if not secret.startswith(LINK_PREFIX) or len(secret) > 100:
        return None
    auth = _live_link(session, StationToken.token_sha256 == token_hash(secret))
    if auth is not None:
        count_link_use(session, auth.token_id)
    return auth


def link_station(session: Session, token_id: int) -> StationAuth | None:
    """The station of a live playlist link, by the id its signed audio URLs carry."""
    return _live_link(session, StationToken.id == token_id)


def count_link_use(session: Session, token_id: int) -> None:
    session.execute(
        update(StationToken)
        .where(StationToken.id == token_id)
        .values(uses=StationToken.uses + 1, last_used_at=utcnow())
    )
