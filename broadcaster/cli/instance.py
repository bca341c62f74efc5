"""``broadcaster init | quickstart | serve | status``: setting up and running an instance."""

from __future__ import annotations

import signal
from pathlib import Path

import click

from broadcaster.cli.context import AppContext, echo_json, pass_app, progress_bar
from broadcaster.db import schema_revision
from broadcaster.services import scripts as scripts_svc
from broadcaster.services import stations as stations_svc
from broadcaster.services import units as units_svc
from broadcaster.services.audit import system_actor
from broadcaster.services.instance import FIRST_ADMIN, ensure_first_admin, status

DEMO_PROVINCE = "Hà Tĩnh"


@click.command("init")
@pass_app
def init_cmd(app: AppContext) -> None:
    """Tạo hoặc nâng cấp cơ sở dữ liệu (chạy lại an toàn)."""
    engine = app.engine  # opening it applies the migrations
    click.echo(
        f"Cơ sở dữ liệu sẵn sàng: {engine.url.render_as_string(hide_password=True)} "
        f"(lược đồ {schema_revision(engine)})."
    )


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="In ra JSON.")
@pass_app
def status_cmd(app: AppContext, as_json: bool) -> None:
    """Tóm tắt: số đơn vị, đài, người dùng, tin bài."""
    with app.session() as session:
        s = status(session)
    if as_json:
        echo_json(s)
        return
    click.echo(f"Tỉnh/thành phố: {s.provinces}   xã/phường/đặc khu: {s.communes}")
    click.echo(f"Đài truyền thanh: {s.stations} ({s.active_stations} đang hoạt động)")
    click.echo(f"Người dùng: {s.users}")
    click.echo(
        "Tin bài: "
        + (", ".join(f"{k} {v}" for k, v in sorted(s.scripts_by_state.items())) or "chưa có")
    )
    click.echo(
        f"Đài đang liên lạc: {s.stations_online}/{s.active_stations}   "
        f"báo cáo phát 7 ngày qua: {s.airings_7d}"
    )


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--threads",
    default=8,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Luồng trả lời yêu cầu (trang quản trị, danh sách phát, tải âm thanh, báo cáo).",
)
@click.option(
    "--max-waiting",
    default=None,
    type=click.IntRange(1, 100_000),
    help="Số đài chờ tin khẩn cấp cùng lúc tối đa (mặc định 10000; chờ không giữ luồng nào).",
)
@click.option(
    "--scheduler/--no-scheduler",
    default=True,
    help="Chạy cả bộ lập lịch trong tiến trình này (mặc định có).",
)
@pass_app
def serve_cmd(
    app: AppContext, host: str, port: int, threads: int, max_waiting: int | None, scheduler: bool
) -> None:
    """Chạy máy chủ web tại http://HOST:PORT, kèm bộ lập lịch."""
    _serve(app, host, port, threads, scheduler, max_waiting)


def _serve(
    app: AppContext,
    host: str,
    port: int,
    threads: int,
    scheduler: bool = True,
    max_waiting: int | None = None,
) -> None:
    """The web app and, by default, the scheduler in the same process.

    uvicorn runs the Flask app in a pool of ``threads``; stations waiting for an
    emergency wait on its event loop and hold none of them (webapp/asgi.py).
    """
    import uvicorn

    from broadcaster.cli.scheduler import configure_logging
    from broadcaster.scheduler import SchedulerService
    from broadcaster.webapp import create_app, freeze_startup_objects
    from broadcaster.webapp.asgi import DEFAULT_CAPACITY, StationFront

    configure_logging(app.settings.tz)
    flask_app = create_app(app.settings)
    front = StationFront(flask_app, workers=threads, capacity=max_waiting or DEFAULT_CAPACITY)
    freeze_startup_objects()
    service = SchedulerService(app.settings) if scheduler else None
    if service is not None:
        service.start_in_background()
    click.echo(f"Đang phục vụ tại http://{host}:{port} — nhấn Ctrl+C để dừng.")
    click.echo(f"Trang quản trị: http://{host}:{port}/login (đăng nhập bằng tài khoản đã tạo).")
    config = uvicorn.Config(
        front,
        host=host,
        port=port,
        lifespan="off",
        access_log=False,
        log_level="warning",
        # uvicorn's own lines go through the product's handler: local time, one format
        log_config=None,
        timeout_keep_alive=75,  # past the agents' 50 s long-poll: one connection each
        server_header=False,
        # the client's address is the connection's: forwarded headers are trusted only
        # through the configured proxy hops, not by uvicorn on its own
        proxy_headers=False,
    )
    # uvicorn stops on Ctrl-C / SIGTERM and then raises the signal again for whoever
    # handled it before; handled here, a stop is a clean exit (status 0), not a traceback
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: None)
    try:
        uvicorn.Server(config).run()
    finally:  # stop the jobs cleanly too
        if service is not None:
            service.stop()


@click.command("quickstart")
@click.option(
    "--province",
    default=DEMO_PROVINCE,
    show_default=True,
    help="Tỉnh nạp làm dữ liệu mẫu (tên hoặc mã).",
)
@click.option(
    "--scripts-dir",
    type=click.Path(path_type=Path),
    default=Path("scripts"),
    show_default=True,
    help="Thư mục thư viện tin bài.",
)
@click.option("--serve/--no-serve", default=True, help="Chạy máy chủ web sau khi cài đặt.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@pass_app
def quickstart_cmd(
    app: AppContext, province: str, scripts_dir: Path, serve: bool, host: str, port: int
) -> None:
    """Cài đặt nhanh: CSDL, đơn vị và đài của một tỉnh, thư viện tin bài, quản trị viên, web."""
    actor = system_actor()
    click.echo(f"Cơ sở dữ liệu: {app.engine.url.render_as_string(hide_password=True)}")
    with app.session() as session:
        total = units_svc.official_total(province)
        with progress_bar(total, "Nạp đơn vị hành chính") as bar:
            units = units_svc.import_units(session, actor, province, progress=bar.update)
        stations = stations_svc.import_stations(session, actor, province)
        imported = None
        if scripts_dir.is_dir():
            owner = units_svc.resolve_province(province).code
            imported = scripts_svc.import_library(session, actor, scripts_dir, unit=owner)
        password = ensure_first_admin(session, actor)
    click.echo(
        f"Đơn vị hành chính: tỉnh và {units.communes} xã/phường "
        f"({units.created} đơn vị mới thêm). "
        f"Đài: {stations.created} mới, {stations.existing} đã có."
    )
    if imported is not None:
        click.echo(
            f"Tin bài: {len(imported.created)} mới, {len(imported.versioned)} phiên bản mới, "
            f"{len(imported.unchanged)} không đổi."
        )
    else:
        click.echo(f"Không thấy thư mục tin bài '{scripts_dir}'; bỏ qua.")
    if password:
        click.echo("")
        click.echo("Tài khoản quản trị đầu tiên (chỉ hiện MỘT lần, hãy ghi lại):")
        click.echo(f"  tên đăng nhập: {FIRST_ADMIN}")
        click.echo(f"  mật khẩu:      {password}")
        click.echo("")
    if serve:
        _serve(app, host, port, threads=8)


def register(main: click.Group) -> None:
    for command in (init_cmd, quickstart_cmd, serve_cmd, status_cmd):
        main.add_command(command)
