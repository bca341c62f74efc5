"""Users: scrypt hashes, roles, scopes, authentication."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from broadcaster.db import transaction
from broadcaster.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from broadcaster.models import AuditEvent, Role, User
from broadcaster.services import users


def test_add_and_authenticate(factory, actor, ha_tinh):
    with transaction(factory) as s:
        info = users.add_user(s, actor, "lan.vhxh", "editor", "mật-khẩu-đủ-dài", scope="42")
    assert (info.role, info.scope_code, info.scope_name) == (Role.EDITOR, "42", "Hà Tĩnh")
    with factory() as s:
        stored = s.scalar(select(User).where(User.username == "lan.vhxh"))
        assert stored.password_hash.startswith("scrypt:")
        assert "mật-khẩu-đủ-dài" not in stored.password_hash
        who = users.authenticate(s, "lan.vhxh", "mật-khẩu-đủ-dài")
        assert (who.label, who.role, who.scope_path) == ("lan.vhxh", Role.EDITOR, "/42/")
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "user.add"))
        assert event.after == {"username": "lan.vhxh", "role": "editor", "scope": "42"}


def test_wrong_password_and_unknown_user_look_the_same(factory, actor):
    with transaction(factory) as s:
        users.add_user(s, actor, "hung", "approver", "correct-horse")
    with factory() as s:
        with pytest.raises(PermissionDenied, match="Sai tên đăng nhập hoặc mật khẩu"):
            users.authenticate(s, "hung", "wrong-horse")
        with pytest.raises(PermissionDenied, match="Sai tên đăng nhập hoặc mật khẩu"):
            users.authenticate(s, "nobody", "correct-horse")


@pytest.mark.parametrize(
    ("username", "role", "password", "error", "message"),
    [
        ("Lan VHXH", "editor", "password1", InvalidInput, "Tên đăng nhập"),
        ("lan", "giamdoc", "password1", InvalidInput, "Vai trò 'giamdoc'"),
        ("lan", "editor", "short", InvalidInput, "ít nhất 8"),
    ],
)
def test_bad_user_fields(factory, actor, username, role, password, error, message):
    with pytest.raises(error, match=message), transaction(factory) as s:
        users.add_user(s, actor, username, role, password)
    with factory() as s:
        assert s.scalar(select(User)) is None


def test_duplicate_user_and_unknown_scope(factory, actor, ha_tinh):
    with transaction(factory) as s:
        users.add_user(s, actor, "lan", "editor", "password1")
    with pytest.raises(Conflict), transaction(factory) as s:
        users.add_user(s, actor, "lan", "editor", "password1")
    with pytest.raises(NotFound), transaction(factory) as s:
        users.add_user(s, actor, "minh", "editor", "password1", scope="Atlantis")


def test_only_admins_add_users_and_only_within_their_scope(factory, actor, ha_tinh):
    with transaction(factory) as s:
        users.add_user(s, actor, "admin.xa", "admin", "password1", scope="18073")
        users.add_user(s, actor, "lan", "editor", "password1", scope="42")
    with factory() as s:
        editor = users.authenticate(s, "lan", "password1")
        local_admin = users.authenticate(s, "admin.xa", "password1")
    with pytest.raises(PermissionDenied), transaction(factory) as s:
        users.add_user(s, editor, "minh", "editor", "password1", scope="18073")
    with pytest.raises(PermissionDenied, match="ngoài phạm vi"), transaction(factory) as s:
        users.add_user(s, local_admin, "minh", "editor", "password1", scope="42")
    with transaction(factory) as s:
        users.add_user(s, local_admin, "minh", "operator", "password1", scope="18073")


def test_set_password(factory, actor):
    with transaction(factory) as s:
        users.add_user(s, actor, "lan", "editor", "password1")
    with transaction(factory) as s:
        users.set_password(s, actor, "lan", "password2")
    with factory() as s:
        users.authenticate(s, "lan", "password2")
        with pytest.raises(PermissionDenied):
            users.authenticate(s, "lan", "password1")
