"""``broadcaster report``: compliance reports (báo cáo thực hiện) — make, store, verify."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from broadcaster.cli.context import (
    AppContext,
    acting,
    echo_table,
    pass_app,
    progress_bar,
    user_options,
)
from broadcaster.errors import InvalidInput, PermissionDenied, Words
from broadcaster.models import AdminUnit
from broadcaster.reports.fields import vn_number
from broadcaster.reports.periods import KINDS, Period, custom, parse_day, resolve
from broadcaster.services.audit import Actor, record

FORMATS = ("json", "csv", "xlsx", "pdf")


def _writer(fmt: str, lang: str = "vi"):
    """The exporter; imported when used, so other commands start without numpy or fpdf."""
    from functools import partial

    from broadcaster.reports import export

    if fmt == "csv":
        return partial(export.to_csv, lang=lang)
    return getattr(export, f"to_{fmt}")


_LANG = click.option(
    "--lang",
    type=click.Choice(("vi", "en")),
    default="vi",
    show_default=True,
    help="Ngôn ngữ của tiêu đề cột và tên cấp trong CSV.",
)


def _vn(value: int) -> str:
    return f"{value:,}".replace(",", ".")


@click.group("report")
def report_group() -> None:
    """Báo cáo thực hiện phát thanh: số lượt phải phát so với đã phát, theo kỳ và đơn vị."""


def _period(app: AppContext, day_from, day_to, kind, of, cutoff_day, calendar) -> Period:
    cutoff = 1 if calendar else (cutoff_day or app.settings.report_cutoff_day)
    if kind or of:
        if day_from or day_to:
            raise InvalidInput("Dùng --period/--of hoặc --from/--to, không dùng cả hai.")
        if not (kind and of):
            raise InvalidInput("--period cần --of (vd --period month --of 2026-11), và ngược lại.")
        return resolve(kind, of, cutoff)
    if not (day_from and day_to):
        raise InvalidInput(
            "Cần kỳ báo cáo: --from YYYY-MM-DD --to YYYY-MM-DD, "
            "hoặc --period month|quarter|half|year --of KỲ."
        )
    return custom(
        parse_day(day_from, Words("Ngày bắt đầu"), field="day_from"),
        parse_day(day_to, Words("Ngày kết thúc"), field="day_to"),
        cutoff,
    )


def _check_scope(session, actor: Actor, unit_code: str | None) -> None:
    if actor.is_system:
        return
    path = None
    if unit_code is not None:
        path = session.query(AdminUnit.path).filter(AdminUnit.code == unit_code).scalar()
        if path is None:
            return  # compute names the unknown unit
    if not actor.covers(path):
        where = f"đơn vị {unit_code}" if unit_code else "toàn quốc"
        raise PermissionDenied(f"{actor.label} không được xem báo cáo của {where}.")


def _check_output(output: str | None, fmt: str) -> None:
    """Refuse a bad destination before any work (and before anything is stored)."""
    if output in (None, "-"):
        if fmt in ("xlsx", "pdf"):
            raise InvalidInput(f"Định dạng {fmt} cần tệp ra: -o bao-cao.{fmt}")
        return
    path = Path(output)
    if path.is_dir():
        raise InvalidInput(f"'{path}' là một thư mục: cho tên tệp, vd {path / ('bao-cao.' + fmt)}.")
    if not path.parent.is_dir():
        raise InvalidInput(f"Thư mục '{path.parent}' không có: tạo nó trước, hoặc chọn nơi khác.")


def _write(data: bytes, output: str | None, fmt: str) -> None:
    _check_output(output, fmt)
    if output in (None, "-"):
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    path = Path(output)
    # written beside, then renamed: a reader never sees half a file
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a report is for sharing
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InvalidInput(f"Không ghi được '{path}': {exc.strerror}.") from None


def _summary(report: dict) -> str:
    t = report["totals"]
    unit = report["scope"]["unit"]
    pct = "—" if t["compliance_pct"] is None else f"{t['compliance_pct']:.1f}%".replace(".", ",")
    return (
        f"{unit['name'] if unit else 'Toàn quốc'}, {report['period']['label']} "
        f"({report['period']['from']} – {report['period']['to']}): {_vn(t['stations'])} đài, "
        f"phải phát {_vn(t['required'])}, đến hạn {_vn(t['due'])}, "
        f"đúng giờ {_vn(t['on_time'])}, trễ {_vn(t['late'])}, dở {_vn(t['partial'])}, "
        f"lỗi {_vn(t['failed'])}, bỏ lỡ {_vn(t['missed'])}; tỷ lệ thực hiện {pct}."
        + _relay_summary(t)
    )


def _relay_summary(t: dict) -> str:
    """The relays' minutes, when the report has relays to count (a /1 body has none)."""
    if not t.get("relay_slots"):
        return ""

    def number(value) -> str:
        return "—" if value is None else vn_number(float(value), 1)

    return (
        f" Tiếp âm: phải phát {number(t['relay_required_minutes'])} phút, "
        f"đã tiếp âm {number(t['relay_minutes'])} phút ({number(t['relay_pct'])}%)."
    )


@report_group.command("compliance")
@click.option("--from", "day_from", help="Từ ngày (YYYY-MM-DD), cùng --to.")
@click.option("--to", "day_to", help="Đến ngày (YYYY-MM-DD), kể cả ngày đó.")
@click.option("--period", "kind", type=click.Choice(KINDS), help="Kỳ báo cáo.")
@click.option("--of", "of", help="Kỳ nào: 2026-11, 2026-Q4, 2026-H2, 2026.")
@click.option(
    "--cutoff-day",
    type=click.IntRange(1, 28),
    help="Ngày chốt số liệu (mặc định BROADCASTER_REPORT_CUTOFF_DAY, 15).",
)
@click.option("--calendar", is_flag=True, help="Kỳ theo lịch (ngày 1 đến cuối tháng).")
@click.option("--unit", "unit_code", help="Mã đơn vị (tỉnh, xã); bỏ trống: toàn quốc.")
@click.option("--campaign", "campaign_id", type=int, help="Chỉ một chiến dịch.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option("-o", "--output", help="Tệp ra (mặc định: in ra màn hình; xlsx/pdf cần tệp).")
@click.option("--store", "keep", is_flag=True, help="Lưu báo cáo (bất biến, có dấu chuỗi băm).")
@_LANG
@user_options(required=False)
@pass_app
def compliance_cmd(
    app: AppContext,
    day_from,
    day_to,
    kind,
    of,
    cutoff_day,
    calendar,
    unit_code,
    campaign_id,
    fmt,
    output,
    keep,
    lang,
    username,
    password,
) -> None:
    """Lập báo cáo thực hiện: đài × chiến dịch × tuần, tổng hợp theo xã, tỉnh, chiến dịch."""
    from broadcaster.reports import compliance, store

    period = _period(app, day_from, day_to, kind, of, cutoff_day, calendar)
    _check_output(output, fmt)
    steps = ("đếm lượt phát", "tổng hợp", "khẩn cấp, dấu chuỗi băm", "ghi tệp")
    with app.session() as session:
        actor = acting(session, username, password, required=False)
        _check_scope(session, actor, unit_code)
        with progress_bar(len(steps), "Lập báo cáo") as bar:
            report = compliance.compute(
                session,
                period,
                unit_code=unit_code,
                campaign_id=campaign_id,
                tz=app.settings.tz,
                progress=lambda _label: bar.update(1),
            )
            data = _writer(fmt, lang)(report)
            bar.update(1)
        if keep:
            info = store.store(session, report, key=_seal_key(app), generated_by=actor.label)
            record(
                session,
                actor,
                "report.store",
                "compliance_report",
                info.id,
                after={"period": period.key, "unit": unit_code, "sha256": info.body_sha256},
            )
    _write(data, output, fmt)
    if output not in (None, "-") or fmt not in ("json", "csv"):
        click.echo(_summary(report))
        click.echo(f"Đã ghi {output} ({len(data):,} byte).".replace(",", "."))
    else:
        click.echo(_summary(report), err=True)
    if keep:
        click.echo(f"Đã lưu báo cáo số {info.id} (sha256 {info.body_sha256[:16]}…).", err=True)


@report_group.command("list")
@click.option("--unit", "unit_code", help="Mã đơn vị.")
@click.option("--period", "kind", type=click.Choice((*KINDS, "custom")), help="Loại kỳ.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@pass_app
def list_cmd(app: AppContext, unit_code, kind, limit) -> None:
    """Các báo cáo đã lưu (mới nhất trước)."""
    from broadcaster.reports import store

    with app.session() as session:
        rows = store.list_stored(session, unit_code=unit_code, kind=kind, limit=limit)
    echo_table(
        ["Số", "Kỳ", "Từ", "Đến", "Đơn vị", "Đài", "Tỷ lệ", "Lập lúc", "Người lập"],
        [
            (
                r.id,
                f"{r.period_kind} {r.period_key}",
                r.period_from,
                r.period_to,
                r.unit_code or "toàn quốc",
                r.stations,
                "—" if r.compliance_pct is None else f"{r.compliance_pct:.1f}%".replace(".", ","),
                app.local(r.generated_at),
                r.generated_by,
            )
            for r in rows
        ],
    )


@report_group.command("show")
@click.argument("report_id", type=int)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option("-o", "--output", help="Tệp ra.")
@_LANG
@pass_app
def show_cmd(app: AppContext, report_id: int, fmt: str, output: str | None, lang: str) -> None:
    """Xuất một báo cáo đã lưu (đúng số liệu lúc lập) ra JSON, CSV, XLSX hoặc PDF."""
    from broadcaster.reports import store

    _check_output(output, fmt)
    with app.session() as session:
        _info, body = store.get(session, report_id)
    _write(_writer(fmt, lang)(body), output, fmt)


@report_group.command("verify")
@click.argument("report_id", type=int)
@pass_app
def verify_cmd(app: AppContext, report_id: int) -> None:
    """Kiểm chứng báo cáo đã lưu: nội dung, chuỗi băm nhật ký phía sau, và đếm lại."""
    from broadcaster.reports import store

    with app.session() as session:
        info, body = store.get(session, report_id)
        with progress_bar(max(len(body["stamp"]["heads"]), 1), "Kiểm chuỗi băm") as bar:
            result = store.verify(session, report_id, key=_seal_key(app), progress=bar.update)
    chain = result.chain
    head = f"{chain.head_seq} · {chain.head_sha256[:16]}…" if chain.head_sha256 else "chưa có"
    click.echo(
        f"Chuỗi báo cáo đã lưu: {chain.reports} báo cáo, đầu chuỗi đã ký {head} "
        "(ghi lại đầu chuỗi này ở nơi khác để sau này phát hiện được báo cáo mới nhất bị xóa)."
    )
    for note in result.notes:
        click.echo(f"Ghi chú: {note}")
    if result.ok:
        click.echo(
            f"Báo cáo số {report_id} toàn vẹn: nội dung khớp mã băm và đúng vị trí "
            f"{result.chain_seq} trong chuỗi đã ký, nhật ký của {result.stations} đài không đổi "
            f"kể từ {app.local(info.generated_at)}, số liệu các cấp khớp nhau, "
            "đếm lại cho cùng số liệu."
        )
        return
    for problem in result.problems:
        click.echo(f"SAI: {problem}", err=True)
    raise SystemExit(1)


@report_group.command("periodic")
@click.option("--today", help="Coi hôm nay là ngày này (YYYY-MM-DD), để lập bù.")
@pass_app
def periodic_cmd(app: AppContext, today: str | None) -> None:
    """Lưu ngay các báo cáo định kỳ đã đến hạn (việc của lịch chạy hằng ngày)."""

    from broadcaster.reports import periodic

    day = parse_day(today, Words("Ngày hôm nay"), field="today") if today else app.settings.today()
    result = periodic.run(
        app.sessions,
        day,
        tz=app.settings.tz,
        cutoff_day=app.settings.report_cutoff_day,
        report_day=app.settings.report_day,
        key=_seal_key(app),
        progress=lambda key: click.echo(key, err=True),
    )
    if not result.periods:
        click.echo("Chưa kỳ báo cáo nào đến hạn.")
        return
    click.echo(
        f"{', '.join(result.periods)}: đã lưu {result.stored}, có sẵn {result.already}, "
        f"lỗi {result.failed}."
    )
    if result.failed:
        raise SystemExit(1)


def _seal_key(app: AppContext):
    from broadcaster.reports.seal import SealKey

    return SealKey.from_secret(app.settings.secret_key)


def register(main: click.Group) -> None:
    from broadcaster.cli import report_documents  # noqa: F401  (document, file, filings)

    main.add_command(report_group)
