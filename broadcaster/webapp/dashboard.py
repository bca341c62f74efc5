"""The admin's dashboard (tổng quan): today and this week for the user's scope.

A thin shell over :func:`broadcaster.services.dashboard.overview`. The scope is
the signed-in user's (a commune operator: their station; a provincial user: the
province; a national admin: the country); ``?unit=CODE`` narrows it to a unit
inside it (403 outside, 404 unknown or malformed). Read-only: no form posts here.

The figures of one scope are kept per process and shared by its users (the
page says when they were counted): the country's week is ~50,000 slots joined
to their airings, about a second on SQLite. Fresh for :data:`CACHE_SECONDS`;
then, up to :data:`STALE_SECONDS`, the last figures are shown while one
background thread counts again, so no one waits for the country's count but
the first visitor after a quiet spell.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import date

from flask import Blueprint, Flask, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _

from broadcaster.models import AdminUnit, Role
from broadcaster.services import dashboard
from broadcaster.webapp.auth import signed_in
from broadcaster.webapp.common import actor, db, settings, unit_in_scope

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

CACHE_SECONDS = 30
STALE_SECONDS = 300
CACHE_SIZE = 64
# Tests fix "today" (a local date) through this app config key; unset in production.
TODAY_KEY = "DASHBOARD_TODAY"
_CACHE_KEY = "broadcaster.dashboard_cache"


class _Cache:
    """Overviews by (scope, day) with the time they were counted; one per app."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: OrderedDict[tuple, tuple[float, dashboard.Overview]] = OrderedDict()
        self.refreshing: set[tuple] = set()

    def get(self, key: tuple) -> tuple[float, dashboard.Overview] | None:
        """(age in seconds, overview), or None when missing or too old to show."""
        with self.lock:
            found = self.items.get(key)
            if found is None:
                return None
            age = time.monotonic() - found[0]
            return None if age > STALE_SECONDS else (age, found[1])

    def put(self, key: tuple, value: dashboard.Overview) -> None:
        with self.lock:
            self.items[key] = (time.monotonic(), value)
            self.items.move_to_end(key)
            while len(self.items) > CACHE_SIZE:
                self.items.popitem(last=False)

    def claim(self, key: tuple) -> bool:
        """True for the one caller that should count ``key`` again."""
        with self.lock:
            if key in self.refreshing:
                return False
            self.refreshing.add(key)
            return True

    def release(self, key: tuple) -> None:
        with self.lock:
            self.refreshing.discard(key)


def _cache() -> _Cache:
    return current_app.extensions.setdefault(_CACHE_KEY, _Cache())


def _count(unit: AdminUnit | None, today: date | None) -> dashboard.Overview:
    return dashboard.overview(db(), unit, tz=settings().tz, today=today)


def _refresh(app: Flask, cache: _Cache, key: tuple, unit_id: int | None, today) -> None:
    """Count again in the background, on a session of its own (a fresh app context)."""
    try:
        with app.app_context():
            unit = db().get(AdminUnit, unit_id) if unit_id is not None else None
            cache.put(key, _count(unit, today))
    except Exception:  # the stale figures stay; the next request tries again
        app.logger.exception("dashboard: counting %s again failed", key)
    finally:
        cache.release(key)


def _unit_arg() -> str | None:
    raw = request.args.get("unit", "")
    if len(raw) > 64 or any(ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        abort(404)  # never a database error: a NUL cannot name a unit
    return raw.strip() or None


def overview_of(unit: AdminUnit | None) -> dashboard.Overview:
    today: date | None = current_app.config.get(TODAY_KEY)
    key = (unit.code if unit is not None else None, today)
    cache = _cache()
    found = cache.get(key)
    if found is None:
        view = _count(unit, today)
        cache.put(key, view)
        return view
    age, view = found
    if age > CACHE_SECONDS and cache.claim(key):
        app = current_app._get_current_object()
        unit_id = unit.id if unit is not None else None
        threading.Thread(
            target=_refresh, args=(app, cache, key, unit_id, today), daemon=True
        ).start()
    return view


@bp.get("/")
@signed_in()
def index():
    unit = unit_in_scope(_unit_arg())
    view = overview_of(unit)
    up_url = None
    if unit is not None and unit.parent is not None:
        if actor().covers(unit.parent.path):
            up_url = url_for("dashboard.index", unit=unit.parent.code)
    elif unit is not None and actor().covers(None):
        up_url = url_for("dashboard.index")
    from broadcaster.webapp.report_documents import dashboard_reminders

    day = current_app.config.get(TODAY_KEY) or settings().today()
    is_admin = actor().role is Role.ADMIN
    airings_args = {"from": view.week_start.isoformat(), "to": view.week_end.isoformat()}
    return render_template(
        "dashboard/index.html",
        view=view,
        unit=unit,
        up_url=up_url,
        airings_args=airings_args,
        is_admin=is_admin,
        relay_reason=lambda source: source.reason(_),
        reminders=dashboard_reminders(day),
        **(_backup_view() if is_admin else {"backup": None}),
    )


def _backup_view() -> dict:
    """The last backup for the admin (a cheap read of job_runs, not cached)."""
    from broadcaster.db import utcnow
    from broadcaster.services import backups

    status = backups.status(db())
    size = status.last_bytes
    return {
        "backup": status,
        "backup_stale": status.stale(utcnow()),
        "backup_size": "—" if size is None else f"{size / 1048576:.1f} MB".replace(".", ","),
        "stale_hours": int(backups.STALE_AFTER.total_seconds() // 3600),
    }
