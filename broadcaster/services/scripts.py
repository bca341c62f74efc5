"""Scripts and their review ("kiểm duyệt": nothing airs unapproved).

Each script has immutable versions. A version goes draft → submitted →
approved | rejected; the script itself can be archived. The four-eyes rule:
an approver whose scope covers the script approves, and never a version they
wrote or submitted. A new version of an approved script needs approval again;
until then the approved version is what airs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from broadcaster.db import utcnow
from broadcaster.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Words
from broadcaster.library import ScriptText, read_library
from broadcaster.models import AdminUnit, Role, Script, ScriptVersion, VersionStatus
from broadcaster.services.audit import Actor, record
from broadcaster.services.units import get_unit
from broadcaster.vntext import bidi_controls, nfc

ARCHIVED = "archived"
WRITERS = (Role.EDITOR, Role.APPROVER, Role.ADMIN)


@dataclass(frozen=True)
class VersionInfo:
    number: int
    title: str
    body: str
    tags: tuple[str, ...]
    placeholders: tuple[str, ...]
    campaign: str | None
    status: VersionStatus
    content_sha256: str
    source: str
    author: str | None
    created_at: datetime
    submitted_by: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_reason: str | None
    # a recording (then ``body`` is an optional transcript): see services.recordings
    recording_sha256: str | None = None
    recording_info: dict | None = None

    @property
    def is_recording(self) -> bool:
        return self.recording_sha256 is not None


@dataclass(frozen=True)
class ScriptInfo:
    id: int
    slug: str
    state: str  # the latest version's status, or "archived"
    title: str
    unit_code: str | None
    latest_version: int
    approved_version: int | None
    versions: tuple[VersionInfo, ...]

    @property
    def latest(self) -> VersionInfo:
        return self.versions[-1]


@dataclass(frozen=True)
class ScriptImportResult:
    created: list[str]
    versioned: list[str]
    unchanged: list[str]
    skipped: list[str]  # archived scripts whose file changed


def _version_info(v: ScriptVersion) -> VersionInfo:
    return VersionInfo(
        number=v.number,
        title=v.title,
        body=v.body,
        tags=tuple(v.tags),
        placeholders=tuple(v.placeholders),
        campaign=v.campaign,
        status=v.status,
        content_sha256=v.content_sha256,
        source=v.source,
        author=v.author.username if v.author else None,
        created_at=v.created_at,
        submitted_by=v.submitted_by.username if v.submitted_by else None,
        reviewed_by=v.reviewed_by.username if v.reviewed_by else None,
        reviewed_at=v.reviewed_at,
        review_reason=v.review_reason,
        recording_sha256=v.recording_sha256,
        recording_info=v.recording_info,
    )


def script_state(script: Script) -> str:
    return ARCHIVED if script.archived_at else script.latest.status.value


def _info(script: Script) -> ScriptInfo:
    return ScriptInfo(
        id=script.id,
        slug=script.slug,
        state=script_state(script),
        title=script.latest.title,
        unit_code=script.unit.code if script.unit else None,
        latest_version=script.latest.number,
        approved_version=script.approved_version.number if script.approved_version else None,
        versions=tuple(_version_info(v) for v in script.versions),
    )


def _load_options():
    return (
        selectinload(Script.unit),
        selectinload(Script.approved_version),
        selectinload(Script.versions).selectinload(ScriptVersion.author),
        selectinload(Script.versions).selectinload(ScriptVersion.submitted_by),
        selectinload(Script.versions).selectinload(ScriptVersion.reviewed_by),
    )


def _get(session: Session, slug: str) -> Script:
    script = session.scalar(
        select(Script).options(*_load_options()).where(Script.slug == slug.strip())
    )
    if script is None:
        raise NotFound(
            "Không có tin bài '{slug}'. Xem danh sách: broadcaster scripts list",
            field="slug",
            slug=slug,
        )
    return script


def load_script(session: Session, slug: str) -> Script:
    """The script row with its versions (for other services in the core)."""
    return _get(session, slug)


def _require_writer(actor: Actor, unit_path: str | None, what: str) -> None:
    if actor.is_system:
        return
    if actor.role not in WRITERS:
        raise PermissionDenied(
            "Vai trò '{role}' không được {what}.", role=str(actor.role), what=Words(what)
        )
    if not actor.covers(unit_path):
        raise PermissionDenied(
            "Tin bài nằm ngoài phạm vi của '{actor}'; không được {what}.",
            actor=actor.label,
            what=Words(what),
        )


def _refuse_bidi(text: ScriptText) -> None:
    """Refuse a title or body holding bidirectional controls, naming the script (of many
    imported at once)."""
    if found := bidi_controls(text.title):
        raise InvalidInput(
            "Tiêu đề tin bài '{slug}' có ký tự điều khiển hướng chữ ({found}), "
            "có thể làm chữ hiển thị đảo ngược: hãy xóa ký tự đó.",
            field="title",
            slug=text.slug,
            found=", ".join(sorted(set(found))),
        )
    if found := bidi_controls(text.body):
        raise InvalidInput(
            "Nội dung tin bài '{slug}' có ký tự điều khiển hướng chữ ({found}), "
            "có thể làm chữ hiển thị đảo ngược: hãy xóa ký tự đó.",
            field="body",
            slug=text.slug,
            found=", ".join(sorted(set(found))),
        )


def new_version(
    script: Script,
    text: ScriptText,
    actor: Actor,
    number: int,
    recording: tuple[str, str, dict | None] | None = None,
) -> ScriptVersion:
    """A draft version of ``script`` holding ``text``; with ``recording`` (its sha256,
    path and info) the text is that recording's transcript, and nothing is filled in."""
    sha256, path, info = recording or (None, None, None)
    return ScriptVersion(
        script=script,
        number=number,
        title=text.title,
        body=text.body,
        tags=list(text.tags),
        placeholders=[] if recording else list(text.placeholders),
        campaign=text.campaign,
        content_sha256=text.content_sha256,
        source=text.source,
        status=VersionStatus.DRAFT,
        author_id=actor.user_id,
        recording_sha256=sha256,
        recording_path=path,
        recording_info=info,
    )


def save_text(
    session: Session, actor: Actor, text: ScriptText, unit: AdminUnit | None = None
) -> tuple[str, ScriptInfo]:
    """Store a script text: a new script, a new version, or nothing if unchanged.

    Returns what happened (``created``, ``versioned``, ``unchanged``,
    ``skipped``) and the script.
    """
    _refuse_bidi(text)
    script = session.scalar(
        select(Script).options(*_load_options()).where(Script.slug == text.slug)
    )
    if script is None:
        _require_writer(actor, unit.path if unit else None, Words("soạn tin bài"))
        script = Script(slug=text.slug, unit=unit)
        session.add(script)
        version = new_version(script, text, actor, 1)
        session.add(version)
        session.flush()
        record(
            session,
            actor,
            "script.create",
            "script",
            script.id,
            after={"slug": script.slug, "version": 1, "sha256": version.content_sha256},
        )
        return "created", _info(script)
    latest = script.latest
    recorded = None
    if latest.recording_sha256 and text.recording_sha256 is None:
        # a recorded script's text is the transcript of its recording, which stays
        recorded = latest
        text = replace(text, recording_sha256=latest.recording_sha256)
    if latest.content_sha256 == text.content_sha256:
        return "unchanged", _info(script)
    if script.archived_at is not None:
        return "skipped", _info(script)
    _require_writer(actor, script.unit.path if script.unit else None, Words("sửa tin bài"))
    kept = None
    if recorded is not None:  # the text is the transcript of this version's recording
        kept = (recorded.recording_sha256, recorded.recording_path, recorded.recording_info)
    version = new_version(script, text, actor, latest.number + 1, kept)
    session.add(version)
    session.flush()
    session.refresh(script, ["versions"])
    record(
        session,
        actor,
        "script.version",
        "script",
        script.id,
        before={"version": latest.number, "sha256": latest.content_sha256},
        after={"version": version.number, "sha256": version.content_sha256},
    )
    return "versioned", _info(script)


def import_library(
    session: Session,
    actor: Actor,
    folder: Path,
    unit: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ScriptImportResult:
    """Import every script file below ``folder`` in one transaction.

    An unchanged file does nothing; a changed one adds a draft version. Files
    are all checked first: one bad file means nothing is written.
    """
    texts = read_library(folder)
    owner = get_unit(session, unit, field="unit") if unit else None
    result = ScriptImportResult([], [], [], [])
    for text in texts:
        outcome, _ = save_text(session, actor, text, owner)
        getattr(result, outcome).append(text.slug)
        if progress:
            progress(1)
    return result


def _pick_version(
    script: Script, number: int | None, status: VersionStatus, action: str
) -> ScriptVersion:
    """The version an action applies to: the one named, or the newest in ``status``."""
    if number is None:
        candidates = [v for v in script.versions if v.status is status]
        if not candidates:
            raise Conflict(
                "Tin bài '{slug}' không có phiên bản nào ở trạng thái "
                "'{status}' để {action} (trạng thái hiện tại: {state}).",
                slug=script.slug,
                status=status.value,
                action=Words(action),
                state=script_state(script),
            )
        return candidates[-1]
    for v in script.versions:
        if v.number == number:
            if v.status is not status:
                raise Conflict(
                    "Phiên bản {number} của '{slug}' đang ở trạng thái "
                    "'{status}'; chỉ bản '{wanted}' mới {action} được.",
                    field="version",
                    number=v.number,
                    slug=script.slug,
                    status=v.status.value,
                    wanted=status.value,
                    action=Words(action),
                )
            return v
    raise NotFound(
        "Tin bài '{slug}' không có phiên bản {number}.",
        field="version",
        slug=script.slug,
        number=number,
    )


def submit(session: Session, actor: Actor, slug: str, version: int | None = None) -> ScriptInfo:
    """Send a draft for review (trình duyệt)."""
    script = _get(session, slug)
    if actor.is_system:
        raise PermissionDenied("Trình duyệt cần một người dùng.", field="user")
    _require_writer(actor, script.unit.path if script.unit else None, Words("trình duyệt tin bài"))
    if script.archived_at is not None:
        raise Conflict("Tin bài '{slug}' đã lưu trữ.", slug=slug)
    v = _pick_version(script, version, VersionStatus.DRAFT, Words("trình duyệt"))
    if v is not script.latest:
        raise Conflict(
            "Phiên bản {number} đã cũ; hãy trình phiên bản mới nhất ({latest}).",
            field="version",
            number=v.number,
            latest=script.latest.number,
        )
    v.status = VersionStatus.SUBMITTED
    v.submitted_by_id = actor.user_id
    v.submitted_at = utcnow()
    record(
        session,
        actor,
        "script.submit",
        "script",
        script.id,
        before={"version": v.number, "status": "draft"},
        after={"version": v.number, "status": "submitted"},
    )
    return _reloaded(session, slug)


def _reloaded(session: Session, slug: str) -> ScriptInfo:
    """The script as stored now (ids were set directly; reload their relationships)."""
    session.flush()
    session.expire_all()
    return _info(_get(session, slug))


def _require_reviewer(actor: Actor, script: Script, what: str) -> None:
    if actor.is_system or actor.role is not Role.APPROVER:
        raise PermissionDenied(
            "Chỉ người có vai trò 'approver' (lãnh đạo duyệt tin) mới được {what}.",
            what=Words(what),
        )
    if not actor.covers(script.unit.path if script.unit else None):
        scope = script.unit.name if script.unit else Words("toàn quốc")
        raise PermissionDenied(
            "Tin bài '{slug}' thuộc phạm vi {scope}, ngoài phạm vi của "
            "'{actor}'; không được {what}.",
            slug=script.slug,
            scope=scope,
            actor=actor.label,
            what=Words(what),
        )


def approve(
    session: Session, actor: Actor, slug: str, version: int | None = None, note: str = ""
) -> ScriptInfo:
    """Approve a submitted version; it becomes what airs."""
    script = _get(session, slug)
    _require_reviewer(actor, script, Words("duyệt tin bài"))
    v = _pick_version(script, version, VersionStatus.SUBMITTED, Words("duyệt"))
    if actor.user_id in (v.author_id, v.submitted_by_id):
        raise PermissionDenied(
            "Nguyên tắc bốn mắt: không được tự duyệt phiên bản do chính mình soạn hoặc trình. "
            "Hãy nhờ một người duyệt khác."
        )
    previous = script.approved_version.number if script.approved_version else None
    v.status = VersionStatus.APPROVED
    v.reviewed_by_id = actor.user_id
    v.reviewed_at = utcnow()
    v.review_reason = nfc(note.strip()) or None
    script.approved_version_id = v.id
    record(
        session,
        actor,
        "script.approve",
        "script",
        script.id,
        before={"version": v.number, "status": "submitted", "approved_version": previous},
        after={"version": v.number, "status": "approved", "approved_version": v.number},
        note=v.review_reason,
    )
    return _reloaded(session, slug)


def reject(
    session: Session, actor: Actor, slug: str, reason: str, version: int | None = None
) -> ScriptInfo:
    """Reject a submitted version, with a reason the author will read."""
    reason = nfc((reason or "").strip())
    if not reason:
        raise InvalidInput("Từ chối cần nêu lý do.", field="reason")
    script = _get(session, slug)
    _require_reviewer(actor, script, Words("từ chối tin bài"))
    v = _pick_version(script, version, VersionStatus.SUBMITTED, Words("từ chối"))
    v.status = VersionStatus.REJECTED
    v.reviewed_by_id = actor.user_id
    v.reviewed_at = utcnow()
    v.review_reason = reason
    record(
        session,
        actor,
        "script.reject",
        "script",
        script.id,
        before={"version": v.number, "status": "submitted"},
        after={"version": v.number, "status": "rejected"},
        note=reason,
    )
    return _reloaded(session, slug)


def archive(session: Session, actor: Actor, slug: str, reason: str = "") -> ScriptInfo:
    """Archive a script: it stops airing; its versions and history stay."""
    script = _get(session, slug)
    if not actor.is_system:
        if actor.role not in (Role.APPROVER, Role.ADMIN):
            raise PermissionDenied("Chỉ người duyệt hoặc quản trị được lưu trữ tin bài.")
        if not actor.covers(script.unit.path if script.unit else None):
            raise PermissionDenied(
                "Tin bài '{slug}' nằm ngoài phạm vi của '{actor}'.", slug=slug, actor=actor.label
            )
    if script.archived_at is not None:
        raise Conflict("Tin bài '{slug}' đã lưu trữ từ trước.", slug=slug)
    before = script_state(script)
    script.archived_at = utcnow()
    record(
        session,
        actor,
        "script.archive",
        "script",
        script.id,
        before={"state": before},
        after={"state": ARCHIVED},
        note=nfc(reason.strip()) or None,
    )
    session.flush()
    return _info(script)


def get_script(session: Session, slug: str) -> ScriptInfo:
    return _info(_get(session, slug))


def list_scripts(session: Session, state: str | None = None) -> list[ScriptInfo]:
    valid = {s.value for s in VersionStatus} | {ARCHIVED}
    if state and state not in valid:
        raise InvalidInput(
            "Trạng thái '{state}' không hợp lệ; chọn một trong: {valid}.",
            field="state",
            state=state,
            valid=", ".join(sorted(valid)),
        )
    scripts = session.scalars(select(Script).options(*_load_options()).order_by(Script.slug))
    infos = [_info(s) for s in scripts]
    return [i for i in infos if state is None or i.state == state]
