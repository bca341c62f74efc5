"""``broadcaster emergency``: tin khẩn cấp — storm, flood, fire, epidemic — sent at once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from broadcaster.cli.context import (
    AppContext,
    acting,
    echo_json,
    echo_table,
    pass_app,
    progress_bar,
    user_options,
)
from broadcaster.errors import InvalidInput
from broadcaster.services import emergency as svc
from broadcaster.services import emergency_progress as progress

STATUS_VI = {
    "waiting": "chưa nhận",
    "picked_up": "đã nhận",
    "aired": "đã phát",
    "partial": "phát dở",
    "failed": "lỗi",
    "skipped": "bỏ qua",
    "missed": "quá hạn, chưa phát",
    "cancelled": "đã hủy",
}


@click.group("emergency")
def emergency_group() -> None:
    """Tin khẩn cấp: phát ngay, ngắt chương trình đang phát."""


@emergency_group.command("send")
@click.option("--title", required=True, help="Tiêu đề, vd 'Bão số 5 đổ bộ'.")
@click.option("--text", "body", help="Nội dung cần đọc.")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--unit", "units", multiple=True, required=True, help="Đơn vị nhận (lặp lại được).")
@click.option("--repeat", type=click.IntRange(1, svc.MAX_REPEAT), default=1, show_default=True)
@click.option(
    "--expires",
    type=click.IntRange(5, 24 * 60),
    default=120,
    show_default=True,
    help="Sau bao nhiêu phút thì thôi phát nếu đài chưa phát được.",
)
@click.option(
    "--again",
    is_flag=True,
    help="Gửi dù cùng tin vừa được gửi tới các đơn vị này (trong 10 phút).",
)
@user_options(required=True)
@pass_app
def send_cmd(
    app: AppContext,
    title: str,
    body: str | None,
    file: Path | None,
    units: tuple[str, ...],
    repeat: int,
    expires: int,
    again: bool,
    username: str | None,
    password: str | None,
) -> None:
    """Gửi tin khẩn cấp tới mọi đài thuộc các đơn vị --unit, phát ngay."""
    from broadcaster.services.audio import renderer_for

    if (body is None) == (file is None):
        raise InvalidInput("Cho nội dung bằng --text hoặc --file (một trong hai).")
    if file is not None:
        try:
            body = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("{path}: không phải văn bản UTF-8.", path=str(file)) from None
    renderer = renderer_for(app.settings)
    with app.session() as session:
        actor = acting(session, username, password, required=True)
        # a repeat of a moment ago is refused about "again": the message ends "(--again)"
        info = svc.send(
            session,
            actor,
            renderer,
            title=title,
            body=body or "",
            unit_codes=list(units),
            repeat=repeat,
            expires_in=timedelta(minutes=expires),
            again=again,
        )
    with app.session() as session:
        connected = progress.connected_count(session, info.id, None)
    click.echo(
        f"Đã gửi tin khẩn cấp số {info.id} tới {info.stations} đài "
        f"(phát {info.repeat} lần, hết hạn {app.local(info.expires_at)})."
    )
    click.echo(
        f"{connected} đài đang kết nối nhận được ngay; các đài khác nhận khi tải danh sách phát."
    )
    if info.personal:
        click.echo("Bản đọc chung đã gửi; đang đọc tên riêng của từng xã…")
        with progress_bar(info.stations, "Đọc tên từng xã") as bar:
            done = svc.personalise(app.sessions, renderer, info.id, progress=bar.update)
        click.echo(
            f"Đã có bản đọc riêng cho {done.done} đài ({done.skipped} đài đã phát bản chung"
            f"{', ' + str(len(done.failed)) + ' lỗi' if done.failed else ''})."
        )
        for problem in done.failed[:10]:
            click.echo(f"  lỗi: {problem}", err=True)


@emergency_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="In ra JSON.")
@pass_app
def list_cmd(app: AppContext, as_json: bool) -> None:
    """Các tin khẩn cấp gần đây."""
    with app.session() as session:
        rows = svc.list_emergencies(session)
    if as_json:
        echo_json(rows)
        return
    echo_table(
        ["Số", "Tiêu đề", "Gửi lúc", "Người gửi", "Đài", "Hết hạn", "Hủy"],
        [
            (
                e.id,
                e.title,
                app.local(e.created_at),
                e.created_by,
                e.stations,
                app.local(e.expires_at),
                app.local(e.cancelled_at) if e.cancelled_at else "",
            )
            for e in rows
        ],
    )


@emergency_group.command("status")
@click.argument("emergency_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="In ra JSON.")
@pass_app
def status_cmd(app: AppContext, emergency_id: int, as_json: bool) -> None:
    """Từng đài đã nhận, đã phát tin khẩn cấp EMERGENCY_ID chưa."""
    with app.session() as session:
        info, rows = svc.deliveries(session, emergency_id)
    if as_json:
        echo_json({"emergency": info, "stations": rows})
        return
    click.echo(f"Tin khẩn cấp số {info.id}: {info.title}")
    echo_table(
        ["Đài", "Trạng thái", "Nhận lúc", "Phát lúc", "Sau (giây)"],
        [
            (
                d.station_code,
                STATUS_VI.get(d.status, d.status),
                app.local(d.picked_up_at),
                app.local(d.aired_at),
                f"{(d.aired_at - info.created_at).total_seconds():.0f}" if d.aired_at else "",
            )
            for d in rows
        ],
    )
    aired = sum(d.status == "aired" for d in rows)
    click.echo(f"{aired}/{len(rows)} đài đã phát.")


@emergency_group.command("cancel")
@click.argument("emergency_id", type=int)
@user_options(required=True)
@pass_app
def cancel_cmd(app: AppContext, emergency_id: int, username: str | None, password: str | None):
    """Hủy tin khẩn cấp: đài chưa phát sẽ không phát nữa."""
    with app.session() as session:
        info = svc.cancel(session, acting(session, username, password, True), emergency_id)
    click.echo(f"Đã hủy tin khẩn cấp số {info.id}.")


def register(main: click.Group) -> None:
    main.add_command(emergency_group)
