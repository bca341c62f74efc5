"""``broadcaster users``: accounts, roles and scopes."""

from __future__ import annotations

import click

from broadcaster.cli.context import (
    AppContext,
    echo_json,
    echo_table,
    interactive,
    pass_app,
    password_option,
    read_password,
)
from broadcaster.models import Role
from broadcaster.services import users as svc
from broadcaster.services.audit import system_actor


@click.group("users")
def users_group() -> None:
    """Người dùng: vai trò và phạm vi (một nhánh của cây đơn vị hành chính)."""


@users_group.command("add")
@click.argument("username")
@click.option(
    "--role",
    required=True,
    type=click.Choice([r.value for r in Role], case_sensitive=False),
    help="admin, editor (soạn tin), approver (duyệt), operator (đài xã), auditor (kiểm tra).",
)
@click.option("--scope", help="Phạm vi: mã hoặc tên tỉnh, xã (vd 42, 'Hà Tĩnh', 18073).")
@click.option("--nationwide", is_flag=True, help="Phạm vi toàn quốc (thay cho --scope).")
@click.option("--full-name", default="", help="Họ và tên.")
@password_option("Mật khẩu; bỏ trống khi không có bàn phím: tạo ngẫu nhiên và in ra một lần.")
@pass_app
def add_cmd(
    app: AppContext,
    username: str,
    role: str,
    scope: str | None,
    nationwide: bool,
    full_name: str,
    password: str,
) -> None:
    """Thêm người dùng (phạm vi: --scope một tỉnh hay xã, hoặc --nationwide)."""
    if nationwide == bool(scope):  # a forgotten --scope is never a nationwide user
        raise click.UsageError(
            "Cho biết phạm vi: --scope <tỉnh hoặc xã> hoặc --nationwide (toàn quốc), một trong hai."
        )
    generated = False
    if not password:
        if interactive():
            password = read_password(None, f"Mật khẩu cho {username}", confirm=True)
        else:
            password, generated = svc.generate_password(), True
    with app.session() as session:
        info = svc.add_user(session, system_actor(), username, role, password, scope, full_name)
    where = f"{info.scope_name} ({info.scope_code})" if info.scope_code else "toàn quốc"
    click.echo(f"Đã thêm '{info.username}', vai trò {info.role.value}, phạm vi {where}.")
    if generated:
        click.echo(f"Mật khẩu (chỉ hiện một lần): {password}")


@users_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="In ra JSON.")
@pass_app
def list_cmd(app: AppContext, as_json: bool) -> None:
    """Liệt kê người dùng."""
    with app.session() as session:
        rows = svc.list_users(session)
    if as_json:
        echo_json(rows)
        return
    echo_table(
        ["Tên đăng nhập", "Họ tên", "Vai trò", "Phạm vi", "Hoạt động"],
        [
            (
                u.username,
                u.full_name,
                u.role.value,
                u.scope_name or "toàn quốc",
                "có" if u.active else "không",
            )
            for u in rows
        ],
    )


@users_group.command("passwd")
@click.argument("username")
@password_option("Mật khẩu mới (hoặc biến BROADCASTER_PASSWORD).")
@pass_app
def passwd_cmd(app: AppContext, username: str, password: str | None) -> None:
    """Đặt mật khẩu mới cho người dùng."""
    password = read_password(password, f"Mật khẩu mới cho {username}", confirm=True)
    with app.session() as session:
        svc.set_password(session, system_actor(), username, password)
    click.echo(f"Đã đổi mật khẩu cho '{username}'.")


def register(main: click.Group) -> None:
    main.add_command(users_group)
