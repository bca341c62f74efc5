"""Signing in to the admin: Flask-Login sessions over the users table (scrypt hashes).

Every admin page needs a signed-in user; what the user may see is their role
and their scope (a subtree of units), checked on the server for every request.
Forms carry a CSRF token (Flask-WTF); the station API, authenticated by bearer
tokens and never by cookies, is exempt. Failed sign-ins are counted per address:
after ``LOGIN_LIMIT`` a minute the address waits.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from limits import RateLimitItemPerMinute
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from broadcaster.errors import PermissionDenied
from broadcaster.models import Role, User
from broadcaster.services import users
from broadcaster.services.audit import Actor
from broadcaster.webapp.paths import safe_path

LOGIN_LIMIT = RateLimitItemPerMinute(10)
ROLE_LABELS = {
    Role.ADMIN: _l("Quản trị"),
    Role.EDITOR: _l("Biên tập (VH-XH)"),
    Role.APPROVER: _l("Duyệt tin"),
    Role.OPERATOR: _l("Vận hành đài"),
    Role.AUDITOR: _l("Kiểm tra"),
}

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()


def password_tag(password_hash: str) -> str:
    """A short digest of the stored hash: it changes with every new password."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


class WebUser(UserMixin):
    """The signed-in user: an :class:`Actor` plus what the pages show of them."""

    def __init__(
        self,
        actor: Actor,
        full_name: str,
        scope_code: str | None,
        scope_name: str,
        tag: str = "",
    ):
        self.actor = actor
        self.full_name = full_name or actor.label
        self.scope_code = scope_code
        self.scope_name = scope_name
        self.role_label = ROLE_LABELS.get(actor.role, str(actor.role))
        self.tag = tag

    def get_id(self) -> str:
        # the session names the password too, so a new password (a compromised account
        # reset by an admin) signs out every session opened with the old one
        return f"{self.actor.user_id}:{self.tag}"


def _web_user(user: User) -> WebUser:
    scope = user.scope_unit
    return WebUser(
        users.actor_for(user),
        user.full_name,
        scope.code if scope else None,
        scope.name if scope else _l("Toàn quốc"),
        password_tag(user.password_hash),
    )


def load_web_user(user_id: int) -> WebUser:
    db = current_app.extensions["broadcaster.db"]()
    user = db.scalar(select(User).options(selectinload(User.scope_unit)).where(User.id == user_id))
    return _web_user(user)


@login_manager.user_loader
def _load(session_id: str) -> WebUser | None:
    user_id, _, tag = session_id.partition(":")
    if not (user_id.isascii() and user_id.isdigit() and len(user_id) < 10):
        return None
    db = current_app.extensions["broadcaster.db"]()
    user = db.scalar(
        select(User).options(selectinload(User.scope_unit)).where(User.id == int(user_id))
    )
    if user is None or not user.active:  # a locked account is signed out at its next click
        return None
    if not hmac.compare_digest(tag, password_tag(user.password_hash)):
        return None  # the password changed since this session signed in
    return _web_user(user)


class LoginForm(FlaskForm):
    username = StringField(
        _l("Tên đăng nhập"),
        validators=[
            DataRequired(_l("Nhập tên đăng nhập.")),
            Length(max=64, message=_l("Quá dài.")),
        ],
    )
    password = PasswordField(
        _l("Mật khẩu"),
        validators=[DataRequired(_l("Nhập mật khẩu.")), Length(max=256, message=_l("Quá dài."))],
    )


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    error, status = None, 200
    limiter = current_app.extensions["broadcaster.ratelimit"]
    key = ("login", request.remote_addr or "?")
    if form.validate_on_submit():
        if not limiter.test(LOGIN_LIMIT, *key):
            error = _l("Đăng nhập sai quá nhiều lần từ máy này; hãy chờ một phút rồi thử lại.")
            status = 429
        else:
            db = current_app.extensions["broadcaster.db"]()
            username, password = form.username.data.strip(), form.password.data
            try:
                if "\x00" in username + password:  # never a real name; the database refuses NUL
                    raise PermissionDenied("Sai tên đăng nhập hoặc mật khẩu.")
                actor = users.authenticate(db, username, password)
            except PermissionDenied as exc:
                limiter.hit(LOGIN_LIMIT, *key)
                error, status = exc.message, 401
            else:
                login_user(load_web_user(actor.user_id))
                return redirect(safe_path(request.args.get("next"), url_for("dashboard.index")))
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    logout_user()
    return redirect(url_for("auth.login"))


def signed_in(*roles: Role):
    """A view for signed-in users (of these roles, if given); others get 403."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and current_user.actor.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def init_app(app: Flask) -> None:
    settings = app.config["BROADCASTER_SETTINGS"]
    secure = bool(settings.public_url and settings.public_url.startswith("https://"))
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=secure,
        WTF_CSRF_TIME_LIMIT=8 * 3600,  # a working day on one page
    )
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Hãy đăng nhập để xem trang này.")
    login_manager.session_protection = "strong"
    login_manager.init_app(app)
    csrf.init_app(app)
    app.register_blueprint(bp)
