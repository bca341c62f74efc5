"""The Flask application factory. A thin shell over the same services as the CLI.

It serves the station API (/api/v1); the admin (sign-in, dashboard, scripts,
campaigns, emergencies, stations, the airing log, compliance reports, users and
the audit log), in Vietnamese with English as the second language; a public
status page and a JSON health check.
"""

from __future__ import annotations

import gc
from pathlib import Path

from flask import Flask, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

import broadcaster
from broadcaster.config import Settings, load_settings
from broadcaster.db import make_engine, make_sessionmaker, migrate, schema_revision
from broadcaster.services.instance import status
from broadcaster.webapp import (
    airings,
    api,
    audit_log,
    auth,
    campaigns,
    dashboard,
    emergency,
    i18n,
    menu,
    metrics,
    operator,
    relays,
    report_documents,
    reports,
    scripts,
    scripts_recording,
    stations,
    units,
    users,
)
from broadcaster.webapp.filters import register_filters


def web_dir() -> Path:
    """Templates and static files: inside the wheel, or the source checkout's web/."""
    packaged = Path(broadcaster.__file__).parent / "_web"
    if packaged.is_dir():
        return packaged
    return Path(broadcaster.__file__).parent.parent / "web"


def freeze_startup_objects() -> None:
    """Take what start-up built (modules, mappers, the app) out of the collector's sight.

    Those objects live as long as the server; scanning them again at every full
    collection cost a quarter of a 100-report ingest, measured. Servers call this
    once the app is built (``broadcaster serve``, :mod:`broadcaster.webapp.wsgi`).
    """
    gc.collect()
    gc.freeze()


_TITLES = {
    400: _l("Yêu cầu không hợp lệ"),
    401: _l("Cần đăng nhập"),
    403: _l("Không có quyền"),
    404: _l("Không tìm thấy trang"),
    405: _l("Phương thức không được hỗ trợ"),
    413: _l("Dữ liệu gửi lên quá lớn"),
    429: _l("Quá nhiều yêu cầu"),
}
_MESSAGES = {
    401: _l("Hãy đăng nhập để xem trang này."),
    403: _l("Trang hoặc đơn vị này nằm ngoài phạm vi hoặc vai trò của tài khoản bạn."),
    404: _l("Địa chỉ này không có trong hệ thống."),
    405: _l("Địa chỉ này không nhận cách gửi đó."),
    413: _l("Dữ liệu gửi lên quá lớn."),
    429: _l("Hãy chờ một lát rồi thử lại."),
}


def _error_page(code: int, description: str | None):
    # our own messages pass through; werkzeug's default descriptions are English
    message = description or _MESSAGES.get(code, "")
    title = _TITLES.get(code) or _("Có lỗi")
    return render_template("error.html", code=code, title=title, message=message), code


def create_app(settings: Settings | None = None, *, run_migrations: bool = True) -> Flask:
    settings = settings or load_settings()
    root = web_dir()
    app = Flask(
        __name__,
        template_folder=str(root / "templates"),
        static_folder=str(root / "static"),
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        BROADCASTER_SETTINGS=settings,
        # the largest body any page takes: a recording's upload (BROADCASTER_RECORDING_MAX_MB)
        # and its form; beyond it, 413 before the body is read (the station API has its own)
        MAX_CONTENT_LENGTH=scripts_recording.body_limit(settings.audio.recording_max_mb),
    )
    if settings.trusted_proxies:
        # the client's address, scheme and host as the trusted proxies saw them: what the
        # sign-in throttle, the station rate limits, sessions and heartbeats record
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    engine = make_engine(settings.database_url)
    if run_migrations:
        migrate(engine, settings.secret_key)
    factory: sessionmaker[Session] = make_sessionmaker(engine)
    app.extensions["broadcaster.engine"] = engine
    # The hot read of every playlist pull: autocommit, so no BEGIN and no ROLLBACK
    # round trips, and no ping (a connection the database dropped is retried once).
    app.extensions["broadcaster.read_engine"] = make_engine(
        settings.database_url,
        isolation_level="AUTOCOMMIT",
        pool_reset_on_return=None,
        pool_pre_ping=False,
    )

    def db() -> Session:
        if "db" not in g:
            g.db = factory()
        return g.db

    app.extensions["broadcaster.db"] = db
    api.init_app(app, factory)
    metrics.init_app(app)  # GET /metrics: its own access rule, no session, no CSRF
    auth.init_app(app)
    auth.csrf.exempt(api.bp)  # stations authenticate with bearer tokens, never cookies
    i18n.init_app(app)
    menu.init_app(app)
    for blueprint in (
        dashboard.bp,
        scripts.bp,
        campaigns.bp,
        emergency.bp,
        stations.bp,
        airings.bp,
        operator.bp,
        reports.bp,
        report_documents.bp,
        users.bp,
        audit_log.bp,
        units.bp,
        relays.bp,
    ):
        app.register_blueprint(blueprint)
    register_filters(app, settings.tz)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if request.path.startswith("/api/"):
            return api.http_error(exc)
        own = exc.description if exc.description != type(exc).description else None
        return _error_page(exc.code or 500, own)

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        return _error_page(
            400, _("Biểu mẫu đã hết hạn hoặc thiếu mã bảo vệ (CSRF); tải lại trang.")
        )

    @app.teardown_appcontext
    def _close(_exc) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.close()

    @app.get("/")
    def index():
        """Signed in: the dashboard. Anyone else learns only that the service is up."""
        if current_user.is_authenticated:
            return redirect(url_for("dashboard.index"))
        return render_template("welcome.html")

    @app.get("/status")
    @auth.signed_in()
    def status_page():
        return render_template(
            "status.html",
            status=status(db()),
            version=broadcaster.__version__,
            backend=engine.dialect.name,
            timezone=settings.timezone,
        )

    @app.get("/healthz")
    def healthz():
        return jsonify(
            status="ok",
            version=broadcaster.__version__,
            database=engine.dialect.name,
            schema=schema_revision(engine),
        )

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault(
            "Content-Security-Policy",
            # media from blob: — the page's own microphone recording, heard back before sending
            "default-src 'self'; media-src 'self' blob:; frame-ancestors 'none'; "
            "form-action 'self'; base-uri 'none'",
        )
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    return app
