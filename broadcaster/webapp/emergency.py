"""The admin's emergency pages (stub: to be built)."""

from __future__ import annotations

from flask import Blueprint, render_template

from broadcaster.webapp.auth import signed_in

bp = Blueprint("emergency", __name__, url_prefix="/emergency")


@bp.get("/")
@signed_in()
def index():
    return render_template("emergency/index.html")
