"""The admin's stations pages (stub: to be built)."""

from __future__ import annotations

from flask import Blueprint, render_template

from broadcaster.webapp.auth import signed_in

bp = Blueprint("stations", __name__, url_prefix="/stations")


@bp.get("/")
@signed_in()
def index():
    return render_template("stations/index.html")
