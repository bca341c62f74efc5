"""Choosing a station or a unit in a filter without typing a code.

The station picker (``web/templates/_stationpicker.html``) lists the stations of the
signed-in user's scope, each by its name and its commune's province. Up to
``SELECT_LIMIT`` stations it is a ``<select>`` whose values are station codes; beyond
that (a nation-wide user) it is a text box named ``<field>_name`` where a person types
a name — the commune's or the station's, diacritics optional, ", <province>" added when
two communes share it — resolved here. A name that matches no station, or several, is
an error shown beside the field (400), listing the candidates.

Both forms answer to both arguments: ``?station=<code>`` (the URLs the pages make,
and every old link) and ``?station_name=<name>``. A code outside the scope is 403, as
everywhere else.

:func:`unit_from` reads a unit filter fed by the unit tree picker (``unitpicker.js``):
codes with JavaScript, a code or a name without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import func, literal, or_, select
from sqlalchemy.orm import aliased

from broadcaster.models import AdminUnit, Station
from broadcaster.vntext import fold
from broadcaster.webapp.common import STATION_CODE, UNIT_CODE, FormErrors, actor, db, typed
from broadcaster.webapp.common import field as form_field

SELECT_LIMIT = 300  # a province's stations fit a list; the country's do not
CANDIDATES_SHOWN = 8
MATCHES_READ = 50
_PREFIXES = ("dai truyen thanh ", "dai ")  # "Đài truyền thanh xã X" is how a station is named
_KINDS = ("xa ", "phuong ", "thi tran ", "dac khu ")


@dataclass(frozen=True)
class StationChoice:
    """A station as the picker shows it."""

    id: int
    code: str
    name: str
    commune: str
    province: str | None
    path: str

    @property
    def label(self) -> str:
        """Its name, with the province when it has one: what a person reads and types."""
        return f"{self.name}, {self.province}" if self.province else self.name


@dataclass
class StationPick:
    """One station field of a form: its choices, what was chosen, or why nothing was."""

    field: str
    choices: list[StationChoice] | None  # None: too many for a list, a name box instead
    chosen: StationChoice | None = None
    typed: str = ""
    error: str | None = None
    candidates: list[StationChoice] = field(default_factory=list)

    @property
    def code(self) -> str | None:
        return self.chosen.code if self.chosen else None

    @property
    def name_field(self) -> str:
        return f"{self.field}_name"

    @property
    def shown(self) -> str:
        """The text box's value: what was typed when it was wrong, else the chosen name."""
        if self.error is not None:
            return self.typed
        return self.chosen.label if self.chosen else ""

    @property
    def groups(self) -> list[tuple[str, list[StationChoice]]]:
        """The choices by province (one group without a heading for a single province)."""
        out: dict[str, list[StationChoice]] = {}
        for choice in self.choices or []:
            out.setdefault(choice.province or "", []).append(choice)
        return list(out.items())


_PROVINCE = aliased(AdminUnit)  # the unit above a station's commune


def _select():
    return (
        select(
            Station.id, Station.code, Station.name, AdminUnit.name, _PROVINCE.name, AdminUnit.path
        )
        .join(AdminUnit, AdminUnit.id == Station.unit_id)
        .outerjoin(_PROVINCE, _PROVINCE.id == AdminUnit.parent_id)
    )


def _choices(stmt) -> list[StationChoice]:
    return [StationChoice(*row) for row in db().execute(stmt)]


def _conditions(within: Sequence, active_only: bool) -> list:
    conditions = list(within)
    scope = actor().scope_path
    if scope is not None:
        conditions.append(AdminUnit.path.startswith(scope, autoescape=True))
    if active_only:
        conditions.append(Station.active.is_(True))
    return conditions


def station_choices(
    *, within: Sequence = (), active_only: bool = True, limit: int | None = None
) -> list[StationChoice] | None:
    """The stations of the user's scope (and ``within``), by province and name; None when
    more than ``limit`` (then the picker is a name box)."""
    conditions = _conditions(within, active_only)
    count = db().scalar(
        select(func.count())
        .select_from(Station)
        .join(AdminUnit, AdminUnit.id == Station.unit_id)
        .where(*conditions)
    )
    if count > (SELECT_LIMIT if limit is None else limit):
        return None
    found = _choices(_select().where(*conditions))
    return sorted(found, key=lambda c: (fold(c.province or ""), _sort_name(c.commune), c.name))


def _sort_name(commune: str) -> str:
    """A commune's name as a list sorts it: "Xã Đức Thọ" under Đ, not under X."""
    folded = fold(commune)
    for kind in _KINDS:
        if folded.startswith(kind):
            return folded[len(kind) :]
    return folded


def _words(column):
    """The column padded with spaces, to match whole words: "ha" is not in "hanh"."""
    return literal(" ") + column + literal(" ")


def stations_named(text: str, conditions: Sequence) -> list[StationChoice]:
    """The stations whose commune or own name holds the typed name (diacritics optional);
    "name, province" narrows to a province. One exact match wins over partial ones."""
    name, _comma, province_text = text.rpartition(",") if "," in text else (text, "", "")
    wanted = fold(name)
    for prefix in _PREFIXES:
        if wanted.startswith(prefix):
            wanted = wanted[len(prefix) :]
            break
    if not wanted:
        return []
    stmt = _select().where(
        *conditions,
        # fold() leaves letters, digits and single spaces: nothing LIKE treats specially
        or_(
            _words(AdminUnit.name_folded).contains(f" {wanted} "),
            Station.name.icontains(name.strip(), autoescape=True),
        ),
    )
    if fold(province_text):
        stmt = stmt.where(_words(_PROVINCE.name_folded).contains(f" {fold(province_text)} "))
    found = _choices(stmt.order_by(AdminUnit.path, Station.name).limit(MATCHES_READ))
    exact = {wanted, *(kind + wanted for kind in _KINDS)}
    whole = [c for c in found if fold(c.commune) in exact or fold(c.name) == fold(name)]
    return whole if len(whole) == 1 else found


SUGGESTIONS = 20


def suggest_stations(text: str, *, active_only: bool = False) -> list[StationChoice]:
    """Up to ``SUGGESTIONS`` stations of the user's scope whose commune or own name holds
    ``text`` anywhere (a name being typed: "thanh s" already finds Thành Sen)."""
    wanted = fold(text)
    for prefix in _PREFIXES:
        if wanted.startswith(prefix):
            wanted = wanted[len(prefix) :]
            break
    if len(wanted) < 2:
        return []
    stmt = _select().where(
        *_conditions((), active_only),
        or_(
            AdminUnit.name_folded.contains(wanted),
            Station.name.icontains(text.strip(), autoescape=True),
        ),
    )
    found = _choices(stmt.order_by(AdminUnit.name_folded).limit(SUGGESTIONS))
    return sorted(found, key=lambda c: (_sort_name(c.commune), fold(c.province or "")))


def _by_code(code: str, conditions: Sequence) -> StationChoice | None:
    """The station of ``code`` among the choices; None when unknown or not among them;
    403 when it lies outside the user's scope."""
    if not STATION_CODE.fullmatch(code):
        return None
    found = _choices(_select().where(Station.code == code))
    if not found:
        return None
    if not actor().covers(found[0].path):
        abort(403)
    inside = _choices(_select().where(Station.code == code, *conditions))
    return inside[0] if inside else None


def pick_station(
    args,
    name: str = "station",
    *,
    within: Sequence = (),
    active_only: bool = True,
    limit: int | None = None,
) -> StationPick:
    """The station field ``name`` of ``args`` (``name`` holds a code, ``name_name`` a typed
    name), among the user's stations and ``within``. An empty field chooses nothing."""
    choices = station_choices(within=within, active_only=active_only, limit=limit)
    pick = StationPick(name, choices)
    conditions = _conditions(within, active_only)
    try:
        text = form_field(args, pick.name_field, max_length=200)
        code = form_field(args, name, max_length=64)
    except FormErrors as exc:
        pick.typed = typed(args.get(pick.name_field) or args.get(name), 200)
        pick.error = next(iter(exc.errors.values()))
        return pick
    if text:
        pick.typed = text
        found = stations_named(text, conditions)
        if len(found) == 1:
            pick.chosen = found[0]
        elif not found:
            pick.error = _("Không có đài nào tên “%(name)s” trong danh sách.", name=text)
        else:
            pick.candidates = found[:CANDIDATES_SHOWN]
            listed = "; ".join(c.label for c in pick.candidates)
            if len(found) > CANDIDATES_SHOWN:
                listed += "; …"
            pick.error = _(
                "Có %(n)s đài khớp “%(name)s”: %(list)s. Gõ đủ tên đài, hoặc thêm tên tỉnh "
                "sau dấu phẩy.",
                n=len(found) if len(found) < MATCHES_READ else f"{MATCHES_READ}+",
                name=text,
                list=listed,
            )
    elif code:
        pick.typed = code
        anywhere = _by_code(code, ())  # in the user's scope (403 outside it)
        pick.chosen = _by_code(code, conditions) if anywhere and conditions else anywhere
        if pick.chosen is None and anywhere is not None:
            pick.error = _(
                "%(station)s không có trong danh sách chọn ở đây; chọn một đài trong danh sách.",
                station=anywhere.label,
            )
        elif pick.chosen is None:
            pick.error = _("Không có đài này trong danh sách chọn.")
    return pick


def unit_from(value: str, errors: dict[str, str], name: str = "unit") -> AdminUnit | None:
    """The unit of a unit-picker field: a code (what the picker sends) or, typed without
    JavaScript, a name in the user's scope. An error of ``name`` when none or several;
    403 when the unit lies outside the scope."""
    value = (value or "").strip()
    if not value:
        return None
    unit = None
    if UNIT_CODE.fullmatch(value):
        unit = db().scalar(select(AdminUnit).where(AdminUnit.code == value))
    if unit is None:
        wanted = fold(value)
        stmt = select(AdminUnit).where(
            AdminUnit.name_folded.in_([wanted, *(k + wanted for k in (*_KINDS, "tinh "))])
        )
        scope = actor().scope_path
        if scope is not None:
            stmt = stmt.where(AdminUnit.path.startswith(scope, autoescape=True))
        found = db().scalars(stmt.order_by(AdminUnit.path).limit(CANDIDATES_SHOWN + 1)).all()
        if len(found) > 1:
            errors[name] = _(
                "Có nhiều đơn vị tên “%(name)s”: %(list)s. Chọn một trong cây đơn vị.",
                name=value,
                list="; ".join(
                    f"{u.name}, {u.parent.name}" if u.parent else u.name
                    for u in found[:CANDIDATES_SHOWN]
                ),
            )
            return None
        unit = found[0] if found else None
    if unit is None:
        errors[name] = _("Không tìm thấy đơn vị hành chính “%(name)s”.", name=value)
        return None
    if not actor().covers(unit.path):
        abort(403)
    return unit
