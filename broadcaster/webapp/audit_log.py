"""The admin's audit log page (nhật ký thao tác): every recorded change, newest first.

Admins and auditors only (403 for other roles), read-only. Filters: action prefix
(``script.``), actor (user name), entity type, a station chosen by name (the station
picker, ``?station=<code>``: the events about that station), local date range; keyset
pages (``?before=<id>``). ``?entity_id=`` of older links still narrows to one object.
What a scoped reader sees is the rule of :mod:`broadcaster.services.audit_log`: the
events done by users inside their scope.
"""

from __future__ import annotations

import re

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from broadcaster.models import Role
from broadcaster.services import audit_log
from broadcaster.webapp import audit_labels as labels
from broadcaster.webapp.auth import signed_in
from broadcaster.webapp.common import (
    PAGE_SIZE,
    Page,
    db,
    field,
    form_id,
    optional_day,
    scope_path,
    settings,
)
from broadcaster.webapp.pickers import StationPick, pick_station

bp = Blueprint("audit", __name__, url_prefix="/audit")

FIELDS = ("action", "actor", "entity_type", "entity_id", "from", "to")
_ACTION = re.compile(r"[a-z_.]{1,64}")
_ENTITY_TYPE = re.compile(r"[a-z_]{1,32}")
KNOWN_ENTITY_TYPES = (
    "airing",
    "campaign",
    "compliance_report",
    "emergency",
    "script",
    "station",
    "unit",
    "user",
)


def parse(args) -> tuple[audit_log.EventQuery, dict[str, str], dict[str, str], StationPick]:
    """The filters, the values to show again, the errors beside each field, and the
    station picker."""
    errors: dict[str, str] = {}
    values = {name: field(args, name, max_length=120, errors=errors) for name in FIELDS}
    station = pick_station(args, active_only=False)
    if station.error:
        errors["station"] = station.error
    values["station"] = station.code or ""
    entity_type, entity_ids = values["entity_type"] or None, ()
    if station.chosen is not None:
        # a station's events name it by id (added, windows) or by code (tokens, links)
        entity_type, entity_ids = "station", (str(station.chosen.id), station.chosen.code)
    if values["action"] and not _ACTION.fullmatch(values["action"]):
        errors["action"] = _("Thao tác gồm chữ thường, '.' và '_', ví dụ 'script.' hay 'user.add'.")
    if values["entity_type"] and not _ENTITY_TYPE.fullmatch(values["entity_type"]):
        errors["entity_type"] = _("Loại đối tượng gồm chữ thường và '_', ví dụ 'user'.")
    if len(values["entity_id"]) > 64:
        errors["entity_id"] = _("Quá dài: tối đa %(n)s ký tự.", n=64)
    first = optional_day(values["from"], "from", errors)
    last = optional_day(values["to"], "to", errors)
    if first and last and first > last:
        errors["to"] = _("Đến ngày phải sau từ ngày.")
    query = audit_log.EventQuery(
        scope_path=scope_path(),
        action_prefix=values["action"] or None,
        actor=values["actor"] or None,
        entity_type=entity_type,
        entity_id=values["entity_id"] or None,
        entity_ids=entity_ids,
        day_from=first,
        day_to=last,
        before_id=form_id(args.get("before")),
    )
    return query, values, errors, station


@bp.get("/")
@signed_in(Role.ADMIN, Role.AUDITOR)
def index():
    query, values, errors, station = parse(request.args)
    rows = (
        [] if errors else audit_log.events_page(db(), query, tz=settings().tz, limit=PAGE_SIZE + 1)
    )
    page = Page.of(rows, 1, PAGE_SIZE)
    kept = {k: v for k, v in values.items() if v}
    return render_template(
        "audit/index.html",
        rows=page.rows,
        values=values,
        errors=errors,
        station_pick=station,
        entity_types=KNOWN_ENTITY_TYPES,
        actions=labels.ACTIONS,
        action_label=labels.action_label,
        kind_label=labels.kind_label,
        names=labels.object_names(
            db(), page.rows, link_users=current_user.actor.role == Role.ADMIN
        ),
        pretty=audit_log.EventRow.pretty,
        next_url=url_for("audit.index", before=page.rows[-1].id, **kept) if page.more else None,
        first_url=url_for("audit.index", **kept) if request.args.get("before") else None,
        clear_entity_url=url_for(
            "audit.index", **{k: v for k, v in kept.items() if k != "entity_id"}
        ),
    ), (400 if errors else 200)
