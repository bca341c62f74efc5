"""The campaign form: what was typed, checked field by field, made into a service call.

Each field is read with :func:`~broadcaster.webapp.common.field` (control characters,
length) and then parsed by the same :mod:`broadcaster.services.cadence` function the
service uses, so an error is shown beside the field that caused it. What only the
service can judge (the cadence against the stations' windows, a script not approved)
comes back as an :class:`InvalidInput` or :class:`Conflict` naming its ``field``;
:func:`field_of` places it in the form (the service's field names are the form's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from broadcaster.errors import BroadcasterError, Words
from broadcaster.services import cadence
from broadcaster.services.campaign_reads import approved_scripts
from broadcaster.services.campaigns import CampaignChanges, CampaignInfo, CampaignSpec
from broadcaster.services.units import get_unit
from broadcaster.webapp.common import actor, db, error_text, field, is_digits

FIELDS = (
    "name",
    "scripts",
    "mode",
    "times_per_week",
    "weekdays",
    "preferred",
    "pattern",
    "starts_on",
    "ends_on",
    "priority",
    "targets",
)
PREFERRED_CHOICES = (
    ("any", _l("Mọi khung giờ")),
    ("morning", _l("Buổi sáng")),
    ("evening", _l("Buổi chiều")),
)
PRIORITY_CHOICES = (("normal", _l("Thông thường")), ("priority", _l("Ưu tiên")))
_START, _END = Words("Ngày bắt đầu"), Words("Ngày kết thúc")
MAX_TARGETS = 50
MAX_SCRIPTS = 20


@dataclass
class CampaignForm:
    """The form's values as typed (re-shown on error) and the errors beside them."""

    values: dict = dc_field(default_factory=dict)
    errors: dict[str, str] = dc_field(default_factory=dict)

    @classmethod
    def blank(cls, today: date) -> CampaignForm:
        return cls(
            {
                "name": "",
                "scripts": [],
                "mode": "times",
                "times_per_week": "3",
                "weekdays": [str(d) for d in cadence.DEFAULT_WEEKDAYS],
                "preferred": "any",
                "pattern": "",
                "starts_on": today.isoformat(),
                "ends_on": "",
                "priority": "normal",
                "targets": "",
            }
        )

    @classmethod
    def of(cls, info: CampaignInfo) -> CampaignForm:
        is_pattern = bool(info.pattern)
        return cls(
            {
                "name": info.name,
                "scripts": list(info.scripts),
                "mode": "pattern" if is_pattern else "times",
                "times_per_week": "" if is_pattern else str(info.times_per_week),
                "weekdays": [str(d) for d in (info.weekdays or cadence.DEFAULT_WEEKDAYS)],
                "preferred": info.preferred or "any",
                "pattern": info.cadence if is_pattern else "",
                "starts_on": info.starts_on.isoformat(),
                "ends_on": info.ends_on.isoformat(),
                "priority": info.priority.value,
                "targets": ", ".join(t.code for t in info.targets),
            }
        )


def field_of(exc: BroadcasterError, mode: str) -> str:
    """The form field a service error is about (the cadence when it names none)."""
    if exc.field in FIELDS:
        return exc.field
    return "pattern" if mode == "pattern" else "times_per_week"


def _text(form, name: str, errors: dict, max_length: int = 300) -> str:
    return field(form, name, max_length=max_length, errors=errors)


def _try(errors: dict, name: str, parse, *args):
    try:
        return parse(*args)
    except BroadcasterError as exc:
        errors.setdefault(name, error_text(exc))
        return None


def _list(form, name: str, errors: dict, max_length: int = 120) -> list[str]:
    values = []
    for raw in form.getlist(name):
        value = _text({name: raw}, name, errors, max_length)
        if value:
            values.append(value)
    return values


def _targets(text: str, errors: dict) -> list[str]:
    """Unit codes (or names) separated by commas: each must exist and lie in the scope."""
    codes = [part.strip() for part in re.split(r"[,;\n]+", text) if part.strip()]
    if not codes:
        errors["targets"] = _("Chọn ít nhất một đơn vị nhận tin.")
        return []
    if len(codes) > MAX_TARGETS:
        errors["targets"] = _("Tối đa %(n)s đơn vị nhận tin.", n=MAX_TARGETS)
        return []
    found = []
    for code in codes:
        try:
            unit = get_unit(db(), code)
        except BroadcasterError:
            errors["targets"] = _("Không tìm thấy đơn vị hành chính '%(code)s'.", code=code)
            return []
        if not actor().covers(unit.path):
            errors["targets"] = _("Đơn vị '%(name)s' nằm ngoài phạm vi của bạn.", name=unit.name)
            return []
        found.append(unit.code)
    return found


def _scripts(slugs: list[str], errors: dict) -> list[str]:
    if not slugs:
        errors["scripts"] = _("Chọn ít nhất một tin bài đã duyệt.")
        return []
    if len(slugs) > MAX_SCRIPTS:
        errors["scripts"] = _("Tối đa %(n)s tin bài cho một chiến dịch.", n=MAX_SCRIPTS)
        return []
    usable = {c.slug for c in approved_scripts(db(), actor().scope_path, slugs=slugs)}
    for slug in slugs:
        if slug not in usable:
            errors["scripts"] = _(
                "Tin bài '%(slug)s' không có, chưa được duyệt hoặc nằm ngoài phạm vi của bạn.",
                slug=slug,
            )
            return []
    return slugs


def read_form(form, today: date, stored: CampaignInfo | None = None) -> tuple[CampaignForm, dict]:
    """The typed values, their errors, and the checked keyword arguments of a
    :class:`CampaignSpec` (``stored`` None) or :class:`CampaignChanges` of ``stored``
    (valid only without errors)."""
    new = stored is None
    errors: dict[str, str] = {}
    values = {
        "name": _text(form, "name", errors),
        "scripts": _list(form, "scripts", errors),
        "mode": "pattern" if form.get("mode") == "pattern" else "times",
        "times_per_week": _text(form, "times_per_week", errors, 10),
        "weekdays": _list(form, "weekdays", errors, 2),
        "preferred": _text(form, "preferred", errors, 20),
        "pattern": _text(form, "pattern", errors, 500),
        "starts_on": _text(form, "starts_on", errors, 20),
        "ends_on": _text(form, "ends_on", errors, 20),
        "priority": _text(form, "priority", errors, 20),
        "targets": _text(form, "targets", errors, 2000),
    }
    if "name" not in errors:
        _try(errors, "name", cadence.parse_name, values["name"])
    scripts = _scripts(values["scripts"], errors) if "scripts" not in errors else []
    targets = _targets(values["targets"], errors) if "targets" not in errors else []
    starts = ends = None
    if "starts_on" not in errors:
        if values["starts_on"]:
            starts = _try(errors, "starts_on", cadence.parse_date, values["starts_on"], _START)
        else:
            starts = today if new else stored.starts_on
    if "ends_on" not in errors:
        if values["ends_on"]:
            ends = _try(errors, "ends_on", cadence.parse_date, values["ends_on"], _END)
        else:
            errors["ends_on"] = _("Nhập ngày kết thúc.")
    if starts and ends and "ends_on" not in errors:
        changed = new or ends != stored.ends_on
        _try(errors, "ends_on", cadence.check_dates, starts, ends, today, changed)
    priority = None
    if "priority" not in errors:
        priority = _try(errors, "priority", cadence.parse_priority, values["priority"] or "normal")
    kwargs: dict = {}
    if values["mode"] == "pattern":
        if "pattern" not in errors:
            kwargs["pattern"] = _try(errors, "pattern", cadence.parse_pattern, values["pattern"])
    else:
        if "times_per_week" not in errors:
            kwargs["times_per_week"] = _try(
                errors, "times_per_week", cadence.parse_times_per_week, values["times_per_week"]
            )
        if "weekdays" not in errors:
            days = [int(d) for d in values["weekdays"] if is_digits(d)]
            if len(days) != len(values["weekdays"]):
                errors["weekdays"] = _("Chọn thứ trong danh sách.")
            else:
                kwargs["weekdays"] = _try(errors, "weekdays", cadence.parse_weekdays, days)
        if "preferred" not in errors:
            kwargs["preferred"] = _try(
                errors, "preferred", cadence.parse_preferred, values["preferred"] or "any"
            )
    kwargs.update(
        name=values["name"],
        scripts=scripts,
        targets=targets,
        starts_on=starts,
        ends_on=ends,
        priority=priority,
    )
    return CampaignForm(values, errors), kwargs


def spec_of(kwargs: dict) -> CampaignSpec:
    return CampaignSpec(**kwargs)


def changes_of(kwargs: dict) -> CampaignChanges:
    return CampaignChanges(**kwargs)
