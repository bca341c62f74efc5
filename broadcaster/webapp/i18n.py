"""The admin's languages: Vietnamese first, English second (Flask-Babel).

Message ids are the Vietnamese texts themselves, so a page with no catalog at
all still reads right in Vietnamese; ``translations/en`` holds the English.
The choice is kept in the session (``POST /lang``); without one the admin
speaks Vietnamese, whatever the browser's own language (office PCs often run
an English browser).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, redirect, request, session
from flask_babel import Babel

from broadcaster.webapp.paths import safe_path

LOCALES = ("vi", "en")
DEFAULT_LOCALE = "vi"
TRANSLATIONS = Path(__file__).parent / "translations"

bp = Blueprint("i18n", __name__)
babel = Babel()


def select_locale() -> str:
    chosen = session.get("lang")
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


@bp.post("/lang")
def choose_language():
    lang = request.form.get("lang", "")
    if lang in LOCALES:
        session["lang"] = lang
    return redirect(safe_path(request.form.get("next"), "/"))


def init_app(app: Flask) -> None:
    app.config.update(
        BABEL_DEFAULT_LOCALE=DEFAULT_LOCALE,
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
    )
    babel.init_app(app, locale_selector=select_locale)
    app.register_blueprint(bp)
