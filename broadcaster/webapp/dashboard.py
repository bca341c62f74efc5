"""The admin's dashboard pages (stub: to be built)."""

from __future__ import annotations

from flask import Blueprint, render_template

from broadcaster.webapp.auth import signed_in

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.get("/")
@signed_in()
def index():
    return render_template("dashboard/index.html")
