"""The admin's airings pages (stub: to be built)."""

from __future__ import annotations

from flask import Blueprint, render_template

from broadcaster.webapp.auth import signed_in

bp = Blueprint("airings", __name__, url_prefix="/airings")


@bp.get("/")
@signed_in()
def index():
    return render_template("airings/index.html")
