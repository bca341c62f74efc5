"""Reading the airing log pages' filters and forms into checked values.

Each reader collects every bad field into one ``errors`` dict (shown beside the
fields, answered 400); a unit or station outside the signed-in user's scope is 403 at
once. Units and stations are chosen by name (:mod:`broadcaster.webapp.pickers`); the
URLs keep their codes.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from flask_babel import gettext as _

from broadcaster.clock import local_today
from broadcaster.models import AiringStatus, Station
from broadcaster.services.airing_log import LogQuery
from broadcaster.services.airings import SOURCES
from broadcaster.services.campaign_reads import campaign_visible
from broadcaster.webapp.common import (
    FormErrors,
    actor,
    db,
    field,
    form_id,
    optional_day,
    scope_path,
)
from broadcaster.webapp.pickers import StationPick, pick_station, unit_from

LOG_FIELDS = ("unit", "station", "campaign", "from", "to", "status", "source")
_HHMM = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MAX_MINUTES = 360


def log_query(args) -> tuple[LogQuery | None, dict[str, str], dict[str, str], StationPick]:
    """The log filters of ``args``: the query (None when a field is bad), the values to
    show again and keep in links (the station as its code), the errors beside each field,
    and the station picker. A unit or station outside the scope is 403."""
    errors: dict[str, str] = {}
    values = {
        name: field(args, name, max_length=64, errors=errors)
        for name in LOG_FIELDS
        if name != "station"
    }
    unit = unit_from(values["unit"], errors) if "unit" not in errors else None
    if unit is not None:
        values["unit"] = unit.code
    station = pick_station(args, active_only=False)
    if station.error:
        errors["station"] = station.error
    values["station"] = station.code or ""
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
        return None, values, errors, station
    query = LogQuery(
        scope_path=scope_path(),
        unit_path=unit.path if unit else None,
        station_id=station.chosen.id if station.chosen else None,
        campaign_id=campaign_id,
        day_from=first,
        day_to=last,
        status=status,
        source=source,
        before_id=form_id(args.get("before")),
    )
    return query, values, errors, station


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
