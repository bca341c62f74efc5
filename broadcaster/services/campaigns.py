"""Campaigns (chiến dịch tuyên truyền) and station quiet days (ngày nghỉ phát).

A campaign airs approved scripts, in rotation, at every active station below
its target units, between two dates, at a cadence: N times a week on allowed
days in a preferred window, or a fixed weekly pattern (see
:mod:`broadcaster.services.cadence`). Everything is checked before anything is
written; the planner (:mod:`broadcaster.planning`) turns a stored campaign into
slots and is called by the shells, not from here.

Only approvers and admins (or the system, a CLI without ``--user``) manage
campaigns and quiet days, and only for units inside their scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, time
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, contains_eager, selectinload

from broadcaster.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Words
from broadcaster.models import (
    AdminUnit,
    Campaign,
    CampaignKind,
    CampaignScript,
    CampaignStatus,
    CampaignTarget,
    Priority,
    RelaySource,
    Role,
    Script,
    Station,
)
from broadcaster.services import campaign_relay as relay
from broadcaster.services.audit import Actor, record
from broadcaster.services.cadence import (
    Cadence,
    check_against_stations,
    check_dates,
    parse_cadence,
    parse_date,
    parse_name,
    parse_priority,
)
from broadcaster.services.scripts import load_script
from broadcaster.services.units import get_unit
from broadcaster.vntext import fold, nfc

MANAGERS = (Role.APPROVER, Role.ADMIN)
STATUS_LABELS = {
    CampaignStatus.ACTIVE: Words("đang chạy"),
    CampaignStatus.PAUSED: Words("đang tạm dừng"),
    CampaignStatus.ENDED: Words("đã kết thúc"),
}
_LOAD = (
    selectinload(Campaign.scripts).selectinload(CampaignScript.script),
    selectinload(Campaign.targets).selectinload(CampaignTarget.unit),
    selectinload(Campaign.relay_source).selectinload(RelaySource.unit),
)
_CREATE, _EDIT = Words("tạo chiến dịch"), Words("sửa chiến dịch")
_STATUS_ALIASES = {"dang chay": "active", "tam dung": "paused", "ket thuc": "ended"}


@dataclass(frozen=True)
class CampaignSpec:
    """A new campaign as typed (strings are parsed here, so every shell shares the rules).

    Cadence: ``times_per_week`` (with optional ``weekdays``, default T2–T7, and
    ``preferred`` window morning|evening|any) or ``pattern``, never both.
    ``starts_on`` defaults to today.

    A relay (``kind`` "relay", tiếp âm) has no scripts and no cadence: its
    ``relay_source`` (the source's name), ``relay_start`` (HH:MM local) and
    ``relay_minutes``, on ``weekdays`` (every day by default); see
    :mod:`broadcaster.services.campaign_relay`.
    """

    name: str
    scripts: Sequence[str]
    targets: Sequence[str]
    ends_on: str | date
    starts_on: str | date | None = None
    priority: str | Priority = Priority.NORMAL
    times_per_week: int | str | None = None
    weekdays: str | Sequence[int] | None = None
    preferred: str | None = None
    pattern: str | Sequence[Sequence[Any]] | None = None
    kind: str | CampaignKind | None = None
    relay_source: str | None = None
    relay_start: str | time | None = None
    relay_minutes: int | str | None = None


@dataclass(frozen=True)
class CampaignChanges:
    """What to change in a campaign; None leaves a field as it is.

    ``scripts`` and ``targets`` replace the whole list. Giving ``pattern``
    switches to a fixed pattern, giving ``times_per_week`` to N a week. A campaign's
    kind never changes; the relay fields apply to a relay only.
    """

    name: str | None = None
    scripts: Sequence[str] | None = None
    targets: Sequence[str] | None = None
    starts_on: str | date | None = None
    ends_on: str | date | None = None
    priority: str | Priority | None = None
    times_per_week: int | str | None = None
    weekdays: str | Sequence[int] | None = None
    preferred: str | None = None
    pattern: str | Sequence[Sequence[Any]] | None = None
    relay_source: str | None = None
    relay_start: str | time | None = None
    relay_minutes: int | str | None = None


@dataclass(frozen=True)
class TargetInfo:
    code: str
    name: str


@dataclass(frozen=True)
class CampaignInfo:
    id: int
    name: str
    status: CampaignStatus
    priority: Priority
    cadence: str  # in Vietnamese, e.g. "3 lần/tuần (T2–T7, buổi sáng)" or "T2 06:00, T4 17:30"
    times_per_week: int | None
    weekdays: tuple[int, ...]  # 0 = Monday (thứ 2) … 6 = Sunday (Chủ nhật)
    preferred: str  # morning | evening | any
    pattern: tuple[tuple[int, str], ...]  # ((weekday, "HH:MM"), …), sorted
    scripts: tuple[str, ...]  # slugs, in rotation order
    targets: tuple[TargetInfo, ...]
    starts_on: date
    ends_on: date
    station_count: int  # active stations below the targets
    kind: str = CampaignKind.ANNOUNCEMENT.value  # announcement | relay
    relay_source: str | None = None  # the source's name
    relay_source_id: int | None = None
    relay_start: str | None = None  # "HH:MM", local
    relay_minutes: int | None = None


# --- permissions and look-ups ---------------------------------------------------------


def require_manager(actor: Actor, units: Sequence[AdminUnit | None], what: str) -> None:
    """``what`` is the action refused, as :class:`Words` ("sửa chiến dịch")."""
    if actor.is_system:
        return
    if actor.role not in MANAGERS:
        raise PermissionDenied(
            "Vai trò '{role}' không được {what}; cần người duyệt (approver) hoặc quản trị.",
            role=actor.role,
            what=what,
        )
    for unit in units:
        if not actor.covers(unit.path if unit else None):
            if unit is None:
                raise PermissionDenied(
                    "Toàn quốc nằm ngoài phạm vi của '{user}'; không được {what}.",
                    user=actor.label,
                    what=what,
                )
            raise PermissionDenied(
                "Đơn vị '{unit}' nằm ngoài phạm vi của '{user}'; không được {what}.",
                unit=unit.name,
                user=actor.label,
                what=what,
            )


def _get(session: Session, campaign_id: int) -> Campaign:
    campaign = session.scalar(select(Campaign).options(*_LOAD).where(Campaign.id == campaign_id))
    if campaign is None:
        raise NotFound("Không có chiến dịch số {id}.", id=campaign_id)
    return campaign


def _scripts(session: Session, slugs: Sequence[str]) -> list[Script]:
    if not slugs:
        raise InvalidInput("Cần ít nhất một tin bài đã duyệt.", field="scripts")
    found: list[Script] = []
    for slug in slugs:
        script = load_script(session, slug)
        if script in found:
            raise InvalidInput(
                "Tin bài '{script}' được nêu hai lần.", field="scripts", script=script.latest.title
            )
        if script.archived_at is not None:
            raise Conflict(
                "Tin bài '{script}' đã lưu trữ; không dùng cho chiến dịch được.",
                field="scripts",
                script=script.latest.title,
            )
        if script.approved_version_id is None:
            raise Conflict(
                "Tin bài '{script}' chưa được duyệt; chỉ tin bài đã duyệt mới được phát.",
                field="scripts",
                script=script.latest.title,
            )
        found.append(script)
    return found


def _targets(session: Session, queries: Sequence[str]) -> list[AdminUnit]:
    if not queries:
        raise InvalidInput("Cần ít nhất một đơn vị nhận tin.", field="targets")
    units: list[AdminUnit] = []
    for query in queries:
        unit = get_unit(session, query)
        if unit in units:
            raise InvalidInput(
                "Đơn vị nhận tin '{unit}' được nêu hai lần.", field="targets", unit=unit.name
            )
        for other in units:
            if other.contains(unit) or unit.contains(other):
                inner, outer = (unit, other) if other.contains(unit) else (other, unit)
                raise InvalidInput(
                    "Đơn vị nhận tin '{inner}' đã nằm trong '{outer}'; bỏ bớt một.",
                    field="targets",
                    inner=inner.name,
                    outer=outer.name,
                )
        units.append(unit)
    return units


def _below(paths: Sequence[str]):
    """Active stations in any of these subtrees (a filter on Station joined to its unit)."""
    return Station.active.is_(True), or_(*(AdminUnit.path.startswith(p) for p in paths))


def _active_stations(session: Session, paths: Sequence[str]) -> list[Station]:
    stmt = select(Station).join(Station.unit).where(*_below(paths)).order_by(Station.code)
    options = contains_eager(Station.unit), selectinload(Station.windows)
    return list(session.scalars(stmt.options(*options)))


def _stations_for(session: Session, units: Sequence[AdminUnit]) -> list[Station]:
    """Active stations below the targets; a target without any is an error."""
    stations = _active_stations(session, [u.path for u in units])
    for unit in units:
        if not any(s.unit.path.startswith(unit.path) for s in stations):
            raise InvalidInput(
                "Đơn vị nhận tin '{unit}' không có đài truyền thanh nào đang hoạt động.",
                field="targets",
                unit=unit.name,
            )
    return stations


def _cadence_of(c: Campaign) -> Cadence:
    return Cadence(
        c.times_per_week,
        tuple(c.weekdays or ()),
        c.preferred,
        tuple((int(d), str(t)) for d, t in c.pattern or ()),
    )


def _set_cadence(c: Campaign, cadence: Cadence) -> None:
    c.times_per_week = cadence.times_per_week
    c.weekdays = list(cadence.weekdays)
    c.preferred = cadence.preferred
    c.pattern = [[d, t] for d, t in cadence.pattern]


def _set_scripts(c: Campaign, scripts: Sequence[Script]) -> None:
    # Keep rows that stay (the unique key forbids delete-then-insert of the same script).
    current = {cs.script_id: cs for cs in c.scripts}
    rows = []
    for position, script in enumerate(scripts):
        row = current.get(script.id) or CampaignScript(script=script, script_id=script.id)
        row.position = position
        rows.append(row)
    c.scripts = rows


def _set_targets(c: Campaign, units: Sequence[AdminUnit]) -> None:
    current = {t.unit_id: t for t in c.targets}
    c.targets = [current.get(u.id) or CampaignTarget(unit=u, unit_id=u.id) for u in units]


def _snapshot(c: Campaign) -> dict[str, Any]:
    return {
        "name": c.name,
        "status": c.status.value,
        "priority": c.priority.value,
        "times_per_week": c.times_per_week,
        "weekdays": list(c.weekdays or []),
        "preferred": c.preferred,
        "pattern": [list(e) for e in c.pattern or []],
        "starts_on": c.starts_on.isoformat(),
        "ends_on": c.ends_on.isoformat(),
        "scripts": [cs.script.slug for cs in c.scripts],
        "targets": [t.unit.code for t in c.targets],
        **(_relay_snapshot(c) if c.kind is CampaignKind.RELAY else {}),
    }


def _relay_snapshot(c: Campaign) -> dict[str, Any]:
    return {
        "kind": c.kind.value,
        "relay_source": c.relay_source.name if c.relay_source else None,
        "relay_start": f"{c.relay_start:%H:%M}",
        "relay_minutes": c.relay_minutes,
    }


def describe_cadence(c: Campaign) -> str:
    """The cadence in Vietnamese; a relay's source, time and length."""
    if c.kind is CampaignKind.RELAY and c.relay_start is not None:
        name = c.relay_source.name if c.relay_source else "?"
        return relay.describe(name, c.relay_start, c.relay_minutes or 0, c.weekdays or ())
    return _cadence_of(c).describe()


def _info(session: Session, c: Campaign) -> CampaignInfo:
    paths = [t.unit.path for t in c.targets]
    count = session.scalar(select(func.count(Station.id)).join(Station.unit).where(*_below(paths)))
    cadence = _cadence_of(c)
    is_relay = c.kind is CampaignKind.RELAY
    return CampaignInfo(
        id=c.id,
        name=c.name,
        status=c.status,
        priority=c.priority,
        cadence=describe_cadence(c),
        times_per_week=cadence.times_per_week,
        weekdays=cadence.weekdays,
        preferred=cadence.preferred,
        pattern=cadence.pattern,
        scripts=tuple(cs.script.slug for cs in c.scripts),
        targets=tuple(TargetInfo(t.unit.code, t.unit.name) for t in c.targets),
        starts_on=c.starts_on,
        ends_on=c.ends_on,
        station_count=count or 0,
        kind=c.kind.value,
        relay_source=c.relay_source.name if is_relay and c.relay_source else None,
        relay_source_id=c.relay_source_id if is_relay else None,
        relay_start=f"{c.relay_start:%H:%M}" if is_relay and c.relay_start else None,
        relay_minutes=c.relay_minutes if is_relay else None,
    )


# --- campaigns ---------------------------------------------------------------------------


def add_campaign(
    session: Session, actor: Actor, spec: CampaignSpec, *, today: date
) -> CampaignInfo:
    """Check everything, then store the campaign (status active). Does not plan."""
    require_manager(actor, [], _CREATE)
    kind = relay.parse_kind(spec.kind)
    campaign = Campaign(status=CampaignStatus.ACTIVE, created_by_id=actor.user_id, kind=kind)
    _apply(session, actor, campaign, spec, today)
    session.add(campaign)
    session.flush()
    record(session, actor, "campaign.create", "campaign", campaign.id, after=_snapshot(campaign))
    return _info(session, campaign)


def edit_campaign(
    session: Session,
    actor: Actor,
    campaign_id: int,
    changes: CampaignChanges,
    *,
    today: date,
) -> CampaignInfo:
    """Change the fields given; everything is checked again as for a new campaign."""
    c = _get(session, campaign_id)
    require_manager(actor, [t.unit for t in c.targets], _EDIT)
    if c.status is CampaignStatus.ENDED:
        raise Conflict(
            "Chiến dịch '{name}' đã kết thúc; không sửa được. Hãy tạo chiến dịch mới.",
            name=c.name,
        )
    if all(getattr(changes, f.name) is None for f in fields(changes)):
        raise InvalidInput(
            "Không có gì để sửa: nêu ít nhất một điều cần đổi (ví dụ ngày kết thúc, tin bài)."
        )
    before = _snapshot(c)
    _apply(session, actor, c, changes, today)
    session.flush()
    after = _snapshot(c)
    changed = [k for k in after if after[k] != before[k]]
    if changed:
        old, new = ({k: snap[k] for k in changed} for snap in (before, after))
        record(session, actor, "campaign.edit", "campaign", c.id, before=old, after=new)
    return _info(session, c)


def _merged_cadence(c: Campaign, ch: CampaignSpec | CampaignChanges) -> Cadence | None:
    """The cadence after ``ch``, or None when it names no cadence field (an edit)."""
    if c.id is None or ch.pattern is not None:
        return parse_cadence(ch.times_per_week, ch.weekdays, ch.preferred, ch.pattern)
    if ch.times_per_week is None and ch.weekdays is None and ch.preferred is None:
        return None
    was_n = c.times_per_week is not None
    if ch.times_per_week is None and not was_n:
        raise InvalidInput(
            "Chiến dịch đang theo lịch cố định; muốn phát N lần/tuần hãy nêu số lần/tuần.",
            field="times_per_week",
        )
    return parse_cadence(
        ch.times_per_week if ch.times_per_week is not None else c.times_per_week,
        ch.weekdays if ch.weekdays is not None else (c.weekdays if was_n else None),
        ch.preferred if ch.preferred is not None else (c.preferred if was_n else None),
        None,
    )


def _apply(
    session: Session, actor: Actor, c: Campaign, ch: CampaignSpec | CampaignChanges, today: date
) -> None:
    """Check every field ``ch`` gives against the campaign as stored, then set them.

    ``c`` is new (no id: every field is required) or stored (None keeps a field).
    All checks run before the first assignment, so a refused change writes nothing.
    """
    new = c.id is None
    what = _CREATE if new else _EDIT
    is_relay = c.kind is CampaignKind.RELAY
    name = parse_name(ch.name) if ch.name is not None or new else None
    units = _targets(session, ch.targets) if ch.targets is not None or new else None
    if units is not None:
        require_manager(actor, units, what)
    if is_relay:
        relay.refuse_announcement_fields(ch.scripts, ch.times_per_week, ch.preferred, ch.pattern)
    else:
        relay.refuse_relay_fields(ch.relay_source, ch.relay_start, ch.relay_minutes)
    wants_scripts = not is_relay and (ch.scripts is not None or new)
    scripts = _scripts(session, ch.scripts) if wants_scripts else None
    starts_on = (
        parse_date(ch.starts_on, Words("Ngày bắt đầu"), "starts_on") if ch.starts_on else None
    )
    starts_on = starts_on or (today if new else c.starts_on)
    if new and not ch.ends_on:
        raise InvalidInput("Thiếu ngày kết thúc.", field="ends_on")
    ends_on = parse_date(ch.ends_on, Words("Ngày kết thúc"), "ends_on") if ch.ends_on else c.ends_on
    check_dates(starts_on, ends_on, today, ends_changed=new or ends_on != c.ends_on)
    priority = parse_priority(ch.priority) if ch.priority is not None else None
    if is_relay:
        cadence, fixed = None, relay.merged(session, c, ch)
        if units is not None:
            _stations_for(session, units)
        relay.check_source_reaches(fixed.source, units or [t.unit for t in c.targets])
    else:
        cadence, fixed = _merged_cadence(c, ch), None
        if cadence is not None or units is not None:
            stations = _stations_for(session, units or [t.unit for t in c.targets])
            check_against_stations(cadence or _cadence_of(c), stations)

    if name is not None:
        c.name = name
    c.priority = priority or c.priority or Priority.NORMAL
    c.starts_on, c.ends_on = starts_on, ends_on
    if cadence is not None:
        _set_cadence(c, cadence)
    if fixed is not None:
        c.relay_source, c.relay_source_id = fixed.source, fixed.source.id
        c.relay_start, c.relay_minutes = fixed.start, fixed.minutes
        c.weekdays, c.times_per_week, c.preferred, c.pattern = list(fixed.weekdays), None, "any", []
    if scripts is not None:
        _set_scripts(c, scripts)
    if units is not None:
        _set_targets(c, units)


_A, _P, _E = CampaignStatus.ACTIVE, CampaignStatus.PAUSED, CampaignStatus.ENDED
# action: allowed from, to, and in messages: the verb, the action, the states allowed
_TRANSITIONS = {
    "pause": ((_A,), _P, Words("tạm dừng"), Words("tạm dừng chiến dịch"), Words("đang chạy")),
    "resume": ((_P,), _A, Words("tiếp tục"), Words("tiếp tục chiến dịch"), Words("đang tạm dừng")),
    "end": (
        (_A, _P),
        _E,
        Words("kết thúc"),
        Words("kết thúc chiến dịch"),
        Words("đang chạy hoặc đang tạm dừng"),
    ),
}


def _transition(
    session: Session,
    actor: Actor,
    campaign_id: int,
    action: str,
    reason: str,
    today: date | None = None,
) -> CampaignInfo:
    allowed, to, verb, what, wanted = _TRANSITIONS[action]
    c = _get(session, campaign_id)
    require_manager(actor, [t.unit for t in c.targets], what)
    if c.status not in allowed:
        raise Conflict(
            "Chiến dịch '{name}' {status}; chỉ chiến dịch {wanted} mới {verb} được.",
            name=c.name,
            status=STATUS_LABELS[c.status],
            wanted=wanted,
            verb=verb,
        )
    before = {"status": c.status.value, "ends_on": c.ends_on.isoformat()}
    c.status = to
    if to is _E:
        assert today is not None, "ending a campaign needs today's local date"
        c.ends_on = min(c.ends_on, today)
    session.flush()
    audit = {
        "before": before,
        "after": {"status": c.status.value, "ends_on": c.ends_on.isoformat()},
        "note": nfc(reason.strip()) or None,
    }
    record(session, actor, f"campaign.{action}", "campaign", c.id, **audit)
    return _info(session, c)


def pause_campaign(session: Session, actor: Actor, campaign_id: int, reason: str = ""):
    """Active → paused (tạm dừng): nothing new is planned until it is resumed."""
    return _transition(session, actor, campaign_id, "pause", reason)


def resume_campaign(session: Session, actor: Actor, campaign_id: int, reason: str = ""):
    """Paused → active (tiếp tục)."""
    return _transition(session, actor, campaign_id, "resume", reason)


def end_campaign(
    session: Session, actor: Actor, campaign_id: int, reason: str = "", *, today: date
) -> CampaignInfo:
    """Active or paused → ended (kết thúc); ``ends_on`` becomes at most ``today``.

    ``today`` is the local date in the configured zone (``Settings.today()``).
    """
    return _transition(session, actor, campaign_id, "end", reason, today)


def get_campaign(session: Session, campaign_id: int) -> CampaignInfo:
    return _info(session, _get(session, campaign_id))


def list_campaigns(
    session: Session, status: str | CampaignStatus | None = None
) -> list[CampaignInfo]:
    stmt = select(Campaign).options(*_LOAD)
    if status:
        value = _STATUS_ALIASES.get(fold(str(status)), fold(str(status)))
        if value not in {s.value for s in CampaignStatus}:
            raise InvalidInput(
                "Trạng thái '{status}' không hợp lệ; chọn active (đang chạy), "
                "paused (tạm dừng) hoặc ended (kết thúc).",
                field="status",
                status=status,
            )
        stmt = stmt.where(Campaign.status == CampaignStatus(value))
    return [_info(session, c) for c in session.scalars(stmt.order_by(Campaign.id))]
