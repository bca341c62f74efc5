"""The admin's scripts pages (stub: to be built)."""

from __future__ import annotations

from flask import Blueprint, render_template

from broadcaster.webapp.auth import signed_in

bp = Blueprint("scripts", __name__, url_prefix="/scripts")


@bp.get("/")
@signed_in()
def index():
    return render_template("scripts/index.html")
