"""``broadcaster report document | file | filings``: the report in the official form
(báo cáo theo thể thức văn bản hành chính) as DOCX or PDF, filed up to the province."""

from __future__ import annotations

from pathlib import Path

import click

from broadcaster.cli.context import AppContext, acting, echo_table, pass_app, user_options
from broadcaster.cli.reports import (
    _check_output,
    _check_scope,
    _period,
    _seal_key,
    _write,
    report_group,
)
from broadcaster.errors import InvalidInput, PermissionDenied
from broadcaster.models import Role
from broadcaster.reports.periods import KINDS
from broadcaster.services.audit import Actor, record

DOCUMENT_FORMATS = ("docx", "pdf")
DRAFTERS = (Role.ADMIN, Role.EDITOR, Role.APPROVER)
FILERS = (Role.ADMIN, Role.APPROVER)
_STATES = {"on_time": "đúng hạn", "late": "trễ hạn", "missing": "chưa nộp"}


def _allowed(actor: Actor, roles, what: str) -> None:
    if not actor.is_system and actor.role not in roles:
        raise PermissionDenied(f"{actor.label} không có quyền {what}.")


def _scope_code(actor: Actor) -> str | None:
    """The code of the acting user's scope unit (None: the whole country)."""
    if actor.scope_path is None:
        return None
    return actor.scope_path.strip("/").split("/")[-1]


def _read(path: str | None, flag: str) -> str | None:
    if path is None:
        return None
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"Tệp '{path}' ({flag}) không phải văn bản UTF-8.") from None
    except OSError as exc:
        raise InvalidInput(f"Không đọc được '{path}' ({flag}): {exc.strerror}.") from None


def render(body: dict, fmt: str) -> bytes:
    """The stored (or previewed) body in the official form; renderers imported when used."""
    from broadcaster.reports.official import layout

    if fmt == "docx":
        from broadcaster.reports.official_docx import to_docx

        return to_docx(layout(body))
    from broadcaster.reports.official_pdf import to_pdf

    return to_pdf(layout(body))


_PERIOD_OPTIONS = (
    click.option("--period", "kind", type=click.Choice(KINDS), help="Kỳ báo cáo."),
    click.option("--of", "of", help="Kỳ nào: 2026-12, 2026-Q4, 2026-H2, 2026."),
    click.option(
        "--cutoff-day",
        type=click.IntRange(1, 28),
        help="Ngày chốt số liệu (mặc định BROADCASTER_REPORT_CUTOFF_DAY, 15).",
    ),
    click.option("--calendar", is_flag=True, help="Kỳ theo lịch (ngày 1 đến cuối tháng)."),
)


def _period_options(fn):
    for option in reversed(_PERIOD_OPTIONS):
        fn = option(fn)
    return fn


def _named_period(app: AppContext, kind, of, cutoff_day, calendar):
    if not (kind and of):
        raise InvalidInput("Cần kỳ báo cáo: --period month|quarter|half|year --of KỲ.")
    return _period(app, None, None, kind, of, cutoff_day, calendar)


@report_group.command("document")
@_period_options
@click.option("--unit", "unit_code", help="Mã đơn vị (xã, tỉnh); bỏ trống: toàn quốc.")
@click.option(
    "--format", "fmt", type=click.Choice(DOCUMENT_FORMATS), default="docx", show_default=True
)
@click.option("-o", "--output", required=True, help="Tệp ra (.docx hoặc .pdf).")
@click.option(
    "--id", "report_id", type=int, help="Xuất lại báo cáo đã lưu số này (đúng từng byte)."
)
@click.option("--store", "keep", is_flag=True, help="Lưu báo cáo (bất biến, có dấu chuỗi băm).")
@click.option("--difficulties-file", help="Tệp UTF-8: mục II. Khó khăn, vướng mắc.")
@click.option("--proposals-file", help="Tệp UTF-8: mục III. Đề xuất, kiến nghị.")
@click.option("--number", help="Số văn bản (chỉ chữ số); bỏ trống: viết tay khi ký.")
@click.option("--symbol", help="Ký hiệu, vd BC-UBND.")
@click.option("--date", "doc_date", help="Ngày ban hành (YYYY-MM-DD); mặc định hôm nay.")
@click.option("--signer-name", help="Họ tên người ký.")
@click.option("--signer-title", help="Chức vụ người ký, vd PHÓ CHỦ TỊCH.")
@user_options(required=False)
@pass_app
def document_cmd(
    app: AppContext,
    kind,
    of,
    cutoff_day,
    calendar,
    unit_code,
    fmt,
    output,
    report_id,
    keep,
    difficulties_file,
    proposals_file,
    number,
    symbol,
    doc_date,
    signer_name,
    signer_title,
    username,
    password,
) -> None:
    """Báo cáo theo thể thức văn bản hành chính (DOCX, PDF): mục I từ số liệu, mục II–III
    do người lập viết; số, người ký, nơi nhận nhớ theo đơn vị."""
    from broadcaster.reports import store
    from broadcaster.services.reports import drafts

    _check_output(output, "pdf")  # a file, never the terminal
    if report_id is not None:
        with app.session() as session:
            actor = acting(session, username, password, required=False)
            info, body = store.get(session, report_id)
            _check_scope(session, actor, info.unit_code)
        if not drafts.has_document(body):
            raise InvalidInput(
                f"Báo cáo số {report_id} không có phần văn bản: xuất nó bằng 'report show'."
            )
        data = render(body, fmt)
        _write(data, output, fmt)
        click.echo(f"Đã ghi {output} ({len(data):,} byte).".replace(",", "."))
        return
    period = _named_period(app, kind, of, cutoff_day, calendar)
    difficulties = _read(difficulties_file, "--difficulties-file")
    proposals = _read(proposals_file, "--proposals-file")
    with app.session() as session:
        actor = acting(session, username, password, required=False)
        _check_scope(session, actor, unit_code)
        start = drafts.defaults(session, unit_code, period, today=app.settings.today())
        draft = drafts.with_changes(
            start,
            number=number,
            symbol=symbol,
            date=doc_date,
            signer_name=signer_name,
            signer_title=signer_title,
            difficulties=difficulties,
            proposals=proposals,
        )
        settings = dict(tz=app.settings.tz, deadline_day=app.settings.report_deadline_day)
        if keep:
            _allowed(actor, DRAFTERS, "lưu báo cáo")
            info = drafts.store_document(
                session,
                period,
                unit_code,
                draft,
                key=_seal_key(app),
                generated_by=actor.label,
                **settings,
            )
            record(
                session,
                actor,
                "report.document.store",
                "compliance_report",
                info.id,
                after={"period": period.key, "unit": unit_code, "sha256": info.body_sha256},
            )
            _info, body = store.get(session, info.id)
        else:
            body = drafts.preview(session, period, unit_code, draft, **settings)
    data = render(body, fmt)
    _write(data, output, fmt)
    click.echo(f"Đã ghi {output} ({len(data):,} byte).".replace(",", "."))
    if keep:
        click.echo(f"Đã lưu báo cáo số {info.id} (sha256 {info.body_sha256[:16]}…).")


@report_group.command("file")
@click.argument("report_id", type=int)
@user_options(required=False)
@pass_app
def file_cmd(app: AppContext, report_id: int, username, password) -> None:
    """Nộp báo cáo đã lưu (có phần văn bản) lên cấp trên: xã lên tỉnh, tỉnh lên toàn quốc."""
    from broadcaster.services.reports import filing

    with app.session() as session:
        actor = acting(session, username, password, required=False)
        _allowed(actor, FILERS, "nộp báo cáo")
        done = filing.file_report(
            session,
            report_id,
            scope_unit_code=_scope_code(actor),
            filed_by=actor.label,
            deadline_day=app.settings.report_deadline_day,
            tz=app.settings.tz,
        )
        record(
            session,
            actor,
            "report.file",
            "compliance_report",
            report_id,
            after={
                "unit": done.unit_code,
                "to": done.parent_code,
                "period": f"{done.period_kind} {done.period_key}",
                "version": done.version,
                "on_time": done.on_time,
            },
        )
    to = f"tỉnh/cấp trên {done.parent_code}" if done.parent_code else "toàn quốc"
    click.echo(
        f"Đã nộp báo cáo số {report_id} của {done.unit_name} lên {to} "
        f"(kỳ {done.period_key}, lần {done.version}) lúc {app.local(done.filed_at)}: "
        f"{'đúng hạn' if done.on_time else 'trễ hạn'} (hạn {done.deadline:%d/%m/%Y})."
    )


@report_group.command("filings")
@_period_options
@click.option("--unit", "unit_code", help="Mã tỉnh; bỏ trống: các tỉnh nộp lên toàn quốc.")
@user_options(required=False)
@pass_app
def filings_cmd(app: AppContext, kind, of, cutoff_day, calendar, unit_code, username, password):
    """Đơn vị nào đã nộp báo cáo kỳ này: đúng hạn, trễ hạn, chưa nộp."""
    from broadcaster.services.reports import filing

    period = _named_period(app, kind, of, cutoff_day, calendar)
    with app.session() as session:
        actor = acting(session, username, password, required=False)
        _check_scope(session, actor, unit_code)
        status = filing.filing_status(
            session,
            period,
            unit_code,
            deadline_day=app.settings.report_deadline_day,
            tz=app.settings.tz,
        )
    echo_table(
        ["Mã", "Đơn vị", "Trạng thái", "Nộp lúc", "Lần", "Báo cáo số"],
        [
            (
                u.code,
                u.name,
                _STATES[u.state],
                app.local(u.filing.filed_at) if u.filing else "—",
                u.versions or "—",
                u.filing.report_id if u.filing else "—",
            )
            for u in status.units
        ],
    )
    click.echo(
        f"{status.parent_name}, {period.label}, hạn nộp {status.deadline:%d/%m/%Y}: "
        f"đúng hạn {status.on_time}, trễ hạn {status.late}, chưa nộp {status.missing} "
        f"(trên {len(status.units)} đơn vị)."
    )
