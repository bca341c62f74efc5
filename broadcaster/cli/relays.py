"""``broadcaster relays``: relay sources (nguồn tiếp âm) — the live streams stations relay."""

from __future__ import annotations

import sys

import click

from broadcaster.cli.context import (
    AppContext,
    acting,
    echo_json,
    echo_table,
    pass_app,
    user_options,
)
from broadcaster.relays.check import DEFAULT_TIMEOUT
from broadcaster.services import relays as svc


@click.group("relays")
def relays_group() -> None:
    """Nguồn tiếp âm: luồng phát trực tiếp (VOV1, đài tỉnh) mà các đài tiếp âm theo lịch."""


def _state(app: AppContext, info: svc.RelaySourceInfo) -> str:
    if not info.active:
        return "ngừng dùng"
    if info.checked_at is None:
        return "chưa kiểm tra"
    if info.check_ok:
        return f"tốt ({app.local(info.checked_at)})"
    return f"LỖI từ {app.local(info.failing_since or info.checked_at)}: {info.reason()}"


def _plain(info: svc.RelaySourceInfo) -> dict:
    return {
        "id": info.id,
        "name": info.name,
        "url": info.url_shown,
        "backup_url": info.backup_shown,
        "backup_script": info.backup_script_slug,
        "unit": info.unit_code,
        "active": info.active,
        "checked_at": info.checked_at,
        "check_ok": info.check_ok,
        "check": info.reason(),
        "failing_since": info.failing_since,
    }


@relays_group.command("list")
@click.option("--unit", help="Chỉ các nguồn mà đơn vị này thấy (mã hoặc tên).")
@click.option("--json", "as_json", is_flag=True, help="In ra JSON.")
@pass_app
def list_cmd(app: AppContext, unit: str | None, as_json: bool) -> None:
    """Liệt kê nguồn tiếp âm và kết quả kiểm tra gần nhất (địa chỉ không kèm mật khẩu)."""
    from broadcaster.services.units import get_unit

    with app.session() as session:
        path = get_unit(session, unit, field="unit").path if unit else None
        rows = svc.list_sources(session, path)
    if as_json:
        echo_json([_plain(r) for r in rows])
        return
    echo_table(
        ["ID", "Tên", "Địa chỉ", "Đơn vị", "Kiểm tra"],
        [(r.id, r.name, r.url_shown, r.unit_code or "toàn quốc", _state(app, r)) for r in rows],
    )


@relays_group.command("add")
@click.argument("name")
@click.option("--url", required=True, help="Địa chỉ luồng, http:// hoặc https://.")
@click.option("--backup-url", help="Luồng dự phòng (không bắt buộc).")
@click.option("--backup-script", help="Tin bài đã duyệt phát khi cả hai luồng mất (mã tin bài).")
@click.option("--unit", help="Đơn vị quản lý (mã hoặc tên); bỏ trống: toàn quốc.")
@user_options(required=False)
@pass_app
def add_cmd(app: AppContext, name, url, backup_url, backup_script, unit, username, password):
    """Thêm một nguồn tiếp âm."""
    with app.session() as session:
        actor = acting(session, username, password, False)
        info = svc.add_source(
            session,
            actor,
            name=name,
            url=url,
            backup_url=backup_url,
            backup_script=backup_script,
            unit=unit,
            policy=app.settings.relay_allow_private,
        )
    click.echo(f"Đã thêm nguồn tiếp âm #{info.id} {info.name}: {info.url_shown}")


@relays_group.command("edit")
@click.argument("source")
@click.option("--name", help="Tên mới.")
@click.option("--url", help="Địa chỉ luồng mới.")
@click.option("--backup-url", help="Luồng dự phòng mới ('' để bỏ).")
@click.option("--backup-script", help="Tin bài dự phòng mới ('' để bỏ).")
@click.option("--unit", help="Đơn vị quản lý mới (mã hoặc tên).")
@click.option("--nationwide", is_flag=True, help="Chuyển thành nguồn toàn quốc.")
@click.option("--active/--inactive", default=None, help="Dùng lại / ngừng dùng.")
@user_options(required=False)
@pass_app
def edit_cmd(
    app: AppContext,
    source,
    name,
    url,
    backup_url,
    backup_script,
    unit,
    nationwide,
    active,
    username,
    password,
):
    """Sửa nguồn tiếp âm SOURCE (tên hoặc số ID)."""
    changes: dict = {}
    if backup_url is not None:
        changes["backup_url"] = backup_url
    if backup_script is not None:
        changes["backup_script"] = backup_script
    if nationwide:
        changes["unit"] = None
    elif unit is not None:
        changes["unit"] = unit
    with app.session() as session:
        actor = acting(session, username, password, False)
        info = svc.edit_source(
            session,
            actor,
            source,
            name=name,
            url=url,
            active=active,
            policy=app.settings.relay_allow_private,
            **changes,
        )
    click.echo(f"Đã lưu nguồn tiếp âm #{info.id} {info.name}.")


@relays_group.command("remove")
@click.argument("source")
@user_options(required=False)
@pass_app
def remove_cmd(app: AppContext, source, username, password):
    """Ngừng dùng nguồn tiếp âm SOURCE (giữ lại cho nhật ký phát; dùng lại: edit --active)."""
    with app.session() as session:
        actor = acting(session, username, password, False)
        info = svc.deactivate_source(session, actor, source)
    click.echo(f"Đã ngừng dùng nguồn tiếp âm #{info.id} {info.name}.")


@relays_group.command("check")
@click.argument("sources", nargs=-1)
@click.option(
    "--due", is_flag=True, help="Chỉ các nguồn sắp phát hoặc chưa kiểm tra (như lịch tự động)."
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.5, 120),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Chờ tối đa bao nhiêu giây mỗi lần kết nối hay đọc.",
)
@user_options(required=False)
@pass_app
def check_cmd(app: AppContext, sources, due, timeout, username, password):
    """Kiểm tra nguồn tiếp âm (SOURCES; bỏ trống: mọi nguồn đang dùng). Thoát với mã 1
    khi có nguồn lỗi."""
    policy = app.settings.relay_allow_private
    with app.session() as session:
        actor = acting(session, username, password, False)
        if due:
            summary = svc.check_due(session, timeout=timeout, policy=policy)
            click.echo(summary.say())
            failing = summary.failing
        else:
            names = sources or [s.id for s in svc.list_sources(session, include_inactive=False)]
            failing = 0
            for ref in names:
                info = svc.check_now(session, actor, ref, timeout=timeout, policy=policy)
                click.echo(f"{info.name}: {_state(app, info)}")
                failing += not info.check_ok
    if failing:
        sys.exit(1)


def register(main: click.Group) -> None:
    main.add_command(relays_group)
