"""The unit tree picker's data: units by name or code, within the signed-in user's scope.

``GET /units/search.json`` (any signed-in user) answers JSON for
``web/static/unitpicker.js``, which the campaigns form and the emergency page use:

- ``?q=<text>`` — units whose code starts with the text or whose name holds it,
  diacritics optional ("thanh sen" finds "Phường Thành Sen", 18073); provinces first.
- ``?parent=<code>`` (no ``q``) — that unit's children (the tree: a province's communes).
- neither — the top of the user's scope: their own unit, or every province for a
  nation-wide user.

The answer is ``{"units": [{"code", "name", "kind", "level", "parent_code",
"parent_name", "has_children"}, …], "more": bool}``, at most
30 found units (``PICKER_LIMIT``) or 200 children (``BRANCH_LIMIT``, a whole province),
only inside the user's scope; ``more`` says some were left off.
A parent outside the scope is 403, an unknown parent 404, a malformed argument
(control characters, over 100 characters) 400 — each as ``{"error": "…"}``.

The contract of the picker itself (markup, behaviour without JavaScript) is in the
docstring of ``web/static/unitpicker.js``.

``GET /units/stations.json?q=<text>`` feeds the station picker's name box (a scope too
large for a list, ``web/static/stationpicker.js``): ``{"stations": [{"code", "label"}]}``,
at most 20 stations of the user's scope whose commune or station name holds the text,
diacritics optional; the label is what the box then holds and the server resolves.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from broadcaster.services.units import BRANCH_LIMIT, PICKER_LIMIT, find_unit, search_units
from broadcaster.webapp.auth import signed_in
from broadcaster.webapp.common import UNIT_CODE, actor, db
from broadcaster.webapp.pickers import suggest_stations

bp = Blueprint("units", __name__, url_prefix="/units")

MAX_QUERY = 100


def _refuse(status: int, message: str):
    return jsonify(error=message), status


def _argument(name: str) -> str | None:
    """The argument, trimmed; None when it is malformed."""
    value = request.args.get(name, "") or ""
    if len(value) > MAX_QUERY or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return None
    return value.strip()


@bp.get("/search.json")
@signed_in()
def search():
    query, parent_code = _argument("q"), _argument("parent")
    if query is None or parent_code is None:
        return _refuse(
            400,
            _(
                "Từ khóa hoặc mã đơn vị không hợp lệ (quá %(n)s ký tự hoặc có ký tự điều khiển).",
                n=MAX_QUERY,
            ),
        )
    scope = actor().scope_path
    parent = None
    if parent_code and not query:
        if not UNIT_CODE.fullmatch(parent_code):
            return _refuse(400, _("Mã đơn vị '%(code)s' không hợp lệ.", code=parent_code))
        parent = find_unit(db(), parent_code)
        if parent is None:
            return _refuse(
                404, _("Không có đơn vị hành chính nào mã '%(code)s'.", code=parent_code)
            )
        if not actor().covers(parent.path):
            return _refuse(403, _("Đơn vị '%(code)s' nằm ngoài phạm vi của bạn.", code=parent_code))
    limit = PICKER_LIMIT if query else BRANCH_LIMIT
    hits = search_units(db(), scope, query=query, parent=parent, limit=limit + 1)
    return jsonify(
        units=[
            {
                "code": h.code,
                "name": h.name,
                "kind": h.kind,
                "level": h.level,
                "parent_code": h.parent_code,
                "parent_name": h.parent_name,
                "has_children": h.has_children,
            }
            for h in hits[:limit]
        ],
        more=len(hits) > limit,
    )


@bp.get("/stations.json")
@signed_in()
def stations():
    query = _argument("q")
    if query is None:
        return _refuse(
            400,
            _(
                "Từ khóa hoặc mã đơn vị không hợp lệ (quá %(n)s ký tự hoặc có ký tự điều khiển).",
                n=MAX_QUERY,
            ),
        )
    found = suggest_stations(query)
    return jsonify(stations=[{"code": c.code, "label": c.label} for c in found])
