"""Relay sources (nguồn tiếp âm): the live streams an admin configures, and their checks.

A source has a name, a stream address, an optional backup stream and an optional backup
script (an approved, normally recorded, script that plays when both streams are down),
and an owner unit: a provincial admin manages the sources of the province, national
admins the nation-wide ones (VOV1). Every address passes the one rule of
:mod:`broadcaster.relays.urls` when saved and again, hop by hop, when checked.

The scheduler checks every active source that airs in the next :data:`CHECK_AHEAD`
(and those never checked) with :func:`check_due`; an admin can check one at once
(:func:`check_now`). The result stays on the row: ``check_ok``, ``check_detail`` (the
reason as a message id and parameters, see :meth:`broadcaster.relays.check.CheckResult.stored`),
``checked_at``, and ``failing_since`` (when the checks began to fail) for the dashboard.
Services never commit; audit events are recorded as for every other admin change.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, literal, or_, select
from sqlalchemy.orm import Session, selectinload

from broadcaster.db import utcnow
from broadcaster.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Words
from broadcaster.models import AdminUnit, RelaySource, Role, Script, Slot, SlotStatus
from broadcaster.relays.check import DEFAULT_TIMEOUT, CheckResult, check_source, stored_message
from broadcaster.relays.urls import NO_PRIVATE, PrivatePolicy, check_url, redact
from broadcaster.services.audit import Actor, record
from broadcaster.services.units import get_unit
from broadcaster.vntext import nfc, refuse_bidi

CHECK_AHEAD = timedelta(hours=3)  # sources airing this soon are checked by the scheduler
PARALLEL_CHECKS = 4
NAME_LENGTH = 200

Probe = Callable[[str], CheckResult]


@dataclass(frozen=True)
class RelaySourceInfo:
    """A relay source as pages and the CLI show it (addresses without credentials in
    ``url_shown``/``backup_shown``)."""

    id: int
    name: str
    url: str
    backup_url: str | None
    backup_script_slug: str | None
    backup_script_title: str | None
    unit_code: str | None  # None: nation-wide
    unit_name: str | None
    active: bool
    checked_at: datetime | None
    check_ok: bool | None
    check_detail: str | None
    failing_since: datetime | None

    @property
    def url_shown(self) -> str:
        return redact(self.url)

    @property
    def backup_shown(self) -> str | None:
        return redact(self.backup_url) if self.backup_url else None

    def reason(self, translate=None) -> str:
        """The last check's result in the reader's language ("" before the first)."""
        return stored_message(self.check_detail, translate)


@dataclass(frozen=True)
class CheckSummary:
    checked: int
    failing: int
    names_failing: tuple[str, ...]

    def say(self) -> str:
        if not self.checked:
            return "không có nguồn tiếp âm nào cần kiểm tra"
        text = f"kiểm tra {self.checked} nguồn tiếp âm, {self.failing} lỗi"
        if self.names_failing:
            text += ": " + ", ".join(self.names_failing)
        return text


def _info(source: RelaySource) -> RelaySourceInfo:
    script = source.backup_script
    title = None
    if script is not None:
        version = script.approved_version or (script.versions[-1] if script.versions else None)
        title = version.title if version is not None else None
    return RelaySourceInfo(
        id=source.id,
        name=source.name,
        url=source.url,
        backup_url=source.backup_url,
        backup_script_slug=script.slug if script is not None else None,
        backup_script_title=title,
        unit_code=source.unit.code if source.unit is not None else None,
        unit_name=source.unit.name if source.unit is not None else None,
        active=source.active,
        checked_at=source.checked_at,
        check_ok=source.check_ok,
        check_detail=source.check_detail,
        failing_since=source.failing_since,
    )


def _options():
    return (
        selectinload(RelaySource.unit),
        selectinload(RelaySource.backup_script).selectinload(Script.approved_version),
        selectinload(RelaySource.backup_script).selectinload(Script.versions),
    )


def _path(source: RelaySource) -> str | None:
    return source.unit.path if source.unit is not None else None


def _require_manager(actor: Actor, path: str | None) -> None:
    """Admins manage the sources of their scope; nation-wide ones need a national admin."""
    if actor.is_system:
        return
    if actor.role is not Role.ADMIN:
        raise PermissionDenied("Chỉ quản trị viên được quản lý nguồn tiếp âm.")
    if not actor.covers(path):
        if path is None:
            raise PermissionDenied(
                "Chỉ quản trị viên toàn quốc được quản lý nguồn tiếp âm toàn quốc.",
                field="unit",
            )
        raise PermissionDenied(
            "Nguồn tiếp âm này thuộc đơn vị ngoài phạm vi của '{actor}'.",
            field="unit",
            actor=actor.label,
        )


def _load(session: Session, ref: int | str) -> RelaySource:
    """A source by id or by name."""
    stmt = select(RelaySource).options(*_options())
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
        found = session.scalar(stmt.where(RelaySource.id == int(ref)))
        if found is not None:
            return found
    if isinstance(ref, str):
        found = session.scalar(stmt.where(RelaySource.name == nfc(ref.strip())))
        if found is not None:
            return found
    raise NotFound(
        "Không có nguồn tiếp âm '{ref}'. Xem danh sách: broadcaster relays list",
        field="source",
        ref=str(ref)[:100],
    )


def get_source(session: Session, ref: int | str) -> RelaySourceInfo:
    return _info(_load(session, ref))


def _visible(scope_path: str | None):
    """Sources a user of ``scope_path`` sees: nation-wide ones, those of units inside the
    scope, and those of the units holding it (the province's radio, for a commune)."""
    if scope_path is None:
        return None
    return or_(
        RelaySource.unit_id.is_(None),
        AdminUnit.path.startswith(scope_path, autoescape=True),
        literal(scope_path).startswith(AdminUnit.path),
    )


def list_sources(
    session: Session, scope_path: str | None = None, *, include_inactive: bool = True
) -> list[RelaySourceInfo]:
    """The sources seen from ``scope_path`` (None: all), by name."""
    stmt = (
        select(RelaySource)
        .outerjoin(AdminUnit, AdminUnit.id == RelaySource.unit_id)
        .options(*_options())
        .order_by(RelaySource.name)
    )
    if (cond := _visible(scope_path)) is not None:
        stmt = stmt.where(cond)
    if not include_inactive:
        stmt = stmt.where(RelaySource.active.is_(True))
    return [_info(s) for s in session.scalars(stmt)]


def can_manage(actor: Actor, source: RelaySourceInfo, session: Session) -> bool:
    path = None
    if source.unit_code is not None:
        path = session.scalar(select(AdminUnit.path).where(AdminUnit.code == source.unit_code))
    try:
        _require_manager(actor, path)
    except PermissionDenied:
        return False
    return True


def failing_sources(session: Session, scope_path: str | None) -> list[RelaySourceInfo]:
    """Active sources whose last check failed, seen from ``scope_path``; longest first."""
    stmt = (
        select(RelaySource)
        .outerjoin(AdminUnit, AdminUnit.id == RelaySource.unit_id)
        .options(*_options())
        .where(RelaySource.active.is_(True), RelaySource.check_ok.is_(False))
        .order_by(RelaySource.failing_since, RelaySource.name)
    )
    if (cond := _visible(scope_path)) is not None:
        stmt = stmt.where(cond)
    return [_info(s) for s in session.scalars(stmt)]


# --- saving -------------------------------------------------------------------------


def _name(session: Session, name: str, source_id: int | None) -> str:
    name = nfc((name or "").strip())
    if not name:
        raise InvalidInput("Nhập tên nguồn tiếp âm, ví dụ: VOV1.", field="name")
    if len(name) > NAME_LENGTH:
        raise InvalidInput("Tên quá dài: tối đa {n} ký tự.", field="name", n=NAME_LENGTH)
    refuse_bidi(name, Words("Tên nguồn tiếp âm"), field="name")
    taken = session.scalar(select(RelaySource.id).where(RelaySource.name == name))
    if taken is not None and taken != source_id:
        raise Conflict("Đã có nguồn tiếp âm tên '{name}'.", field="name", name=name)
    return name


def _backup_script(session: Session, actor: Actor, slug: str | None) -> Script | None:
    slug = (slug or "").strip()
    if not slug:
        return None
    script = session.scalar(
        select(Script).options(selectinload(Script.unit)).where(Script.slug == slug)
    )
    if script is None:
        raise NotFound(
            "Không có tin bài '{slug}' để làm bản dự phòng.", field="backup_script", slug=slug
        )
    path = script.unit.path if script.unit is not None else None
    inside = (
        path is None
        or actor.covers(path)
        or (actor.scope_path is not None and actor.scope_path.startswith(path))
    )
    if not actor.is_system and not inside:
        raise PermissionDenied(
            "Tin bài '{slug}' nằm ngoài phạm vi của bạn.", field="backup_script", slug=slug
        )
    if script.archived_at is not None or script.approved_version_id is None:
        raise Conflict(
            "Tin bài '{slug}' chưa được duyệt (hoặc đã lưu trữ): bản dự phòng phải là tin "
            "bài đã duyệt.",
            field="backup_script",
            slug=slug,
        )
    return script


def _unit(session: Session, unit: str | None):
    if unit is None or not str(unit).strip():
        return None
    return get_unit(session, str(unit), field="unit")


def _snapshot(source: RelaySource) -> dict:
    return {
        "name": source.name,
        "url": redact(source.url),
        "backup_url": redact(source.backup_url) if source.backup_url else None,
        "backup_script": source.backup_script.slug if source.backup_script else None,
        "unit": source.unit.code if source.unit is not None else None,
        "active": source.active,
    }


def add_source(
    session: Session,
    actor: Actor,
    *,
    name: str,
    url: str,
    backup_url: str | None = None,
    backup_script: str | None = None,
    unit: str | None = None,
    policy: PrivatePolicy | bool = NO_PRIVATE,
) -> RelaySourceInfo:
    """A new active source; ``unit`` None makes it nation-wide (national admins only)."""
    owner = _unit(session, unit)
    _require_manager(actor, owner.path if owner is not None else None)
    name = _name(session, name, None)
    url = check_url(url, policy=policy, field="url").url
    backup = (backup_url or "").strip() or None
    if backup is not None:
        backup = check_url(backup, policy=policy, field="backup_url").url
        if backup == url:
            raise InvalidInput("Luồng dự phòng phải khác luồng chính.", field="backup_url")
    script = _backup_script(session, actor, backup_script)
    source = RelaySource(
        name=name, url=url, backup_url=backup, backup_script=script, unit=owner, active=True
    )
    session.add(source)
    session.flush()
    record(session, actor, "relay.add", "relay_source", source.id, after=_snapshot(source))
    return _info(source)


_UNSET = object()


def edit_source(
    session: Session,
    actor: Actor,
    ref: int | str,
    *,
    name: str | None = None,
    url: str | None = None,
    backup_url: object = _UNSET,
    backup_script: object = _UNSET,
    unit: object = _UNSET,
    active: bool | None = None,
    policy: PrivatePolicy | bool = NO_PRIVATE,
) -> RelaySourceInfo:
    """Change what is given (``backup_url``/``backup_script`` "" or None clears it;
    ``unit`` None makes it nation-wide). A changed address forgets the last check."""
    source = _load(session, ref)
    _require_manager(actor, _path(source))
    before = _snapshot(source)
    if unit is not _UNSET:
        owner = _unit(session, unit)  # type: ignore[arg-type]
        _require_manager(actor, owner.path if owner is not None else None)
        source.unit = owner
    if name is not None:
        source.name = _name(session, name, source.id)
    if url is not None:
        new_url = check_url(url, policy=policy, field="url").url
        if new_url != source.url:
            source.url = new_url
            _forget_check(source)
    if backup_url is not _UNSET:
        backup = (str(backup_url or "")).strip() or None
        if backup is not None:
            backup = check_url(backup, policy=policy, field="backup_url").url
        if backup != source.backup_url:
            source.backup_url = backup
            _forget_check(source)
    if source.backup_url is not None and source.backup_url == source.url:
        raise InvalidInput("Luồng dự phòng phải khác luồng chính.", field="backup_url")
    if backup_script is not _UNSET:
        source.backup_script = _backup_script(session, actor, backup_script)  # type: ignore[arg-type]
    if active is not None:
        source.active = active
    session.flush()
    after = _snapshot(source)
    if after != before:
        action = "relay.edit"
        if before["active"] and not after["active"]:
            action = "relay.deactivate"
        elif not before["active"] and after["active"]:
            action = "relay.activate"
        record(session, actor, action, "relay_source", source.id, before=before, after=after)
    return _info(source)


def deactivate_source(session: Session, actor: Actor, ref: int | str) -> RelaySourceInfo:
    """Stop using a source (kept for the airing log; campaigns keep naming it)."""
    return edit_source(session, actor, ref, active=False)


def _forget_check(source: RelaySource) -> None:
    source.checked_at = None
    source.check_ok = None
    source.check_detail = None
    source.failing_since = None


# --- checking -----------------------------------------------------------------------


def probe_source(
    url: str,
    backup_url: str | None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    policy: PrivatePolicy | bool = NO_PRIVATE,
) -> CheckResult:
    """The main stream's check; when it plays and a backup stream is set, the backup's
    too (a failing backup is a failing source, said as such)."""
    main = check_source(url, timeout, policy=policy)
    if not main.ok or not backup_url:
        return main
    backup = check_source(backup_url, timeout, policy=policy)
    if backup.ok:
        return main
    return CheckResult(False, backup.template, backup.params, which="backup")


def record_check(
    session: Session, source_id: int, result: CheckResult, now: datetime | None = None
) -> RelaySourceInfo:
    """Keep ``result`` on the source; ``failing_since`` starts at the first failure."""
    source = _load(session, source_id)
    now = now or utcnow()
    source.checked_at = now
    source.check_ok = result.ok
    source.check_detail = result.stored()
    if result.ok:
        source.failing_since = None
    elif source.failing_since is None:
        source.failing_since = now
    session.flush()
    return _info(source)


def check_now(
    session: Session,
    actor: Actor,
    ref: int | str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    policy: PrivatePolicy | bool = NO_PRIVATE,
    now: datetime | None = None,
) -> RelaySourceInfo:
    """Check one source at once (the admin's "Kiểm tra ngay") and keep the result."""
    source = _load(session, ref)
    _require_manager(actor, _path(source))
    result = probe_source(source.url, source.backup_url, timeout=timeout, policy=policy)
    return record_check(session, source.id, result, now)


def due_sources(session: Session, now: datetime, ahead: timedelta = CHECK_AHEAD) -> list:
    """(id, name, url, backup_url) of the active sources with a planned relay slot
    starting before ``now + ahead`` (and not yet ended), or never checked."""
    soon = exists().where(
        Slot.relay_source_id == RelaySource.id,
        Slot.status == SlotStatus.PLANNED,
        Slot.planned_start < now + ahead,
        Slot.planned_start > now - timedelta(hours=6),
    )
    stmt = (
        select(RelaySource.id, RelaySource.name, RelaySource.url, RelaySource.backup_url)
        .where(RelaySource.active.is_(True), or_(RelaySource.checked_at.is_(None), soon))
        .order_by(RelaySource.id)
    )
    return list(session.execute(stmt))


def check_due(
    session: Session,
    now: datetime | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    policy: PrivatePolicy | bool = NO_PRIVATE,
    ahead: timedelta = CHECK_AHEAD,
) -> CheckSummary:
    """Check every source :func:`due_sources` names, a few at a time, then keep every
    result (no write is held open while a stream is read)."""
    now = now or utcnow()
    due = due_sources(session, now, ahead)
    if not due:
        return CheckSummary(0, 0, ())
    with ThreadPoolExecutor(min(PARALLEL_CHECKS, len(due))) as pool:
        results = list(
            pool.map(
                lambda row: probe_source(row.url, row.backup_url, timeout=timeout, policy=policy),
                due,
            )
        )
    failing = []
    for row, result in zip(due, results, strict=True):
        record_check(session, row.id, result, utcnow())
        if not result.ok:
            failing.append(row.name)
    return CheckSummary(len(due), len(failing), tuple(failing))


__all__ = [
    "CHECK_AHEAD",
    "CheckSummary",
    "RelaySourceInfo",
    "add_source",
    "can_manage",
    "check_due",
    "check_now",
    "deactivate_source",
    "due_sources",
    "edit_source",
    "failing_sources",
    "get_source",
    "list_sources",
    "probe_source",
    "record_check",
]
