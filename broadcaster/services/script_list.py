"""The admin's script list: scoped, searchable, one page at a time.

Reads only the columns a list shows (no bodies leave the database, no history
is loaded), one query per page; scope is the same subtree rule as every other
admin list, plus nation-wide scripts and those of a unit above the scope,
which air inside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from broadcaster.errors import InvalidInput, NotFound
from broadcaster.models import AdminUnit, Script, ScriptVersion, User, VersionStatus
from broadcaster.services.scripts import ARCHIVED
from broadcaster.vntext import nfc, slugify

STATES = (*(s.value for s in VersionStatus), ARCHIVED)
MAX_SEARCH = 100


@dataclass(frozen=True)
class ScriptRow:
    """One line of the script list (no body, no history)."""

    slug: str
    title: str
    state: str
    unit_code: str | None
    unit_name: str | None
    latest_version: int
    approved_version: int | None
    updated_at: datetime
    author: str | None
    recorded: bool = False  # the latest version carries a recording


@dataclass(frozen=True)
class ScriptPlace:
    """Where a script belongs: its unit (None for a nation-wide script)."""

    unit_code: str | None
    unit_name: str | None
    unit_path: str | None


def visible_to(scope_path: str | None, unit_path: str | None) -> bool:
    """May a user of this scope read a script of this unit?

    Inside the scope, nation-wide, or a unit above the scope: a province's
    script airs in its communes, so their staff read it (changing it stays
    with the province's own writers and approvers).
    """
    if scope_path is None:
        return True
    return unit_path is None or unit_path.startswith(scope_path) or scope_path.startswith(unit_path)


def _ancestor_paths(scope_path: str) -> list[str]:
    codes = scope_path.strip("/").split("/")
    return ["/" + "/".join(codes[: i + 1]) + "/" for i in range(len(codes))]


def search_scripts(
    session: Session,
    scope_path: str | None,
    *,
    text: str | None = None,
    state: str | None = None,
    limit: int = 51,
    offset: int = 0,
) -> list[ScriptRow]:
    """Scripts visible to ``scope_path``, newest change first.

    ``text`` matches the slug (typed with or without diacritics: the slug is
    folded), or the latest title or body (for a recording, its transcript) with the
    diacritics as typed, ignoring case (on SQLite: the case of ASCII letters, and a
    query typed in lower case).
    """
    if state and state not in STATES:
        raise InvalidInput(
            "Trạng thái '{state}' không hợp lệ; chọn một trong: {valid}.",
            field="state",
            state=state,
            valid=", ".join(STATES),
        )
    latest_number = (
        select(ScriptVersion.script_id, func.max(ScriptVersion.number).label("number"))
        .group_by(ScriptVersion.script_id)
        .subquery()
    )
    latest = aliased(ScriptVersion)
    approved = aliased(ScriptVersion)
    stmt = (
        select(
            Script.slug,
            latest.title,
            latest.status,
            Script.archived_at,
            AdminUnit.code,
            AdminUnit.name,
            latest.number,
            approved.number,
            latest.created_at,
            User.username,
            latest.recording_sha256,
        )
        .join(latest_number, latest_number.c.script_id == Script.id)
        .join(latest, and_(latest.script_id == Script.id, latest.number == latest_number.c.number))
        .outerjoin(approved, approved.id == Script.approved_version_id)
        .outerjoin(AdminUnit, AdminUnit.id == Script.unit_id)
        .outerjoin(User, User.id == latest.author_id)
    )
    if scope_path is not None:
        stmt = stmt.where(
            or_(
                Script.unit_id.is_(None),
                AdminUnit.path.startswith(scope_path, autoescape=True),
                AdminUnit.path.in_(_ancestor_paths(scope_path)),
            )
        )
    if state == ARCHIVED:
        stmt = stmt.where(Script.archived_at.is_not(None))
    elif state:
        stmt = stmt.where(Script.archived_at.is_(None), latest.status == VersionStatus(state))
    words = " ".join(nfc(text or "").split())[:MAX_SEARCH]
    if words:
        if session.get_bind().dialect.name == "postgresql":
            matches = [
                latest.title.icontains(words, autoescape=True),
                latest.body.icontains(words, autoescape=True),
            ]
        else:
            # SQLite's LIKE ignores the case of ASCII letters only: "Đường" typed for
            # "đường" is matched by also asking for the query in lower case
            matches = [
                latest.title.contains(words, autoescape=True),
                latest.body.contains(words, autoescape=True),
            ]
            if words.lower() != words:
                matches.append(latest.title.contains(words.lower(), autoescape=True))
                matches.append(latest.body.contains(words.lower(), autoescape=True))
        folded = slugify(words)
        if folded:
            matches.append(Script.slug.contains(folded, autoescape=True))
        stmt = stmt.where(or_(*matches))
    stmt = stmt.order_by(latest.created_at.desc(), Script.id.desc()).limit(limit).offset(offset)
    return [
        ScriptRow(
            slug=slug,
            title=title,
            state=ARCHIVED if archived_at else status.value,
            unit_code=code,
            unit_name=name,
            latest_version=number,
            approved_version=approved_number,
            updated_at=updated_at,
            author=author,
            recorded=recording is not None,
        )
        for (
            slug,
            title,
            status,
            archived_at,
            code,
            name,
            number,
            approved_number,
            updated_at,
            author,
            recording,
        ) in session.execute(stmt)
    ]


def script_place(session: Session, slug: str) -> ScriptPlace:
    """The unit a script belongs to; NotFound for an unknown slug."""
    row = session.execute(
        select(AdminUnit.code, AdminUnit.name, AdminUnit.path, Script.id)
        .select_from(Script)
        .outerjoin(AdminUnit, AdminUnit.id == Script.unit_id)
        .where(Script.slug == slug)
    ).first()
    if row is None:
        raise NotFound("Không có tin bài '{slug}'.", field="slug", slug=slug)
    return ScriptPlace(row[0], row[1], row[2])


def slug_taken(session: Session, slug: str) -> bool:
    return session.scalar(select(Script.id).where(Script.slug == slug)) is not None
