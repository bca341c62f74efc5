"""``broadcaster stations``: commune radio stations (đài truyền thanh)."""

from __future__ import annotations

import click
from sqlalchemy import func, select

from broadcaster.cli.context import (
    AppContext,
    acting,
    echo_json,
    echo_table,
    pass_app,
    progress_bar,
    user_options,
)
from broadcaster.models import AdminUnit
from broadcaster.services import health, tokens, voices
from broadcaster.services import stations as svc
from broadcaster.services.audit import system_actor
from broadcaster.services.units import COMMUNE_LEVEL, get_unit

VOICE_HELP = "Giọng đọc, dạng bộ-máy:giọng (vd. fptai:linhsan); xem: broadcaster tts engines."


@click.group("stations")
def stations_group() -> None:
    """Đài truyền thanh: mỗi xã/phường một đài, với các khung giờ phát."""


@stations_group.command("import")
@click.option("--province", help="Tỉnh (tên hoặc mã); bỏ trống: mọi xã đã nạp.")
@click.option(
    "--windows",
    default=svc.DEFAULT_WINDOWS,
    show_default=True,
    help="Khung giờ phát mặc định, giờ địa phương.",
)
@pass_app
def import_cmd(app: AppContext, province: str | None, windows: str) -> None:
    """Tạo một đài cho mỗi xã/phường chưa có đài (chạy lại an toàn)."""
    with app.session() as session:
        stmt = select(func.count()).select_from(AdminUnit).where(AdminUnit.level == COMMUNE_LEVEL)
        if province:
            stmt = stmt.where(
                AdminUnit.path.startswith(get_unit(session, province, field="province").path)
            )
        total = session.scalar(stmt) or 0
        with progress_bar(total, "Tạo đài truyền thanh") as bar:
            result = svc.import_stations(
                session, system_actor(), province, windows, progress=bar.update
            )
    click.echo(
        f"{result.communes} xã/phường: tạo {result.created} đài mới, {result.existing} đã có đài."
    )


@stations_group.command("add")
@click.option("--unit", required=True, help="Xã/phường của đài (mã hoặc tên).")
@click.option("--code", help="Mã đài; mặc định là mã xã.")
@click.option("--name", help="Tên đài; mặc định 'Đài truyền thanh <xã>'.")
@click.option("--windows", default=svc.DEFAULT_WINDOWS, show_default=True, help="Khung giờ phát.")
@click.option("--voice", help=VOICE_HELP)
@pass_app
def add_cmd(app: AppContext, unit: str, code: str | None, name: str | None, windows, voice) -> None:
    """Thêm một đài."""
    with app.session() as session:
        info = svc.add_station(session, system_actor(), unit, code, name, windows)
        if voice:
            voices.set_station_voice(session, system_actor(), app.settings.audio, info.code, voice)
    click.echo(f"Đã thêm đài {info.code}: {info.name} ({', '.join(map(str, info.windows))}).")


@stations_group.command("voice")
@click.argument("code")
@click.argument("voice", required=False, default="")
@pass_app
def voice_cmd(app: AppContext, code: str, voice: str) -> None:
    """Giọng đọc bà con ở đài CODE nghe (thay giọng chiến dịch chọn), dạng bộ-máy:giọng, ví dụ
    fptai:linhsan; bỏ trống: mặc định. Xem các giọng: broadcaster tts engines."""
    with app.session() as session:
        chosen = voices.set_station_voice(session, system_actor(), app.settings.audio, code, voice)
    click.echo(f"Đài {code}: giọng đọc {chosen or 'mặc định'}.")


@stations_group.command("list")
@click.option("--unit", help="Chỉ các đài thuộc đơn vị này (mã hoặc tên).")
@click.option("--json", "as_json", is_flag=True, help="In ra JSON.")
@pass_app
def list_cmd(app: AppContext, unit: str | None, as_json: bool) -> None:
    """Liệt kê đài."""
    with app.session() as session:
        rows = svc.list_stations(session, unit)
    if as_json:
        echo_json(rows)
        return
    echo_table(
        ["Mã", "Tên đài", "Khung giờ", "Hoạt động"],
        [
            (s.code, s.name, ", ".join(map(str, s.windows)), "có" if s.active else "không")
            for s in rows
        ],
    )
    click.echo(f"({len(rows)} đài)")


@stations_group.command("show")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="In ra JSON.")
@pass_app
def show_cmd(app: AppContext, code: str, as_json: bool) -> None:
    """Xem một đài."""
    with app.session() as session:
        s = svc.get_station(session, code)
    if as_json:
        echo_json(s)
        return
    click.echo(f"Mã đài:     {s.code}")
    click.echo(f"Tên đài:    {s.name}")
    click.echo(f"Đơn vị:     {s.unit_name} ({s.unit_code})")
    click.echo(f"Hoạt động:  {'có' if s.active else 'không'}")
    for w in s.windows:
        click.echo(f"Khung giờ:  {w} ({w.minutes} phút, giờ {app.settings.timezone})")


@stations_group.command("windows")
@click.argument("code")
@click.argument("windows")
@click.option("--no-plan", is_flag=True, help="Không lập lịch lại ngay; bộ lập lịch sẽ làm sau.")
@pass_app
def windows_cmd(app: AppContext, code: str, windows: str, no_plan: bool) -> None:
    """Đặt lại khung giờ phát của đài CODE, ví dụ "05:30-05:45,17:00-17:45"."""
    from broadcaster.planning import plan

    with app.session() as session:
        info = svc.set_windows(session, system_actor(), code, windows)
        report = None if no_plan else plan(session, tz=app.settings.tz)
    click.echo(f"Đài {info.code}: khung giờ {', '.join(map(str, info.windows))}.")
    if report is not None:
        click.echo(
            f"Đã lập lịch lại: {report.created} mới, {report.updated} thay đổi, "
            f"{report.cancelled} hủy, {len(report.unplaced)} không xếp được."
        )


@stations_group.group("token")
def token_group() -> None:
    """Mã truy cập của đài (cho máy phát/agent): cấp, đổi, thu hồi."""


_LINK_HELP = (
    "Liên kết danh sách phát (cho VLC, liquidsoap, bộ điều khiển loa IP: không gửi được "
    "mã trong tiêu đề) thay cho mã truy cập."
)


def link_urls(app: AppContext, secret: str) -> list[str]:
    """The playlist link's URLs (with BROADCASTER_PUBLIC_URL when set)."""
    base = (app.settings.public_url or "http://MÁY-CHỦ:5000").rstrip("/")
    return [f"{base}/api/v1/links/{secret}/playlist.{fmt}" for fmt in ("m3u8", "xspf")]


@token_group.command("issue")
@click.argument("code")
@click.option(
    "--keep-old",
    is_flag=True,
    help="Giữ mã cũ còn hiệu lực (đổi mã có thời gian chuyển tiếp); mặc định thu hồi mã cũ.",
)
@click.option("--link", is_flag=True, help=_LINK_HELP)
@user_options(required=False)
@pass_app
def token_issue_cmd(
    app: AppContext,
    code: str,
    keep_old: bool,
    link: bool,
    username: str | None,
    password: str | None,
) -> None:
    """Cấp mã truy cập (hoặc liên kết danh sách phát) mới cho đài CODE; chỉ hiện MỘT lần."""
    with app.session() as session:
        actor = acting(session, username, password, required=False)
        issued = tokens.issue(session, actor, code, keep_old=keep_old, link=link)
    what = "liên kết danh sách phát" if link else "mã truy cập"
    if issued.revoked:
        old = "liên kết" if link else "mã"
        click.echo(f"Đã thu hồi {issued.revoked} {old} cũ của đài {code}.", err=True)
    click.echo(f"{what.capitalize()} mới của đài {code} (chỉ hiện một lần):", err=True)
    if not link:
        click.echo(issued.token)
        return
    for url in link_urls(app, issued.token):
        click.echo(url)
    if not app.settings.public_url:
        click.echo(
            "Thay MÁY-CHỦ:5000 bằng địa chỉ các đài dùng để tới máy chủ "
            "(hoặc đặt BROADCASTER_PUBLIC_URL).",
            err=True,
        )


@token_group.command("revoke")
@click.argument("code")
@click.option("--prefix", help="Chỉ thu hồi mã bắt đầu bằng chuỗi này (xem 'token list').")
@click.option("--link", "kind", flag_value="link", help="Chỉ các liên kết danh sách phát.")
@click.option("--header", "kind", flag_value="header", help="Chỉ các mã truy cập của agent.")
@user_options(required=False)
@pass_app
def token_revoke_cmd(
    app: AppContext,
    code: str,
    prefix: str | None,
    kind: str | None,
    username: str | None,
    password: str | None,
) -> None:
    """Thu hồi mã truy cập và liên kết của đài CODE (tất cả, một loại, hoặc theo --prefix)."""
    with app.session() as session:
        actor = acting(session, username, password, False)
        count = tokens.revoke(session, actor, code, prefix, kind=kind)
    click.echo(f"Đã thu hồi {count} mã truy cập/liên kết của đài {code}.")


@token_group.command("list")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="In ra JSON.")
@pass_app
def token_list_cmd(app: AppContext, code: str, as_json: bool) -> None:
    """Các mã truy cập của đài CODE (chỉ phần đầu; mã đầy đủ không được lưu)."""
    with app.session() as session:
        rows = tokens.list_tokens(session, code)
    if as_json:
        echo_json(rows)
        return
    echo_table(
        ["Phần đầu", "Loại", "Cấp lúc", "Người cấp", "Dùng lần cuối", "Số lần", "Thu hồi"],
        [
            (
                t.prefix,
                "liên kết" if t.kind == "link" else "mã",
                app.local(t.created_at),
                t.created_by,
                app.local(t.last_used_at),
                str(t.uses) if t.kind == "link" else "",
                app.local(t.revoked_at) if t.revoked_at else "còn hiệu lực",
            )
            for t in rows
        ],
    )


@stations_group.command("health")
@click.option("--unit", help="Chỉ các đài thuộc đơn vị này (mã hoặc tên).")
@click.option("--offline", is_flag=True, help="Chỉ các đài mất liên lạc.")
@click.option("--json", "as_json", is_flag=True, help="In ra JSON.")
@pass_app
def health_cmd(app: AppContext, unit: str | None, offline: bool, as_json: bool) -> None:
    """Tình trạng kết nối các đài (nhịp tim của máy phát): lần cuối liên lạc, phiên bản…"""
    with app.session() as session:
        path = get_unit(session, unit, field="unit").path if unit else None
        rows = health.station_health(session, unit_path=path, offline_only=offline)
    if as_json:
        echo_json(rows)
        return
    echo_table(
        [
            "Mã đài",
            "Tên đài",
            "Trạng thái",
            "Chờ tin khẩn",
            "Liên lạc cuối",
            "Phiên bản",
            "Lệch (s)",
        ],
        [
            (
                h.station_code,
                h.station_name,
                "trực tuyến" if h.online else "mất liên lạc",
                "đang kết nối" if h.connected else "—",
                app.local(h.last_seen_at),
                h.agent_version or "—",
                "—" if h.clock_drift_s is None else f"{h.clock_drift_s:+.1f}",
            )
            for h in rows
        ],
    )
    down = sum(not h.online for h in rows)
    waiting = sum(h.connected for h in rows)
    click.echo(
        f"{len(rows)} đài, {down} mất liên lạc (quá {health.OFFLINE_AFTER} không có nhịp tim), "
        f"{waiting} đang kết nối chờ tin khẩn cấp."
    )


def register(main: click.Group) -> None:
    main.add_command(stations_group)
