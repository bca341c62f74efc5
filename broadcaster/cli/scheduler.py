"""``broadcaster scheduler``: the scheduler alone (for deployments with web replicas)."""

from __future__ import annotations

import logging
import signal
from datetime import tzinfo

import click

from broadcaster import logs
from broadcaster.cli.context import AppContext, pass_app


def configure_logging(tz: tzinfo | None = None) -> None:
    """The server's log lines on stderr, stamped in local time with the offset (``tz``, the
    settings' zone); schema checks (the health endpoint asks for the revision) are not news."""
    logs.configure(tz, level=logging.INFO)


@click.command("scheduler")
@click.option(
    "--plan-every",
    default=3600,
    show_default=True,
    type=click.IntRange(1),
    help="Giây giữa hai lần lập lịch.",
)
@click.option(
    "--watchdog-every",
    default=60,
    show_default=True,
    type=click.IntRange(1),
    help="Giây giữa hai lần đánh dấu lượt bị lỡ.",
)
@click.option(
    "--render-every",
    default=600,
    show_default=True,
    type=click.IntRange(1),
    help="Giây giữa hai lần tạo âm thanh cho lượt sắp phát.",
)
@click.option(
    "--standby-poll",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Giây giữa hai lần bộ lập lịch dự phòng thử nhận quyền.",
)
@pass_app
def scheduler_cmd(app: AppContext, plan_every, watchdog_every, render_every, standby_poll) -> None:
    """Chạy bộ lập lịch; trên PostgreSQL chỉ một tiến trình chạy, các tiến trình khác dự phòng."""
    from broadcaster.scheduler import Intervals, SchedulerService

    configure_logging(app.settings.tz)
    service = SchedulerService(
        app.settings, Intervals(plan_every, watchdog_every, render_every, standby_poll)
    )
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: service.stop())
    click.echo("Bộ lập lịch đang chạy — nhấn Ctrl+C để dừng.")
    service.run()
    click.echo("Bộ lập lịch đã dừng.")


def register(main: click.Group) -> None:
    main.add_command(scheduler_cmd)
