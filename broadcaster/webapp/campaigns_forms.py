"""The campaign form: what was typed, checked field by field, made into a service call.

Each field is read with :func:`~broadcaster.webapp.common.field` (control characters,
length) and then parsed by the same :mod:`broadcaster.services.cadence` function the
service uses, so an error is shown beside the field that caused it. What only the
service can judge (the cadence against the stations' windows, a script not approved)
comes back as an :class:`InvalidInput` or :class:`Conflict` naming its ``field``;
:func:`field_of` places it in the form (the service's field names are the form's).

A campaign is of one kind, chosen when it is created: announcements (Tin bài:
scripts and a cadence) or a relay (Tiếp âm: a source chosen by name, a start time,
a length in minutes and its days, every day by default). The fields of the other
kind are ignored, as the cadence mode's radio button decides between its two parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from broadcaster.audio.engine_order import check_choice
from broadcaster.errors import BroadcasterError, Words
from broadcaster.services import cadence
from broadcaster.services import campaign_relay as relay
from broadcaster.services.campaign_reads import approved_scripts, relay_choices
from broadcaster.services.campaigns import CampaignChanges, CampaignInfo, CampaignSpec
from broadcaster.services.units import get_unit
from broadcaster.webapp.common import actor, db, error_text, field, is_digits, settings

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
    "kind",
    "relay_source",
    "relay_start",
    "relay_minutes",
    "relay_weekdays",
    "voice",
)
KIND_CHOICES = (("announcement", _l("Tin bài")), ("relay", _l("Tiếp âm")))
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

    @property
    def error_mode(self) -> str:
        """What :func:`field_of` needs: the cadence mode, or "relay"."""
        return "relay" if self.values.get("kind") == "relay" else self.values["mode"]

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
                "kind": "announcement",
                "relay_source": "",
                "relay_start": "",
                "relay_minutes": "30",
                "relay_weekdays": [str(d) for d in relay.EVERY_DAY],
                "voice": "",
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
                "kind": info.kind,
                "relay_source": info.relay_source or "",
                "relay_start": info.relay_start or "",
                "relay_minutes": str(info.relay_minutes or ""),
                "relay_weekdays": [str(d) for d in info.weekdays or relay.EVERY_DAY],
            }
        )


def field_of(exc: BroadcasterError, mode: str) -> str:
    """The form field a service error is about (the cadence when it names none)."""
    if mode == "relay":
        if exc.field == "weekdays":
            return "relay_weekdays"
        return exc.field if exc.field in FIELDS else "relay_start"
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


def _days(values: list[str], name: str, errors: dict):
    days = [int(d) for d in values if is_digits(d)]
    if len(days) != len(values):
        errors[name] = _("Chọn thứ trong danh sách.")
        return None
    return _try(errors, name, cadence.parse_weekdays, days)


def _relay_fields(form, values: dict, errors: dict) -> dict:
    """A relay's source (a name from the list), start, length and days, checked."""
    values.update(
        relay_source=_text(form, "relay_source", errors, 200),
        relay_start=_text(form, "relay_start", errors, 10),
        relay_minutes=_text(form, "relay_minutes", errors, 10),
        relay_weekdays=_list(form, "relay_weekdays", errors, 2),
    )
    kwargs: dict = {}
    if "relay_source" not in errors:
        name = values["relay_source"]
        if not name:
            errors["relay_source"] = _("Chọn nguồn tiếp âm.")
        elif name not in relay_choices(db(), actor().scope_path):
            errors["relay_source"] = _(
                "Không có nguồn tiếp âm '%(name)s' đang bật trong phạm vi của bạn.", name=name
            )
        else:
            kwargs["relay_source"] = name
    start = minutes = None
    if "relay_start" not in errors:
        start = _try(errors, "relay_start", relay.parse_start, values["relay_start"])
    if "relay_minutes" not in errors:
        minutes = _try(errors, "relay_minutes", relay.parse_minutes, values["relay_minutes"])
    if start is not None and minutes is not None:
        _try(errors, "relay_minutes", relay.check_span, start, minutes)
    kwargs.update(relay_start=start, relay_minutes=minutes)
    if "relay_weekdays" not in errors:
        if not values["relay_weekdays"]:
            errors["relay_weekdays"] = _("Chọn ít nhất một ngày tiếp âm.")
        else:
            kwargs["weekdays"] = _days(values["relay_weekdays"], "relay_weekdays", errors)
    return kwargs


def read_form(form, today: date, stored: CampaignInfo | None = None) -> tuple[CampaignForm, dict]:
    """The typed values, their errors, and the checked keyword arguments of a
    :class:`CampaignSpec` (``stored`` None) or :class:`CampaignChanges` of ``stored``
    (valid only without errors)."""
    new = stored is None
    errors: dict[str, str] = {}
    kind = (form.get("kind") if new else stored.kind) or "announcement"
    kind = "relay" if kind == "relay" else "announcement"
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
        "voice": _text(form, "voice", errors, 100),
    }
    values["kind"] = kind
    if "voice" not in errors:  # the view stores it (services.voices) with the campaign
        _try(errors, "voice", check_choice, settings().audio, values["voice"])
    if "name" not in errors:
        _try(errors, "name", cadence.parse_name, values["name"])
    if kind == "relay":
        values["scripts"] = []  # a relay airs no script, whatever the hidden list holds
    scripts = (
        _scripts(values["scripts"], errors) if kind != "relay" and "scripts" not in errors else []
    )
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
    if kind == "relay":
        kwargs.update(_relay_fields(form, values, errors), kind="relay")
    elif values["mode"] == "pattern":
        if "pattern" not in errors:
            kwargs["pattern"] = _try(errors, "pattern", cadence.parse_pattern, values["pattern"])
    else:
        if "times_per_week" not in errors:
            kwargs["times_per_week"] = _try(
                errors, "times_per_week", cadence.parse_times_per_week, values["times_per_week"]
            )
        if "weekdays" not in errors:
            kwargs["weekdays"] = _days(values["weekdays"], "weekdays", errors)
        if "preferred" not in errors:
            kwargs["preferred"] = _try(
                errors, "preferred", cadence.parse_preferred, values["preferred"] or "any"
            )
    kwargs.update(
        name=values["name"],
        scripts=scripts if kind != "relay" else ([] if new else None),
        targets=targets,
        starts_on=starts,
        ends_on=ends,
        priority=priority,
    )
    return CampaignForm(values, errors), kwargs


def spec_of(kwargs: dict) -> CampaignSpec:
    return CampaignSpec(**kwargs)


def changes_of(kwargs: dict) -> CampaignChanges:
    return CampaignChanges(**{k: v for k, v in kwargs.items() if k != "kind"})
