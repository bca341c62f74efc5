"""Users, roles and scopes; password hashing (scrypt) and authentication.

Who manages whom: only admins. An admin with a scope (a province, say) manages
only the users whose own scope lies inside theirs; a user with the whole country
as scope is managed by national admins alone. Nobody may lock, demote or narrow
the last active national admin (the instance would have no one to manage it),
and an admin does not lock themselves out.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from broadcaster.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Words
from broadcaster.models import AdminUnit, Role, User
from broadcaster.services import web_sessions
from broadcaster.services.audit import Actor, record
from broadcaster.services.units import get_unit
from broadcaster.vntext import nfc, refuse_bidi

MIN_PASSWORD_LENGTH = 8
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
# Verified against when the user does not exist, so a wrong name costs as long
# as a wrong password and the two cannot be told apart by timing.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")

ROLE_LABELS_VI = {
    Role.ADMIN: "quản trị",
    Role.EDITOR: "công chức Văn hóa - Xã hội (soạn tin)",
    Role.APPROVER: "lãnh đạo duyệt tin",
    Role.OPERATOR: "cán bộ đài truyền thanh",
    Role.AUDITOR: "kiểm tra",
}


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    full_name: str
    role: Role
    scope_code: str | None
    scope_name: str | None
    active: bool


def _info(user: User) -> UserInfo:
    return UserInfo(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        scope_code=user.scope_unit.code if user.scope_unit else None,
        scope_name=user.scope_unit.name if user.scope_unit else None,
        active=user.active,
    )


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise InvalidInput(
            "Vai trò '{role}' không hợp lệ. Chọn một trong: {roles}.",
            field="role",
            role=value,
            roles=", ".join(r.value for r in Role),
        ) from None


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            "Mật khẩu phải có ít nhất {n} ký tự.", field="password", n=MIN_PASSWORD_LENGTH
        )
    if password.strip() != password:
        raise InvalidInput(
            "Mật khẩu không được bắt đầu hoặc kết thúc bằng khoảng trắng.", field="password"
        )


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def add_user(
    session: Session,
    actor: Actor,
    username: str,
    role: str | Role,
    password: str,
    scope: str | None = None,
    full_name: str = "",
) -> UserInfo:
    if not (actor.is_system or actor.role is Role.ADMIN):
        raise PermissionDenied("Chỉ quản trị viên được thêm người dùng.")
    username = nfc(username.strip())
    if not _USERNAME.match(username):
        raise InvalidInput(
            "Tên đăng nhập '{username}' không hợp lệ: 3–64 ký tự, chữ thường không dấu, "
            "chữ số, '.', '_' hoặc '-', bắt đầu bằng chữ hoặc số.",
            field="username",
            username=username,
        )
    role = role if isinstance(role, Role) else parse_role(role)
    check_password_strength(password)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict("Người dùng '{username}' đã tồn tại.", field="username", username=username)
    scope_unit = get_unit(session, scope, field="scope") if scope else None
    if not actor.covers(scope_unit.path if scope_unit is not None else None):
        raise PermissionDenied(
            "Không thể giao phạm vi nằm ngoài phạm vi của chính bạn.", field="scope"
        )
    user = User(
        username=username,
        full_name=refuse_bidi(nfc(full_name.strip()), Words("Họ tên"), field="full_name"),
        password_hash=hash_password(password),
        role=role,
        scope_unit=scope_unit,
    )
    session.add(user)
    session.flush()
    info = _info(user)
    record(
        session,
        actor,
        "user.add",
        "user",
        user.id,
        after={"username": username, "role": role.value, "scope": info.scope_code},
    )
    return info


def _get(session: Session, username: str) -> User:
    user = session.scalar(
        select(User).options(selectinload(User.scope_unit)).where(User.username == username)
    )
    if user is None:
        raise NotFound("Không có người dùng '{username}'.", field="username", username=username)
    return user


def set_password(session: Session, actor: Actor, username: str, password: str) -> None:
    user = _get(session, username.strip())
    if not (actor.is_system or actor.role is Role.ADMIN or actor.user_id == user.id):
        raise PermissionDenied("Chỉ quản trị viên hoặc chính người dùng được đổi mật khẩu.")
    if actor.user_id != user.id:
        _require_manager(actor, user)
    check_password_strength(password)
    user.password_hash = hash_password(password)
    web_sessions.end_all(session, user.id, "password")  # every session, this one included
    record(session, actor, "user.passwd", "user", user.id, note=f"đổi mật khẩu cho {username}")


def _path(user: User) -> str | None:
    return user.scope_unit.path if user.scope_unit else None


def _require_manager(actor: Actor, user: User | None = None) -> None:
    """An admin (or the system) whose scope holds ``user``'s scope."""
    if not (actor.is_system or actor.role is Role.ADMIN):
        raise PermissionDenied("Chỉ quản trị viên được quản lý người dùng.")
    if user is not None and not actor.covers(_path(user)):
        raise PermissionDenied(
            "Người dùng '{username}' nằm ngoài phạm vi của bạn.", username=user.username
        )


def _scoped(stmt, actor: Actor):
    if actor.scope_path is None:
        return stmt
    return stmt.join(AdminUnit, AdminUnit.id == User.scope_unit_id).where(
        AdminUnit.path.startswith(actor.scope_path, autoescape=True)
    )


def search_users(
    session: Session, actor: Actor, query: str = "", *, limit: int = 51, offset: int = 0
) -> list[UserInfo]:
    """Users an admin manages, by name order; ``query`` matches username or full name."""
    _require_manager(actor)
    stmt = _scoped(select(User).options(selectinload(User.scope_unit)), actor)
    query = nfc(query.strip())
    if query:
        stmt = stmt.where(
            or_(
                User.username.contains(query.lower(), autoescape=True),
                func.lower(User.full_name).contains(query.lower(), autoescape=True),
                User.full_name.contains(query, autoescape=True),
            )
        )
    stmt = stmt.order_by(User.username).limit(limit).offset(offset)
    return [_info(u) for u in session.scalars(stmt)]


def get_user(session: Session, actor: Actor, username: str) -> UserInfo:
    """One user an admin manages: NotFound, or PermissionDenied outside the admin's scope."""
    _require_manager(actor)
    user = _get(session, username)
    _require_manager(actor, user)
    return _info(user)


def _national_admins(session: Session) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == Role.ADMIN, User.active.is_(True), User.scope_unit_id.is_(None))
        )
        or 0
    )


def update_user(
    session: Session,
    actor: Actor,
    username: str,
    *,
    full_name: str,
    role: str | Role,
    scope: str | None,
    active: bool,
) -> UserInfo:
    """Change a user's name, role, scope and whether they may sign in (audited)."""
    _require_manager(actor)
    user = _get(session, username)
    _require_manager(actor, user)
    role = role if isinstance(role, Role) else parse_role(role)
    scope_unit = get_unit(session, scope, field="scope") if scope else None
    if not actor.covers(scope_unit.path if scope_unit is not None else None):
        raise PermissionDenied(
            "Không thể giao phạm vi nằm ngoài phạm vi của chính bạn.", field="scope"
        )
    before = _snapshot(user)
    was_national_admin = user.active and user.role is Role.ADMIN and user.scope_unit is None
    stays = active and role is Role.ADMIN and scope_unit is None
    if was_national_admin and not stays and _national_admins(session) <= 1:
        raise Conflict(
            "'{username}' là quản trị viên toàn quốc cuối cùng còn hoạt động: "
            "không thể khóa, đổi vai trò hay thu hẹp phạm vi.",
            field="active",
            username=username,
        )
    if actor.user_id == user.id and not active:
        raise Conflict("Bạn không thể tự khóa tài khoản của chính mình.", field="active")
    user.full_name = refuse_bidi(nfc(full_name.strip()), Words("Họ tên"), field="full_name")
    user.role = role
    user.scope_unit = scope_unit
    user.active = active
    if not active:
        web_sessions.end_all(session, user.id, "locked")
    session.flush()
    after = _snapshot(user)
    if after != before:
        action = "user.edit"
        if before["active"] != after["active"]:
            action = "user.unlock" if active else "user.lock"
        record(session, actor, action, "user", user.id, before=before, after=after)
    return _info(user)


def _snapshot(user: User) -> dict:
    return {
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role.value,
        "scope": user.scope_unit.code if user.scope_unit else None,
        "active": user.active,
    }


def list_users(session: Session) -> list[UserInfo]:
    users = session.scalars(
        select(User).options(selectinload(User.scope_unit)).order_by(User.username)
    )
    return [_info(u) for u in users]


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def authenticate(session: Session, username: str, password: str) -> Actor:
    """The :class:`Actor` for a username and password, or PermissionDenied."""
    user = session.scalar(
        select(User).options(selectinload(User.scope_unit)).where(User.username == username)
    )
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not ok:
        raise PermissionDenied("Sai tên đăng nhập hoặc mật khẩu.")
    if not user.active:
        raise PermissionDenied("Tài khoản '{username}' đã bị khóa.", username=username)
    return actor_for(user)


def actor_for(user: User) -> Actor:
    return Actor(
        label=user.username,
        user_id=user.id,
        role=user.role,
        scope_path=user.scope_unit.path if user.scope_unit else None,
    )
