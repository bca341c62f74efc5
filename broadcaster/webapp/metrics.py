"""``GET /metrics``: the Prometheus text format, for the monitoring server only.

Answered to addresses in ``BROADCASTER_METRICS_ALLOW`` (the client's own address:
behind trusted proxies, ProxyFix has put it in ``request.remote_addr``) or to a
request carrying ``Authorization: Bearer <BROADCASTER_METRICS_TOKEN>``; anyone else
gets a short 403. No session, no CSRF, no sign-in and no throttle: Prometheus
scrapes every few seconds and sends no cookie. The series are
:mod:`broadcaster.metrics`'s (counted in the processes) and
:mod:`broadcaster.services.monitoring`'s (read from the database, which may be
down: then ``broadcaster_database_up 0``, never an error page).
"""

from __future__ import annotations

import hmac
import ipaddress

from flask import Blueprint, Flask, Response, current_app, request

from broadcaster import metrics
from broadcaster.config import Settings
from broadcaster.db import make_engine
from broadcaster.services.monitoring import DatabaseSeries

bp = Blueprint("metrics", __name__)

REFUSED = (
    "Không được phép đọc /metrics: địa chỉ này không nằm trong BROADCASTER_METRICS_ALLOW "
    "và yêu cầu không mang mã BROADCASTER_METRICS_TOKEN đúng.\n"
)


def _allowed(settings: Settings, networks) -> bool:
    token = settings.metrics_token
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode("utf-8"), token.encode("utf-8")
        ):
            return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:10.0.0.5 from a dual-stack socket
    return any(address in network for network in networks)


@bp.get("/metrics")
def scrape():
    settings: Settings = current_app.config["BROADCASTER_SETTINGS"]
    if not _allowed(settings, current_app.extensions["broadcaster.metrics_allow"]):
        return Response(REFUSED, status=403, content_type="text/plain; charset=utf-8")
    body, content_type = metrics.exposition(current_app.extensions["broadcaster.metrics"])
    response = Response(body, content_type=content_type)
    response.headers["Cache-Control"] = "no-store"
    return response


def metrics_engine(database_url: str):
    """The scrape's own small pool, with short limits: a database that is away makes
    the scrape say so within seconds, never hold a request until Prometheus gives up."""
    if database_url.startswith("postgresql"):
        return make_engine(
            database_url,
            pool_size=1,
            max_overflow=1,
            connect_args={"connect_timeout": 3, "options": "-c statement_timeout=5000"},
        )
    return make_engine(database_url, connect_args={"timeout": 5})


def init_app(app: Flask) -> None:
    settings: Settings = app.config["BROADCASTER_SETTINGS"]
    metrics.prepare()
    app.extensions["broadcaster.metrics_allow"] = tuple(
        ipaddress.ip_network(n, strict=False) for n in settings.metrics_allow
    )
    database = DatabaseSeries(metrics_engine(settings.database_url))
    app.extensions["broadcaster.metrics_database"] = database
    app.extensions["broadcaster.metrics"] = metrics.registry(database)
    app.register_blueprint(bp)
