"""``broadcaster airings`` and ``broadcaster audit``: the airing log (nhật ký phát), its proof."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

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
from broadcaster.days import check_moment, parse_day
from broadcaster.errors import InvalidInput, Words
from broadcaster.models import AiringStatus, Station
from broadcaster.services import airings, chain

STATUS_VI = {"aired": "đã phát", "partial": "phát dở", "failed": "lỗi", "skipped": "bỏ qua"}


@click.group("airings")
def airings_group() -> None:
    """Nhật ký phát: xác nhận lượt phát bằng tay, xem nhật ký."""


def _at(app: AppContext, value: str | None, slot_day: date) -> datetime | None:
    """'HH:MM' (on the slot's day) or 'YYYY-MM-DD HH:MM', local time."""
    if value is None:
        return None
    tz = app.settings.tz
    try:
        if len(value) <= 5:
            return datetime.combine(slot_day, time.fromisoformat(value), tzinfo=tz)
        moment = datetime.fromisoformat(value).replace(tzinfo=tz)
        return check_moment(moment, Words("Giờ"), field="at")
    except ValueError:
        raise InvalidInput(
            "Giờ '{value}' không hợp lệ: dùng HH:MM hoặc 'YYYY-MM-DD HH:MM' (giờ địa phương).",
            field="at",
            value=value,
        ) from None


@airings_group.command("confirm")
@click.argument("station")
@click.argument("slot_id", type=int)
@click.option(
    "--status",
    type=click.Choice([s.value for s in AiringStatus]),
    default="aired",
    show_default=True,
    help="aired: đã phát; partial: phát dở; failed: không phát được; skipped: bỏ qua.",
)
@click.option("--at", "at", help="Giờ bắt đầu thực tế (HH:MM); mặc định giờ dự kiến.")
@click.option("--minutes", type=click.FloatRange(0, 360), help="Thời lượng đã phát (phút).")
@click.option("--note", help="Ghi chú (vd 'mất điện lúc 17:10').")
@user_options(required=True)
@pass_app
def confirm_cmd(
    app: AppContext,
    station: str,
    slot_id: int,
    status: str,
    at: str | None,
    minutes: float | None,
    note: str | None,
    username: str | None,
    password: str | None,
) -> None:
    """Xác nhận bằng tay lượt phát SLOT_ID của đài STATION (đài không có máy tự động)."""
    from broadcaster.models import Slot

    with app.session() as session:
        actor = acting(session, username, password, required=True)
        slot = session.get(Slot, slot_id)
        planned = slot.planned_start if slot is not None else None
        day = planned.astimezone(app.settings.tz).date() if planned else app.settings.today()
        start = _at(app, at, day)
        end = None
        if minutes is not None and (start or planned) is not None:
            end = (start or planned) + timedelta(minutes=minutes)
        result = airings.confirm(
            session,
            actor,
            station,
            slot_id,
            status=AiringStatus(status),
            started_at=start,
            ended_at=end,
            note=note,
        )
    click.echo(
        f"Đã ghi nhật ký: đài {station}, lượt {slot_id}, {STATUS_VI[status]} "
        f"(dòng số {result.seq}, người xác nhận {username})."
        if result.result == "stored"
        else f"Lượt {slot_id} đã có trong nhật ký (dòng số {result.seq})."
    )


@airings_group.command("list")
@click.option("--station", help="Mã đài.")
@click.option("--from", "day_from", help="Từ ngày (YYYY-MM-DD hoặc DD/MM/YYYY).")
@click.option("--to", "day_to", help="Đến ngày (YYYY-MM-DD hoặc DD/MM/YYYY).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="In ra JSON.")
@pass_app
def list_cmd(app: AppContext, station, day_from, day_to, limit: int, as_json: bool) -> None:
    """Các lượt đã phát (mới nhất trước)."""
    with app.session() as session:
        if station and session.query(Station.id).filter(Station.code == station).first() is None:
            raise InvalidInput("Không có đài nào mã '{code}'.", field="station", code=station)
        rows = airings.list_airings(
            session,
            station_code=station,
            day_from=parse_day(day_from, Words("Từ ngày"), field="day_from") if day_from else None,
            day_to=parse_day(day_to, Words("Đến ngày"), field="day_to") if day_to else None,
            tz=app.settings.tz,
            limit=limit,
        )
    if as_json:
        echo_json(rows)
        return
    echo_table(
        ["Đài", "Số", "Lượt", "Bắt đầu", "Kết thúc", "Kết quả", "Nguồn", "Ghi chú"],
        [
            (
                a.station_code,
                a.seq,
                a.slot_id,
                app.local(a.started_at),
                app.local(a.ended_at),
                STATUS_VI.get(a.status, a.status),
                a.source if a.source == "agent" else f"tay: {a.confirmed_by}",
                a.note or "",
            )
            for a in rows
        ],
    )


@click.group("audit")
def audit_group() -> None:
    """Kiểm tra tính toàn vẹn của nhật ký phát."""


@audit_group.command("verify")
@click.option("--station", help="Chỉ kiểm tra một đài.")
@click.option("--json", "as_json", is_flag=True, help="In ra JSON.")
@pass_app
def verify_cmd(app: AppContext, station: str | None, as_json: bool) -> None:
    """Tính lại chuỗi băm nhật ký phát của từng đài; chỉ ra dòng đầu tiên không khớp.

    Thoát với mã 1 nếu có chuỗi bị phá vỡ.
    """
    with app.session() as session:
        total = 1 if station else session.query(Station.id).count()
        with progress_bar(total, "Kiểm tra nhật ký phát") as bar:
            report = chain.verify(session, station, progress=bar.update)
    if as_json:
        echo_json(
            {
                "ok": report.ok,
                "stations": report.stations,
                "rows": report.rows,
                "breaks": report.breaks,
                "heads": {k: {"seq": s, "hash": h} for k, (s, h) in report.heads.items()},
            }
        )
    else:
        for b in report.breaks:
            row = f" (id {b.airing_id})" if b.airing_id is not None else ""
            click.echo(f"SAI  đài {b.station_code}, dòng số {b.seq}{row}: {b.reason}")
        verdict = "nguyên vẹn" if report.ok else f"{len(report.breaks)} chuỗi bị phá vỡ"
        click.echo(f"Đã kiểm tra {report.rows} dòng của {report.stations} đài: {verdict}.")
    if not report.ok:
        raise SystemExit(1)


def register(main: click.Group) -> None:
    main.add_command(airings_group)
    main.add_command(audit_group)
