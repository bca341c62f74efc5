"""The Flask application factory. A thin shell over the same services as the CLI.

Until the admin lands, it serves a status page and a JSON health check.
"""

from __future__ import annotations

import gc
from pathlib import Path

from flask import Flask, g, jsonify, render_template
from sqlalchemy.orm import Session, sessionmaker

import broadcaster
from broadcaster.config import Settings, load_settings
from broadcaster.db import make_engine, make_sessionmaker, migrate, schema_revision
from broadcaster.services.instance import status
from broadcaster.webapp import api


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


def create_app(settings: Settings | None = None, *, run_migrations: bool = True) -> Flask:
    settings = settings or load_settings()
    root = web_dir()
    app = Flask(
        __name__,
        template_folder=str(root / "templates"),
        static_folder=str(root / "static"),
    )
    app.config.update(SECRET_KEY=settings.secret_key, BROADCASTER_SETTINGS=settings)
    engine = make_engine(settings.database_url)
    if run_migrations:
        migrate(engine)
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

    @app.teardown_appcontext
    def _close(_exc) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.close()

    @app.get("/")
    def index():
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
            "Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"
        )
        return response

    return app
