"""``broadcaster campaigns`` (chiến dịch tuyên truyền) and ``broadcaster quiet-days``.

After a change the command re-plans the affected campaigns in the same transaction
(:func:`broadcaster.planning.plan`), so the schedule never lags behind what was
decided; ``--no-plan`` leaves that to the scheduler's next run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import click
from sqlalchemy.orm import Session

from broadcaster.cli.context import (
    AppContext,
    acting,
    echo_json,
    echo_table,
    pass_app,
    user_options,
)
from broadcaster.errors import InvalidInput
from broadcaster.services import campaigns as svc
from broadcaster.services import quiet_days as quiet
from broadcaster.services import voices

NO_PLAN_HELP = "Không lập lịch lại ngay; bộ lập lịch sẽ làm sau."
PRIORITY_LABELS = {"normal": "thông thường", "priority": "ưu tiên"}


def _today(app: AppContext) -> date:
    return app.settings.today()


def _replan(app: AppContext, session: Session, campaign_ids: list[int] | None, skip: bool) -> str:
    """Plan again inside the command's transaction; a failure undoes the change too."""
    if skip:
        return "Chưa lập lịch lại (--no-plan); bộ lập lịch sẽ làm sau."
    from broadcaster.planning import plan

    report = plan(session, now=None, days=14, tz=app.settings.tz, campaign_ids=campaign_ids)
    return (
        f"Đã lập lịch: {report.created} lịch mới, {report.updated} thay đổi, "
        f"{report.cancelled} hủy; {len(report.unplaced)} không xếp được"
    )


def _campaign_id(value: str) -> int:
    text = value.strip().lstrip("#")
    if not text.isdigit():
        raise InvalidInput(f"Mã chiến dịch '{value}' phải là một số, ví dụ 3 hoặc #3.")
    return int(text)


def _no_plan(fn: Callable) -> Callable:
    return click.option("--no-plan", is_flag=True, help=NO_PLAN_HELP)(fn)


def _campaign_options(fn: Callable) -> Callable:
    """The fields of a campaign, shared by ``add`` (checked by the service) and ``edit``."""
    options = [
        click.option("--name", help="Tên chiến dịch."),
        click.option(
            "--script",
            "scripts",
            multiple=True,
            help="Tin bài đã duyệt (mã tin bài); lặp lại để phát luân phiên theo thứ tự.",
        ),
        click.option(
            "--unit",
            "units",
            multiple=True,
            help="Đơn vị nhận tin (mã hoặc tên): mọi đài đang hoạt động bên dưới; lặp lại được.",
        ),
        click.option(
            "--from",
            "starts_on",
            help="Ngày bắt đầu: 2026-01-31 hoặc 31/01/2026; mặc định hôm nay.",
        ),
        click.option("--to", "ends_on", help="Ngày kết thúc (bắt buộc khi tạo); tối đa ~2 năm."),
        click.option("--times-per-week", help="Số lần phát mỗi tuần (hoặc dùng --pattern)."),
        click.option(
            "--weekdays",
            "--days",
            "weekdays",
            help="Ngày được phát: T2-T7 (mặc định với --times-per-week), 'T2,T4,T6'; "
            "với --relay mặc định mọi ngày.",
        ),
        click.option(
            "--window",
            "preferred",
            help="Khung giờ, với --times-per-week: morning (sáng), evening (chiều), any.",
        ),
        click.option("--pattern", help="Lịch cố định mỗi tuần, ví dụ 'T2 06:00, T4 17:30'."),
        click.option("--priority", help="normal (thông thường, mặc định) hoặc priority (ưu tiên)."),
        click.option(
            "--relay",
            "relay_source",
            help="Tiếp âm: tên nguồn tiếp âm (ví dụ VOV1); chiến dịch tiếp âm không có tin bài.",
        ),
        click.option(
            "--at", "relay_start", help="Tiếp âm: giờ bắt đầu (giờ địa phương), ví dụ 06:00."
        ),
        click.option("--minutes", "relay_minutes", help="Tiếp âm: thời lượng, số phút (1–600)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _describe(info: svc.CampaignInfo) -> str:
    return (
        f"#{info.id} '{info.name}': {info.cadence}; {info.station_count} đài; "
        f"{info.starts_on:%d/%m/%Y}–{info.ends_on:%d/%m/%Y}"
    )


@click.group("campaigns")
def campaigns_group() -> None:
    """Chiến dịch tuyên truyền: tin bài đã duyệt, tần suất, đơn vị nhận tin, thời gian."""


_voice = click.option(
    "--voice",
    help="Giọng đọc, dạng bộ-máy:giọng (vd. fptai:banmai); '' là mặc định; giọng riêng "
    "của đài được ưu tiên. Xem: broadcaster tts engines.",
)


@campaigns_group.command("add")
@_campaign_options
@_voice
@user_options(required=False)
@_no_plan
@pass_app
def add_cmd(app: AppContext, username, password, no_plan, scripts, units, voice, **fields) -> None:
    """Tạo chiến dịch: --times-per-week N (--weekdays, --window) HOẶC --pattern; hoặc tiếp âm:
    --relay NGUỒN --at 06:00 --minutes 30 (--days, mặc định mọi ngày)."""
    relay = any(fields.get(k) is not None for k in ("relay_source", "relay_start", "relay_minutes"))
    spec = svc.CampaignSpec(
        name=fields.pop("name") or "",
        scripts=list(scripts),
        targets=list(units),
        ends_on=fields.pop("ends_on") or "",
        kind="relay" if relay else "announcement",
        **fields,
    )
    with app.session() as session:
        actor = acting(session, username, password, required=False)
        info = svc.add_campaign(session, actor, spec, today=_today(app))
        if voice:
            voices.set_campaign_voice(session, actor, app.settings.audio, info.id, voice)
        planned = _replan(app, session, [info.id], no_plan)
    click.echo(f"Đã tạo chiến dịch {_describe(info)}.")
    click.echo(planned)


@campaigns_group.command("edit")
@click.argument("campaign")
@_campaign_options
@_voice
@user_options(required=False)
@_no_plan
@pass_app
def edit_cmd(
    app: AppContext, campaign: str, username, password, no_plan, scripts, units, voice, **fields
) -> None:
    """Sửa chiến dịch CAMPAIGN: chỉ đổi các trường được nêu (--script/--unit thay cả danh sách)."""
    changes = svc.CampaignChanges(
        scripts=list(scripts) or None, targets=list(units) or None, **fields
    )
    with app.session() as session:
        actor = acting(session, username, password, required=False)
        cid = _campaign_id(campaign)
        if voice is not None:
            voices.set_campaign_voice(session, actor, app.settings.audio, cid, voice)
        if voice is None or scripts or units or any(v is not None for v in fields.values()):
            info = svc.edit_campaign(session, actor, cid, changes, today=_today(app))
        else:  # only the voice: nothing else to check
            info = svc.get_campaign(session, cid)
        planned = _replan(app, session, [info.id], no_plan)
    click.echo(f"Đã sửa chiến dịch {_describe(info)}.")
    click.echo(planned)


def _transition_command(name: str, done: str, help_text: str):
    @campaigns_group.command(name, help=help_text)
    @click.argument("campaign")
    @click.option("--reason", default="", help="Lý do (ghi vào nhật ký thao tác).")
    @user_options(required=False)
    @_no_plan
    @pass_app
    def command(app: AppContext, campaign, reason, username, password, no_plan) -> None:
        with app.session() as session:
            actor = acting(session, username, password, required=False)
            cid = _campaign_id(campaign)
            if name == "end":
                info = svc.end_campaign(session, actor, cid, reason, today=_today(app))
            else:
                info = getattr(svc, f"{name}_campaign")(session, actor, cid, reason)
            planned = _replan(app, session, [info.id], no_plan)
        click.echo(f"Đã {done} chiến dịch #{info.id} '{info.name}'.")
        click.echo(planned)

    return command


_transition_command("pause", "tạm dừng", "Tạm dừng chiến dịch đang chạy.")
_transition_command("resume", "tiếp tục", "Tiếp tục chiến dịch đang tạm dừng.")
_transition_command("end", "kết thúc", "Kết thúc chiến dịch (ngày kết thúc thành hôm nay).")


@campaigns_group.command("list")
@click.option("--status", help="Lọc: active (đang chạy), paused (tạm dừng), ended (kết thúc).")
@click.option("--json", "as_json", is_flag=True, help="In ra JSON.")
@pass_app
def list_cmd(app: AppContext, status: str | None, as_json: bool) -> None:
    """Liệt kê chiến dịch."""
    with app.session() as session:
        rows = svc.list_campaigns(session, status)
    if as_json:
        echo_json(rows)
        return
    echo_table(
        ["#", "Tên", "Trạng thái", "Tần suất", "Từ", "Đến", "Số đài"],
        [
            (
                c.id,
                c.name,
                svc.STATUS_LABELS[c.status],
                c.cadence,
                f"{c.starts_on:%d/%m/%Y}",
                f"{c.ends_on:%d/%m/%Y}",
                c.station_count,
            )
            for c in rows
        ],
    )
    click.echo(f"({len(rows)} chiến dịch)")


@campaigns_group.command("show")
@click.argument("campaign")
@click.option("--json", "as_json", is_flag=True, help="In ra JSON.")
@pass_app
def show_cmd(app: AppContext, campaign: str, as_json: bool) -> None:
    """Xem một chiến dịch."""
    with app.session() as session:
        c = svc.get_campaign(session, _campaign_id(campaign))
    if as_json:
        echo_json(c)
        return
    click.echo(f"Chiến dịch:  #{c.id} {c.name}")
    click.echo(f"Trạng thái:  {svc.STATUS_LABELS[c.status]}")
    click.echo(f"Mức:         {PRIORITY_LABELS[c.priority.value]}")
    click.echo(f"Tần suất:    {c.cadence}")
    click.echo(f"Thời gian:   {c.starts_on:%d/%m/%Y} – {c.ends_on:%d/%m/%Y}")
    if c.kind == "relay":
        click.echo(f"Tiếp âm:     {c.relay_source}, từ {c.relay_start}, {c.relay_minutes} phút")
    else:
        click.echo(f"Tin bài:     {', '.join(c.scripts)}")
    click.echo(f"Nhận tin:    {', '.join(f'{t.name} ({t.code})' for t in c.targets)}")
    click.echo(f"Số đài:      {c.station_count} đài đang hoạt động")


@click.group("quiet-days")
def quiet_days_group() -> None:
    """Ngày nghỉ phát của một đài: không lập lịch phát vào những ngày này."""


def _quiet_day_command(name: str, help_text: str):
    @quiet_days_group.command(name, help=help_text)
    @click.option("--station", required=True, help="Mã đài.")
    @click.argument("day")
    @user_options(required=False)
    @_no_plan
    @pass_app
    def command(app: AppContext, station, day, username, password, no_plan) -> None:
        with app.session() as session:
            actor = acting(session, username, password, required=False)
            if name == "add":
                info = quiet.add_quiet_day(session, actor, station, day, today=_today(app))
            else:
                info = quiet.remove_quiet_day(session, actor, station, day)
            planned = _replan(app, session, None, no_plan)
        done = "Đã đặt" if name == "add" else "Đã bỏ"
        click.echo(f"{done} ngày nghỉ phát {info.day:%d/%m/%Y} của đài {info.station_code}.")
        click.echo(planned)

    return command


_quiet_day_command("add", "Đặt DAY (2026-02-17 hoặc 17/02/2026) là ngày nghỉ phát của đài.")
_quiet_day_command("remove", "Bỏ ngày nghỉ phát DAY của đài.")


@quiet_days_group.command("list")
@click.option("--station", help="Chỉ một đài (mã đài).")
@click.option("--since", help="Từ ngày này trở đi.")
@click.option("--json", "as_json", is_flag=True, help="In ra JSON.")
@pass_app
def quiet_list_cmd(app: AppContext, station: str | None, since: str | None, as_json) -> None:
    """Liệt kê ngày nghỉ phát."""
    with app.session() as session:
        rows = quiet.list_quiet_days(session, station, since)
    if as_json:
        echo_json(rows)
        return
    echo_table(
        ["Ngày", "Mã đài", "Tên đài"],
        [(f"{q.day:%d/%m/%Y}", q.station_code, q.station_name) for q in rows],
    )
    click.echo(f"({len(rows)} ngày nghỉ phát)")


def register(main: click.Group) -> None:
    main.add_command(campaigns_group)
    main.add_command(quiet_days_group)
