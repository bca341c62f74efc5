"""Signing in to the admin: Flask-Login sessions over the users table (scrypt hashes).

Every admin page needs a signed-in user; what the user may see is their role
and their scope (a subtree of units), checked on the server for every request.
Forms carry a CSRF token (Flask-WTF); the station API, authenticated by bearer
tokens and never by cookies, is exempt. Failed sign-ins are counted per account and
address, per address and per account (:func:`_attempt` says what each one holds back).

A session is held on the server (:mod:`broadcaster.services.web_sessions`): the
signed cookie carries a random key, and the session ends when the user signs out,
after ``session_idle_minutes`` without a request, ``session_max_hours`` after
signing in, and when the password changes or the account is locked — a copy of the
cookie is worth nothing after any of these.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
from dataclasses import replace
from datetime import timedelta

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_url,
    login_user,
    logout_user,
)
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItemPerMinute
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from broadcaster import metrics
from broadcaster.db import transaction
from broadcaster.errors import PermissionDenied
from broadcaster.models import Role, User
from broadcaster.services import users, web_sessions
from broadcaster.services.audit import Actor
from broadcaster.webapp.paths import safe_path

# Failed sign-ins, counted three ways (see _attempt)
PAIR_LIMIT = RateLimitItemPerMinute(5)  # one account from one address: the person's own
ADDRESS_LIMIT = RateLimitItemPerMinute(10)  # any accounts from one address
ACCOUNT_LIMIT = RateLimitItemPerMinute(10)  # one account from any addresses
DEVICE_COOKIE = "bkd"  # signed list of the accounts that signed in on this browser
DEVICE_DAYS = 90
MAX_DEVICE_ACCOUNTS = 10
SESSION_KEY = "_bsk"  # the server-side session's key, inside Flask's signed cookie
ROLE_LABELS = {
    Role.ADMIN: _l("Quản trị"),
    Role.EDITOR: _l("Biên tập (VH-XH)"),
    Role.APPROVER: _l("Duyệt tin"),
    Role.OPERATOR: _l("Vận hành đài"),
    Role.AUDITOR: _l("Kiểm tra"),
}

log = logging.getLogger(__name__)
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
    # the address the request came from (the client's own, behind trusted proxies) goes
    # into every audit event this user's request records
    address = request.remote_addr if has_request_context() else None
    return WebUser(
        replace(users.actor_for(user), address=address),
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
    problem = _session_problem(user.id)
    if problem is not None:
        g.session_ended = problem  # said on the sign-in page
        return None
    return _web_user(user)


def _limits() -> web_sessions.Limits:
    settings = current_app.config["BROADCASTER_SETTINGS"]
    return web_sessions.Limits(
        idle=timedelta(minutes=settings.session_idle_minutes),
        absolute=timedelta(hours=settings.session_max_hours),
    )


def _sessions():
    return current_app.extensions["broadcaster.sessionmaker"]


def _session_problem(user_id: int) -> str | None:
    with transaction(_sessions()) as s:
        return web_sessions.check(s, session.get(SESSION_KEY), user_id, _limits())


@login_manager.unauthorized_handler
def _unauthorized():
    settings = current_app.config["BROADCASTER_SETTINGS"]
    ended = g.pop("session_ended", None)
    if ended == "idle":
        message = _l(
            "Phiên làm việc đã kết thúc vì không thao tác trong %(n)s phút; hãy đăng nhập lại.",
            n=settings.session_idle_minutes,
        )
    elif ended == "expired":
        message = _l(
            "Phiên làm việc đã quá %(n)s giờ kể từ khi đăng nhập; hãy đăng nhập lại.",
            n=settings.session_max_hours,
        )
    else:
        message = login_manager.login_message
    flash(message, login_manager.login_message_category)
    return redirect(login_url(login_manager.login_view, request.url))


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
    if form.validate_on_submit():
        error, status, actor = _attempt(form.username.data.strip(), form.password.data)
        if actor is None:
            metrics.sign_in_failed("admin", "throttled" if status == 429 else "wrong")
        else:
            _end_session("signed_out")  # a session this browser had is over
            session.clear()
            open_session(actor.user_id)
            answer = redirect(safe_path(request.args.get("next"), url_for("dashboard.index")))
            _remember_device(answer, actor.user_id)
            return answer
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form, error=error), status


def open_session(user_id: int) -> None:
    """Sign this browser in as ``user_id`` with a new server-side session."""
    with transaction(_sessions()) as s:
        key = web_sessions.start(
            s,
            user_id,
            address=request.remote_addr or "",
            user_agent=request.user_agent.string or "",
        )
    session[SESSION_KEY] = key
    session.permanent = True  # the cookie lasts the session's absolute limit
    login_user(load_web_user(user_id))


def _attempt(username: str, password: str) -> tuple[str | None, int, Actor | None]:
    """One sign-in attempt under the throttles: (error, status, the actor when it worked).

    Failures are counted three ways (:data:`PAIR_LIMIT`, :data:`ADDRESS_LIMIT`,
    :data:`ACCOUNT_LIMIT`). Only a person's own failures — this account from this
    address — stop an attempt before the password is checked. Many failures from the
    address (an office behind one NAT, or everyone behind a proxy not set up as trusted)
    never refuse a right password: wrong ones get 429 instead of 401, and a sign-in
    through it is logged. Many failures on the account from anywhere stop attempts from
    browsers that never signed in to it, while a browser it signed in from before (the
    official's own) goes on being checked.
    """
    limiter = current_app.extensions["broadcaster.ratelimit"]
    address = request.remote_addr or "?"
    account = username.casefold()[:64]
    pair = ("login-pair", account, address)
    if not limiter.test(PAIR_LIMIT, *pair):
        return _l("Đăng nhập sai quá nhiều lần; hãy chờ một phút rồi thử lại."), 429, None
    busy_address = not limiter.test(ADDRESS_LIMIT, "login-address", address)
    busy_account = not limiter.test(ACCOUNT_LIMIT, "login-account", account)
    db = current_app.extensions["broadcaster.db"]()
    malformed = "\x00" in username + password  # never a real name; the database refuses NUL
    known = not malformed and _known_device(db, account)
    if busy_account and not known:
        log.warning(
            "sign-in to %r from %s held back: many failures on the account", account, address
        )
        message = _l(
            "Tài khoản này vừa bị đăng nhập sai nhiều lần; hãy chờ một phút rồi thử lại "
            "(máy đã từng đăng nhập tài khoản này thì không phải chờ)."
        )
        return message, 429, None
    try:
        if malformed:
            raise PermissionDenied("Sai tên đăng nhập hoặc mật khẩu.")
        actor = users.authenticate(db, username, password)
    except PermissionDenied as exc:
        for limit, key in (
            (PAIR_LIMIT, pair),
            (ADDRESS_LIMIT, ("login-address", address)),
            (ACCOUNT_LIMIT, ("login-account", account)),
        ):
            limiter.hit(limit, *key)
        if busy_address:
            log.warning(
                "failed sign-in to %r from %s, an address with many failures", account, address
            )
            return (
                _l("Đăng nhập sai quá nhiều lần từ máy này; hãy chờ một phút rồi thử lại."),
                429,
                None,
            )
        return exc.render(gettext), 401, None  # in the reader's language
    if busy_address or busy_account:
        log.warning(
            "sign-in to %r from %s despite many failures (%s)",
            account,
            address,
            "address" if busy_address else "account",
        )
    return None, 302, actor


# -- a browser that signed in before ----------------------------------------------------


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="known-device")


def _device_ids() -> list[int]:
    """The accounts (user ids) this browser's signed cookie says it signed in to."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw or len(raw) > 2000:
        return []
    try:
        held = _device_serializer().loads(raw, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return []
    return [i for i in held if isinstance(i, int)] if isinstance(held, list) else []


def _known_device(db, account: str) -> bool:
    """Whether this browser signed in to ``account`` before."""
    ids = _device_ids()
    if not ids:
        return False
    user_id = db.scalar(select(User.id).where(func.lower(User.username) == account))
    return user_id is not None and user_id in ids


def _remember_device(answer, user_id: int) -> None:
    ids = [user_id, *[i for i in _device_ids() if i != user_id]][:MAX_DEVICE_ACCOUNTS]
    answer.set_cookie(
        DEVICE_COOKIE,
        _device_serializer().dumps(ids),
        max_age=DEVICE_DAYS * 86400,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )


@bp.post("/logout")
def logout():
    _end_session("signed_out")
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


def _end_session(reason: str) -> None:
    key = session.get(SESSION_KEY)
    if key:
        with transaction(_sessions()) as s:
            web_sessions.end(s, key, reason)


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
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_max_hours),
        # The cookie is sent again only when the session changed. Re-sent with every answer,
        # a slow answer (a chart) begun before a form's POST would arrive after it and put
        # back the cookie it started with, dropping the POST's "done" message; and the
        # cookie's age is the session's absolute limit, not moved by each request.
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Hãy đăng nhập để xem trang này.")
    login_manager.session_protection = "strong"
    login_manager.init_app(app)
    csrf.init_app(app)
    app.register_blueprint(bp)
