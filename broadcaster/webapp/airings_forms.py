"""Reading the airing log pages' filters and forms into checked values.

Each reader collects every bad field into one ``errors`` dict (shown beside the
fields, answered 400); a code outside the signed-in user's scope is 403 at once.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import select

from broadcaster.clock import local_today
from broadcaster.models import AdminUnit, AiringStatus, Station
from broadcaster.services.airing_log import LogQuery
from broadcaster.services.airings import SOURCES
from broadcaster.services.campaign_reads import campaign_visible
from broadcaster.webapp.common import (
    STATION_CODE,
    UNIT_CODE,
    FormErrors,
    actor,
    db,
    field,
    form_id,
    optional_day,
    scope_path,
)

LOG_FIELDS = ("unit", "station", "campaign", "from", "to", "status", "source")
_HHMM = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MAX_MINUTES = 360


def unit_of(code: str, errors: dict[str, str]) -> AdminUnit | None:
    if not code:
        return None
    unit = None
    if UNIT_CODE.fullmatch(code):
        unit = db().scalar(select(AdminUnit).where(AdminUnit.code == code))
    if unit is None:
        errors["unit"] = _("Không có đơn vị hành chính nào mã '%(code)s'.", code=code)
        return None
    if not actor().covers(unit.path):
        abort(403)
    return unit


def station_of(code: str, errors: dict[str, str], name: str = "station") -> Station | None:
    """The station of ``code``: an error of field ``name`` when unknown, 403 outside scope."""
    if not code:
        return None
    row = None
    if STATION_CODE.fullmatch(code):
        row = (
            db()
            .execute(
                select(Station, AdminUnit.path)
                .join(AdminUnit, AdminUnit.id == Station.unit_id)
                .where(Station.code == code)
            )
            .first()
        )
    if row is None:
        errors[name] = _("Không có đài nào mã '%(code)s'.", code=code)
        return None
    if not actor().covers(row[1]):
        abort(403)
    return row[0]


def log_query(args) -> tuple[LogQuery, dict[str, str]]:
    """The log filters of ``args``; raises FormErrors (with the cleaned values) when bad."""
    errors: dict[str, str] = {}
    values = {name: field(args, name, max_length=64, errors=errors) for name in LOG_FIELDS}
    unit = unit_of(values["unit"], errors)
    station = station_of(values["station"], errors)
    campaign_id = None
    if values["campaign"]:
        campaign_id = form_id(values["campaign"])
        if campaign_id is None or not campaign_visible(db(), campaign_id, actor().scope_path):
            errors["campaign"] = _("Không có chiến dịch nào số '%(v)s'.", v=values["campaign"])
            campaign_id = None
    first = optional_day(values["from"], "from", errors)
    last = optional_day(values["to"], "to", errors)
    if first and last and first > last:
        errors["to"] = _("Đến ngày phải sau từ ngày.")
    status = None
    if values["status"]:
        try:
            status = AiringStatus(values["status"])
        except ValueError:
            errors["status"] = _("Chọn một kết quả trong danh sách.")
    source = values["source"] or None
    if source is not None and source not in SOURCES:
        errors["source"] = _("Chọn một nguồn trong danh sách.")
    if errors:
        raise FormErrors(errors)
    query = LogQuery(
        scope_path=scope_path(),
        unit_path=unit.path if unit else None,
        station_id=station.id if station else None,
        campaign_id=campaign_id,
        day_from=first,
        day_to=last,
        status=status,
        source=source,
        before_id=form_id(args.get("before")),
    )
    return query, values


@dataclass(frozen=True)
class Confirmation:
    """One checked "what aired" form of an operator."""

    station: Station
    slot_id: int
    status: AiringStatus
    started_at: datetime | None
    ended_at: datetime | None
    note: str | None
    report_id: str


def confirmation(form, planned_start: datetime | None, tz, station: Station) -> Confirmation:
    """The confirm form's fields; raises FormErrors naming each bad one."""
    errors: dict[str, str] = {}
    slot_id = form_id(form.get("slot"))
    try:
        status = AiringStatus(form.get("status", ""))
    except ValueError:
        status = AiringStatus.AIRED
        errors["status"] = _("Chọn đã phát, phát dở, phát lỗi hoặc bỏ qua.")
    at = field(form, "at", max_length=8, errors=errors)
    minutes_raw = field(form, "minutes", max_length=8, errors=errors)
    note = field(form, "note", max_length=300, errors=errors) or None
    start = None
    if at:
        match = _HHMM.fullmatch(at)
        if match is None:
            errors["at"] = _("Giờ '%(v)s' không hợp lệ: dùng HH:MM (giờ địa phương).", v=at)
        else:
            day = planned_start.astimezone(tz).date() if planned_start else local_today(tz)
            clock = time(int(match.group(1)), int(match.group(2)))
            start = datetime.combine(day, clock, tzinfo=tz)
    end = None
    if minutes_raw:
        try:
            minutes = float(minutes_raw.replace(",", "."))
        except ValueError:
            minutes = -1.0
        if not 0 <= minutes <= MAX_MINUTES:  # also refuses nan
            errors["minutes"] = _("Số phút là một số từ 0 đến %(n)s.", n=MAX_MINUTES)
        elif (start or planned_start) is not None:
            end = (start or planned_start) + timedelta(minutes=minutes)
    report_id = (form.get("report_id") or "").strip()
    if not _UUID.fullmatch(report_id):
        report_id = str(uuid.uuid4())
    if errors:
        raise FormErrors(errors)
    return Confirmation(station, slot_id, status, start, end, note, report_id)
