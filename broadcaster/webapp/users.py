"""The admin's users pages (stub: to be built)."""

from __future__ import annotations

from flask import Blueprint, render_template

from broadcaster.webapp.auth import signed_in

bp = Blueprint("users", __name__, url_prefix="/users")


@bp.get("/")
@signed_in()
def index():
    return render_template("users/index.html")
