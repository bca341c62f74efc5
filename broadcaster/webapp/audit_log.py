"""The admin's audit pages (stub: to be built)."""

from __future__ import annotations

from flask import Blueprint, render_template

from broadcaster.webapp.auth import signed_in

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("/")
@signed_in()
def index():
    return render_template("audit/index.html")
