"""The station operator's page (lịch phát của đài): this week and next, day by day, everything
the station airs — relays (tiếp âm), recordings, synthesised items, emergencies — with its
times, length, kind, state and audio; confirming by hand what aired (a relay's minutes are
the seconds relayed); the week's schedule to print.

- ``GET /operator/`` (also the old address ``GET /airings/confirm``) — operators and admins.
  ``?station=<code>`` picks the station (the page's picker lists the stations of the scope
  by name); an operator of one station needs none. ``?week=previous`` starts a week earlier,
  to confirm last week's slots late. A slot gets a confirm form only once it is due
  (planned start <= now); a later one says "chưa đến giờ".
- ``POST /operator/confirm`` (also ``POST /airings/confirm``) — what aired in one slot,
  through :func:`services.airings.confirm`. Each form carries a report UUID, so a form sent
  twice is one row. A slot not yet due, a bad time or number is 400 with the message beside
  the slot, in the reader's language.
- ``GET /operator/week.pdf?station=<code>&week=this|next|previous`` — the printable weekly
  broadcast schedule (lịch phát sóng tuần), built by :mod:`broadcaster.reports.week_pdf`.
- ``GET /operator/<code>/audio/<sha256>.mp3`` — a slot's audio for the page's player, when a
  slot of that station (in the user's scope) holds it.
"""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta

from flask import Blueprint, abort, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from broadcaster.clock import local_today
from broadcaster.db import utcnow
from broadcaster.errors import BroadcasterError, NotFound, PermissionDenied
from broadcaster.models import AdminUnit, Role, Slot, Station
from broadcaster.services import airing_log, airings, playlist, slots
from broadcaster.webapp import airings_forms as forms
from broadcaster.webapp.airings import SOURCE_LABELS, STATUS_LABELS
from broadcaster.webapp.auth import signed_in
from broadcaster.webapp.common import (
    WEEKDAY_NAMES,
    FormErrors,
    actor,
    db,
    done,
    error_text,
    field,
    form_id,
    refused,
    settings,
    station_in_scope,
)
from broadcaster.webapp.pickers import StationPick, pick_station

bp = Blueprint("operator", __name__)

CONFIRMERS = (Role.OPERATOR, Role.ADMIN)
WEEKS = {"previous": -1, "this": 0, "next": 1}
SHOWN_DAYS = 14
AUDIO_SHA = re.compile(r"[0-9a-f]{64}")
STATE_LABELS = {
    "waiting": _l("chờ phát"),
    "due": _l("đến giờ, chưa báo"),
    "aired": _l("đã phát"),
    "partial": _l("phát dở"),
    "failed": _l("phát lỗi"),
    "skipped": _l("bỏ qua"),
    "missed": _l("lỡ"),
    "cancelled": _l("đã hủy"),
    "unplaced": _l("chưa xếp giờ"),
}
# What an item of a station's day airs (services.slots.ItemKind): a short label, shown
# beside its CSS class kind-<kind> (stationday.css), so that a print tells them apart too
KIND_LABELS = {
    "relay": _l("tiếp âm"),
    "recording": _l("ghi âm"),
    "speech": _l("tin đọc máy"),
    "emergency": _l("khẩn cấp"),
}
WEEK_NAMES = {"previous": _l("Tuần trước"), "this": _l("Tuần này"), "next": _l("Tuần sau")}
PRINT_NAMES = {
    "previous": _l("In lịch tuần trước (PDF)"),
    "this": _l("In lịch tuần (PDF)"),
    "next": _l("In lịch tuần sau (PDF)"),
}
# The service's name of a confirmation's field -> the form field the message goes beside
_FORM_FIELD = {
    "started_at": "at",
    "ended_at": "minutes",
    "relayed_s": "minutes",
    "note": "note",
    "status": "status",
}


def _found(pick: StationPick) -> tuple[Station, AdminUnit] | None:
    """The station chosen in the picker, else the user's only one."""
    chosen = pick.chosen
    if chosen is None and pick.error is None and pick.choices and len(pick.choices) == 1:
        chosen = pick.choices[0]
    return station_in_scope(chosen.code) if chosen is not None else None


def _station_posted() -> tuple[Station, AdminUnit]:
    errors: dict[str, str] = {}
    code = field(request.form, "station", max_length=64, errors=errors)
    if errors or not code:
        abort(404)
    return station_in_scope(code)


def _week_offset(values) -> int:
    # the page shows two weeks from this one, or from the one before ("previous")
    return -1 if values.get("week") == "previous" else 0


def _page(pick: StationPick, found, *, errors=None, posted=None):
    """The operator's page for ``found`` (station, unit), or the station picker alone."""
    tz = settings().tz
    now = utcnow()
    today = local_today(tz)
    offset = _week_offset(request.values)
    first = airing_log.monday_of(today) + timedelta(weeks=offset)
    weeks = []
    if found is not None:
        items = slots.station_schedule(
            db(), found[0].id, tz=tz, first_day=first, now=now, days=SHOWN_DAYS
        )
        by_day: dict = {}
        for s in items:
            by_day.setdefault(s.local_day, []).append(s)
        for n in range(SHOWN_DAYS // 7):
            monday = first + timedelta(weeks=n)
            key = next(k for k, v in WEEKS.items() if v == offset + n)
            days = [
                (monday + timedelta(days=d), by_day.get(monday + timedelta(days=d), []))
                for d in range(7)
            ]
            weeks.append((key, monday, days))
    station, place = found if found is not None else (None, None)
    return render_template(
        "operator/week.html",
        station=station,
        place=place,
        province=place.parent.name if place is not None and place.parent else None,
        pick=pick,
        picker_shown=pick.choices is None or len(pick.choices) != 1,
        weeks=weeks,
        today=today,
        tz=tz,
        week=next(k for k, v in WEEKS.items() if v == offset),
        week_names=WEEK_NAMES,
        print_names=PRINT_NAMES,
        weekdays=WEEKDAY_NAMES,
        states=STATE_LABELS,
        kinds=KIND_LABELS,
        reports=STATUS_LABELS,
        sources=SOURCE_LABELS,
        errors=errors or {},
        posted=posted or {},
        new_report_id=lambda: str(uuid.uuid4()),
    ), (400 if errors or pick.error else 200)


@bp.get("/operator/")
@bp.get("/airings/confirm")
@signed_in(*CONFIRMERS)
def week():
    pick = pick_station(request.args)
    return _page(pick, _found(pick))


@bp.post("/operator/confirm")
@bp.post("/airings/confirm")
@signed_in(*CONFIRMERS)
def confirm():
    found = _station_posted()
    station = found[0]
    slot_id = form_id(request.form.get("slot"))
    slot = db().get(Slot, slot_id) if slot_id is not None else None
    if slot is None or slot.station_id != station.id:
        abort(404)
    posted = {
        "slot": slot.id,
        **{k: request.form.get(k, "")[:300] for k in ("at", "minutes", "note")},
    }
    tz = settings().tz
    # a slot without a planned time (unplaced) is the service's to refuse: it needs a time
    if slot.planned_start is not None and not airing_log.is_due(slot.planned_start, utcnow()):
        when = slot.planned_start.astimezone(tz).strftime("%H:%M %d/%m/%Y")
        message = _(
            "Lượt phát này chưa đến giờ (dự kiến %(time)s): chỉ xác nhận được khi đã đến giờ phát.",
            time=when,
        )
        return _page(_posted_pick(found), found, errors={"slot": message}, posted=posted)
    try:
        c = forms.confirmation(request.form, slot.planned_start, tz, station)
        relay = {}
        if slot.relay_source_id is not None and c.ended_at is not None:
            # a relay's minutes are the seconds relayed (aired or partial alike)
            start = c.started_at or slot.planned_start
            relay["relayed_s"] = int((c.ended_at - start).total_seconds())
        result = airings.confirm(
            db(),
            actor(),
            station.code,
            slot.id,
            status=c.status,
            started_at=c.started_at,
            ended_at=c.ended_at,
            note=c.note,
            report_id=c.report_id,
            tz=tz,
            **relay,
        )
    except FormErrors as exc:
        db().rollback()
        return _page(_posted_pick(found), found, errors=exc.errors, posted=posted)
    except (PermissionDenied, NotFound) as exc:
        db().rollback()
        refused(exc)
        raise
    except BroadcasterError as exc:
        db().rollback()
        errors = {_FORM_FIELD.get(exc.field, "slot"): error_text(exc)}
        return _page(_posted_pick(found), found, errors=errors, posted=posted)
    db().commit()
    if result.result == "duplicate":
        done(
            _("Lượt %(slot)s đã có trong nhật ký (dòng số %(seq)s).", slot=slot.id, seq=result.seq)
        )
    else:
        done(
            _(
                "Đã ghi nhật ký: lượt %(slot)s, %(status)s (dòng số %(seq)s).",
                slot=slot.id,
                status=STATUS_LABELS[str(c.status)],
                seq=result.seq,
            )
        )
    week = request.form.get("week")
    return redirect(
        url_for(
            "operator.week",
            station=station.code,
            week=week if week in WEEKS and week != "this" else None,
            _anchor=f"slot-{slot.id}",
        )
    )


def _posted_pick(found) -> StationPick:
    """The picker as it stands after a confirmation: the posted station chosen."""
    return pick_station({"station": found[0].code})


@bp.get("/operator/week.pdf")
@signed_in(*CONFIRMERS)
def week_schedule():
    errors: dict[str, str] = {}
    code = field(request.args, "station", max_length=64, errors=errors)
    if errors or not code:
        abort(400, description=_("Chọn đài cần in lịch phát sóng tuần."))
    found = station_in_scope(code)
    raw = request.args.get("week", "this")
    if raw not in WEEKS:
        abort(400, description=_("Chọn tuần này, tuần sau hoặc tuần trước."))
    station, place = found
    tz = settings().tz
    now = utcnow()
    monday = airing_log.monday_of(local_today(tz)) + timedelta(weeks=WEEKS[raw])
    planned = slots.station_schedule(db(), station.id, tz=tz, first_day=monday, now=now, days=7)
    from broadcaster.reports import week_pdf  # fpdf loads when a schedule is printed, not at start

    items = [
        week_pdf.ScheduledItem(
            at=s.start.replace(tzinfo=None),
            title=s.title,
            campaign=s.campaign,
            kind=str(s.kind),
            duration_ms=s.duration_ms,
        )
        for s in planned
        if s.state != "cancelled"
    ]
    schedule = week_pdf.WeekSchedule(
        station_name=station.name,
        station_code=station.code,
        commune=place.name,
        province=place.parent.name if place.parent else None,
        monday=monday,
        items=items,
        printed_at=now.astimezone(tz).replace(tzinfo=None),
    )
    db().rollback()  # read only
    response = send_file(
        io.BytesIO(week_pdf.build(schedule)),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"lich-phat-song-{station.code}-{monday:%Y-%m-%d}.pdf",
    )
    response.headers["Cache-Control"] = "private, no-store"  # the plan changes
    return response


@bp.get("/operator/<code>/audio/<sha>.mp3")
@signed_in(*CONFIRMERS)
def audio(code: str, sha: str):
    """The audio of a slot of this station, as the station itself downloads it."""
    if not AUDIO_SHA.fullmatch(sha):
        abort(404)
    station, _unit = station_in_scope(code)
    path = playlist.audio_path_for(db(), station.id, sha, settings().audio_dir)
    db().rollback()  # read only
    if path is None or not path.is_file():
        abort(404, description=_("Âm thanh của lượt phát này chưa có trên máy chủ."))
    return send_file(
        path,
        mimetype="audio/mpeg",
        conditional=True,
        max_age=3600,
        download_name=f"{station.code}-{sha[:12]}.mp3",
    )
