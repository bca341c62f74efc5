"""The admin's campaigns pages (stub: to be built)."""

from __future__ import annotations

from flask import Blueprint, render_template

from broadcaster.webapp.auth import signed_in

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")


@bp.get("/")
@signed_in()
def index():
    return render_template("campaigns/index.html")
