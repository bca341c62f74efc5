"""The unit tree picker's data: search units by name or code within the user's scope
(stub: to be built)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from broadcaster.webapp.auth import signed_in

bp = Blueprint("units", __name__, url_prefix="/units")


@bp.get("/search.json")
@signed_in()
def search():
    return jsonify(units=[])
