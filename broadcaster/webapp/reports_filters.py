"""The compliance report's filters: which unit, which period, which campaign, checked.

People choose, they do not type codes: the unit with the unit tree picker (its code is
what the form sends; a name typed without JavaScript is resolved too), the period by
its kind and then a year and a month, quarter or half from lists, or two days of a
calendar for a range. The URLs the pages make keep the compact form (``of=2026-11``,
``of=2026-Q4``), and old links with ``of`` keep working; ``of`` wins over the lists.

Every bad field is an error beside it (400); a unit outside the scope is 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user

from broadcaster.days import DayError, read_day
from broadcaster.errors import BroadcasterError
from broadcaster.models import AdminUnit
from broadcaster.reports.periods import KINDS, Period, custom, resolve
from broadcaster.services.campaign_reads import campaign_choices, campaign_visible
from broadcaster.webapp.common import FormErrors, day_message, error_text, is_digits
from broadcaster.webapp.common import db as _db
from broadcaster.webapp.common import settings as _settings
from broadcaster.webapp.pickers import unit_from
from broadcaster.webapp.reports_labels import KIND_LABELS

FIELDS = ("unit", "kind", "of", "year", "month", "quarter", "half", "from", "to")
FIELDS += ("campaign", "cutoff")
YEARS_BACK = 5  # the year list: these many years before this one, and the next


@dataclass(frozen=True)
class Query:
    """What the filter form asked for, checked."""

    unit_code: str | None
    unit: AdminUnit | None
    period: Period
    campaign_id: int | None

    def args(self) -> dict[str, str]:
        out = period_args(self.period.as_dict())
        if self.unit_code:
            out["unit"] = self.unit_code
        if self.campaign_id:
            out["campaign"] = str(self.campaign_id)
        return out


def period_args(period: dict) -> dict[str, str]:
    """The filter arguments naming a report's period (``Period.as_dict()`` form)."""
    out = {"kind": period["kind"], "cutoff": str(period["cutoff_day"])}
    if period["kind"] == "custom":
        out["from"], out["to"] = period["from"], period["to"]
    else:
        out["of"] = period["key"]
    return out


def current_key(kind: str, today: date, cutoff: int) -> str:
    """The period of ``kind`` that holds ``today`` (the one being counted now)."""
    month, year = today.month, today.year
    if cutoff > 1 and today.day >= cutoff:  # past the cut-off: already next month's period
        month, year = (1, year + 1) if month == 12 else (month + 1, year)
    if kind == "month":
        return f"{year}-{month:02d}"
    if kind == "quarter":
        return f"{year}-Q{(month - 1) // 3 + 1}"
    if kind == "half":
        return f"{year}-H{1 if month <= 6 else 2}"
    return str(year)


def _chosen_key(kind: str, args) -> str | None:
    """The period named by the lists (year, and month/quarter/half); None when no year."""
    year = (args.get("year") or "").strip()
    if not year:
        return None
    part = {"month": "month", "quarter": "quarter", "half": "half"}.get(kind)
    value = (args.get(part) or "").strip() if part else ""
    if kind == "month":
        return f"{year}-{value or '1'}"
    if kind == "quarter":
        return f"{year}-Q{value or '1'}"
    if kind == "half":
        return f"{year}-H{value or '1'}"
    return year


def _has_control(args) -> str | None:
    """The first field holding a control character (a NUL the database would choke on)."""
    for key in FIELDS:
        value = args.get(key) or ""
        if len(value) > 64 or any(ord(ch) < 32 for ch in value):
            return key
    return None


def parse_query(args) -> Query:
    """The filters from ``args``; raises FormErrors naming each bad field."""
    bad = _has_control(args)
    if bad is not None:
        raise FormErrors({bad: _("Giá trị không hợp lệ (quá dài hoặc có ký tự điều khiển).")})
    errors: dict[str, str] = {}
    settings = _settings()
    db = _db()
    actor = current_user.actor
    unit = unit_from(args.get("unit") or "", errors)
    unit_code = unit.code if unit is not None else None
    if unit is None and "unit" not in errors:
        unit_code = current_user.scope_code
        unit = unit_from(unit_code or "", errors)
        if unit is None and not actor.covers(None):
            abort(403)
    cutoff = settings.report_cutoff_day
    raw_cutoff = (args.get("cutoff") or "").strip()
    if raw_cutoff:
        if not is_digits(raw_cutoff) or not 1 <= int(raw_cutoff) <= 28:
            errors["cutoff"] = _("Ngày chốt số liệu là một số từ 1 đến 28.")
        else:
            cutoff = int(raw_cutoff)
    kind = args.get("kind") or "month"
    period = None
    if kind not in (*KINDS, "custom"):
        errors["kind"] = _("Chọn tháng, quý, 6 tháng, năm hoặc khoảng tùy chọn.")
    elif kind == "custom":
        try:
            first = day_field(args.get("from"), "from")
            last = day_field(args.get("to"), "to")
            period = custom(first, last, cutoff)
        except FormErrors as exc:
            errors.update(exc.errors)
        except BroadcasterError as exc:
            errors["to"] = error_text(exc)
    else:
        typed_of = (args.get("of") or "").strip()
        of = typed_of or _chosen_key(kind, args) or current_key(kind, settings.today(), cutoff)
        try:
            period = resolve(kind, of, cutoff)
        except BroadcasterError as exc:
            errors["of" if typed_of else "year"] = error_text(exc)
    campaign_id = None
    raw_campaign = (args.get("campaign") or "").strip()
    if raw_campaign:
        known = is_digits(raw_campaign) and int(raw_campaign) < 2**31
        if not known or not campaign_visible(db, int(raw_campaign), actor.scope_path):
            errors["campaign"] = _("Không có chiến dịch nào số '%(number)s'.", number=raw_campaign)
        else:
            campaign_id = int(raw_campaign)
    if errors:
        raise FormErrors(errors)
    return Query(unit_code or None, unit, period, campaign_id)


def day_field(value: str | None, field: str) -> date:
    """The day typed in the ``from`` or ``to`` field."""
    if not value:
        raise FormErrors({field: _("Nhập từ ngày.") if field == "from" else _("Nhập đến ngày.")})
    try:
        return read_day(value, vietnamese=False)
    except DayError as error:
        if error.reason == "range":
            raise FormErrors({field: day_message(error)}) from None
        if field == "from":
            message = _("Từ ngày '%(value)s' không hợp lệ: dùng YYYY-MM-DD.", value=value)
        else:
            message = _("Đến ngày '%(value)s' không hợp lệ: dùng YYYY-MM-DD.", value=value)
        raise FormErrors({field: message}) from None


def _period_values(args, query: Query | None) -> dict[str, str]:
    """What the period lists show: the report's period when there is one, else what was
    asked (the current period by default)."""
    kind = args.get("kind") or "month"
    key = query.period.key if query is not None else (args.get("of") or "").strip()
    if not key and kind in KINDS:
        key = _chosen_key(kind, args) or current_key(
            kind, _settings().today(), _settings().report_cutoff_day
        )
    year, _sep, part = key.partition("-")
    values = {"year": year if year.isdigit() else (args.get("year") or "")}
    values["month"] = part.lstrip("0") if kind == "month" and part.isdigit() else ""
    values["quarter"] = part[1:] if kind == "quarter" and part[:1] == "Q" else ""
    values["half"] = part[1:] if kind == "half" and part[:1] == "H" else ""
    return values


def form_context(args, errors: dict[str, str], query: Query | None = None) -> dict:
    """What the filter form needs: the values to show again, the errors, the lists."""
    values = {k: (args.get(k) or "")[:64] for k in FIELDS}
    values.update(_period_values(args, query))
    if query is not None and query.unit_code:
        values["unit"] = query.unit_code
    this_year = _settings().today().year
    years = list(range(this_year + 1, this_year - YEARS_BACK - 1, -1))
    if values["year"].isdigit() and int(values["year"]) not in years:
        years.append(int(values["year"]))  # an old link's year stays choosable
    return {
        "values": values,
        "errors": errors,
        "kinds": [(k, str(KIND_LABELS[k])) for k in (*KINDS, "custom")],
        "years": years,
        "campaign_choices": campaign_choices(_db(), current_user.actor.scope_path),
        "default_cutoff": _settings().report_cutoff_day,
    }
