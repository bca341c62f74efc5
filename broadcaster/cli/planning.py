"""``broadcaster plan`` and ``broadcaster slots``: the rolling plan of airings."""

from __future__ import annotations

from datetime import date

import click
from sqlalchemy import func, select

from broadcaster.cli.context import AppContext, echo_json, echo_table, pass_app, progress_bar
from broadcaster.days import parse_day
from broadcaster.errors import Words
from broadcaster.models import Station
from broadcaster.planning import plan
from broadcaster.services.slots import station_day

STATUS_VI = {
    "planned": "đã xếp",
    "unplaced": "KHÔNG XẾP ĐƯỢC",
    "aired": "đã phát",
    "missed": "bị lỡ",
    "cancelled": "đã hủy",
}
KIND_VI = {  # services.slots.ItemKind
    "relay": "tiếp âm",
    "recording": "ghi âm",
    "speech": "tin đọc máy",
    "emergency": "khẩn cấp",
}


@click.command("plan")
@click.option(
    "--days",
    default=14,
    show_default=True,
    type=click.IntRange(1, 120),
    help="Số ngày lập lịch trước (làm tròn lên hết tuần).",
)
@pass_app
def plan_cmd(app: AppContext, days: int) -> None:
    """Lập lịch phát cho mọi chiến dịch đang chạy (chạy lại an toàn)."""
    with app.session() as session:
        total = (
            session.scalar(
                select(func.count()).select_from(Station).where(Station.active.is_(True))
            )
            or 0
        )
        with progress_bar(total, "Lập lịch") as bar:
            report = plan(session, days=days, tz=app.settings.tz, progress=bar.update)
    click.echo(
        f"Lịch {report.first_day:%d/%m/%Y}–{report.last_day:%d/%m/%Y}: {report.created} mới, "
        f"{report.updated} thay đổi, {report.cancelled} hủy, {report.unchanged} giữ nguyên, "
        f"{len(report.unplaced)} không xếp được."
    )
    for u in report.unplaced[:20]:
        click.echo(
            f"  không xếp được: đài {u.station_code}, chiến dịch {u.campaign_id}, "
            f"{u.occurrence}: {u.reason}"
        )
    if len(report.unplaced) > 20:
        click.echo(f"  … và {len(report.unplaced) - 20} lượt khác (xem: broadcaster slots list).")


def _parse_day(value: str | None, app: AppContext) -> date:
    if not value:
        return app.settings.today()
    return parse_day(value, Words("Ngày"), field="day")


@click.group("slots")
def slots_group() -> None:
    """Lịch phát đã lập của từng đài."""


@slots_group.command("list")
@click.option("--station", required=True, help="Mã đài.")
@click.option("--date", "day", help="Ngày (YYYY-MM-DD hoặc DD/MM/YYYY); mặc định hôm nay.")
@click.option("--json", "as_json", is_flag=True, help="In ra JSON.")
@pass_app
def slots_list_cmd(app: AppContext, station: str, day: str | None, as_json: bool) -> None:
    """Các lượt phát của một đài trong một ngày (và lượt không xếp được của tuần)."""
    when = _parse_day(day, app)
    with app.session() as session:
        rows = station_day(session, station, when, app.settings.tz)
    if as_json:
        echo_json(rows)
        return
    tz = app.settings.tz
    echo_table(
        ["Giờ", "Loại", "Chiến dịch", "Tin bài", "Thời lượng", "Trạng thái", "Âm thanh"],
        [
            (
                r.planned_start.astimezone(tz).strftime("%H:%M") if r.planned_start else "—",
                KIND_VI.get(r.kind, r.kind),
                r.campaign or ("khẩn cấp" if r.kind == "emergency" else ""),
                r.title,
                f"{r.duration_ms / 1000:.0f} giây",
                STATUS_VI.get(r.status, r.status),
                # a relay has no file: the player opens the stream
                "luồng trực tiếp"
                if r.kind == "relay"
                else ("sẵn sàng" if r.audio_ready else "chưa có"),
            )
            for r in rows
        ],
    )
    click.echo(f"({len(rows)} lượt, đài {station}, ngày {when:%d/%m/%Y})")


def register(main: click.Group) -> None:
    main.add_command(plan_cmd)
    main.add_command(slots_group)
