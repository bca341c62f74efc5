"""``broadcaster backup`` and ``broadcaster restore``: backups that restore (docs/backup.md)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from broadcaster.cli.context import AppContext, pass_app
from broadcaster.errors import BroadcasterError, InvalidInput

BACKENDS = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
STAGES = {"chain": "Kiểm chuỗi băm nhật ký phát (đài)", "reports": "Kiểm báo cáo đã lưu"}


def _vn(value: float, digits: int = 0) -> str:
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def _size(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= scale:
            return f"{_vn(n / scale, 1)} {unit}"
    return f"{n} byte"


def _secs(value: float) -> str:
    return f"{_vn(value, 1)} giây"


class _Stages:
    """Progress of the proof's stages on stderr: a counter on a terminal, one line otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        label = STAGES.get(stage, stage)
        if self.tty:
            end = "\n" if done >= total else ""
            click.echo(f"\r{label}: {_vn(done)}/{_vn(total)}", err=True, nl=False)
            if end:
                click.echo("", err=True)
        elif done >= total:
            click.echo(f"{label}: {_vn(total)}/{_vn(total)}", err=True)


def _say(message: str) -> None:
    click.echo(message, err=True)


@click.command("backup")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Tệp sao lưu; mặc định một tệp mang ngày giờ trong BROADCASTER_BACKUP_DIR.",
)
@pass_app
def backup_cmd(app: AppContext, output: Path | None) -> None:
    """Sao lưu cơ sở dữ liệu (kèm danh sách tệp âm thanh) vào MỘT tệp, khi máy chủ vẫn chạy.

    Không chép thư mục âm thanh (sao lưu nó bằng rsync/hệ thống tệp). Lần chạy được ghi
    vào job_runs và hiện trên trang tổng quan; giữ BROADCASTER_BACKUP_KEEP bản mới nhất
    trong thư mục sao lưu.
    """
    from broadcaster.services import backups

    _ = app.engine  # the schema brought up to date first, as every command does
    try:
        result = backups.run_recorded(app.settings, output)
    except OSError as exc:
        raise BroadcasterError(
            "Không ghi được tệp sao lưu: {reason}", reason=exc.strerror or str(exc)
        ) from None
    m = result.manifest
    click.echo(f"Đã sao lưu: {result.path}")
    click.echo(
        f"  {_size(result.size)} ({_vn(result.size)} byte), {_secs(result.seconds)}; "
        f"{BACKENDS[m['backend']]}, lược đồ {m['schema_revision']}, "
        f"{_vn(m['row_counts'].get('airings', 0))} dòng nhật ký phát, "
        f"{_vn(m['row_counts'].get('compliance_reports', 0))} báo cáo đã lưu."
    )
    audio = m["audio"]
    click.echo(
        f"  Âm thanh: {audio['assets']} tệp đã tạo, {audio['recordings']} bản ghi âm được liệt kê "
        "(không chép tệp; sao lưu thư mục âm thanh riêng)"
        + (f"; {audio['missing']} tệp không thấy trên máy này." if audio["missing"] else ".")
    )
    if result.removed:
        click.echo(f"  Đã xóa {len(result.removed)} bản cũ (giữ {app.settings.backup_keep}).")


def _describe(app: AppContext, path: Path, manifest: dict, size: int) -> None:
    created = datetime.fromisoformat(manifest["created_at"])
    click.echo(
        f"Tệp sao lưu: {path} ({_size(size)}), lập lúc {app.local(created)}, "
        f"phiên bản {manifest.get('product_version')}, lược đồ {manifest.get('schema_revision')}, "
        f"{BACKENDS.get(manifest.get('backend'), manifest.get('backend'))}, "
        f"cài đặt {manifest.get('installation_id')}."
    )
    click.echo("Kiểm tra tệp: nguyên vẹn (mã băm từng phần khớp, chữ ký manifest đúng).")


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--verify",
    is_flag=True,
    help="Chỉ kiểm chứng: khôi phục vào cơ sở dữ liệu tạm, kiểm nhật ký phát và báo cáo đã "
    "lưu, rồi xóa bản tạm. Không đụng tới cơ sở dữ liệu đang dùng.",
)
@click.option(
    "--scratch-url",
    help="Với --verify: khôi phục vào cơ sở dữ liệu trống này (giữ lại sau khi kiểm) thay vì "
    "một cơ sở dữ liệu tạm.",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Cho phép thay toàn bộ dữ liệu đang có (của cùng cài đặt) bằng bản sao lưu.",
)
@pass_app
def restore_cmd(
    app: AppContext, file: Path, verify: bool, scratch_url: str | None, replace: bool
) -> None:
    """Khôi phục tệp sao lưu FILE vào cơ sở dữ liệu đang cấu hình (kiểm tệp trước khi ghi).

    Với --verify: kiểm chứng FILE trên một bản tạm; thoát mã 1 nếu có gì sai.
    """
    if scratch_url and not verify:
        raise InvalidInput("--scratch-url chỉ dùng cùng --verify.", field="scratch_url")
    if replace and verify:
        raise InvalidInput("--replace không dùng cùng --verify (kiểm chứng không ghi đè gì).")
    if verify:
        _verify(app, file, scratch_url)
    else:
        _restore(app, file, replace)


def _verify(app: AppContext, file: Path, scratch_url: str | None) -> None:
    from broadcaster.backup.restore import verify_backup

    done = verify_backup(file, app.settings, scratch_url=scratch_url, say=_say, progress=_Stages())
    proof, s = done.proof, done.seconds
    _describe(app, file, done.manifest, done.size)
    click.echo(f"  (đọc và kiểm tệp {_secs(s.get('check', 0))})")
    click.echo(f"Khôi phục vào cơ sở dữ liệu tạm: {_secs(s.get('restore', 0))}.")
    if proof.count_problems:
        for problem in proof.count_problems:
            click.echo(f"SAI  {problem}")
    else:
        click.echo("Số dòng các bảng chính: khớp manifest.")
    for b in proof.chain_breaks:
        row = f" (id {b.airing_id})" if b.airing_id is not None else ""
        click.echo(f"SAI  đài {b.station_code}, dòng số {b.seq}{row}: {b.reason}")
    verdict = (
        "nguyên vẹn" if not proof.chain_breaks else f"{len(proof.chain_breaks)} chuỗi bị phá vỡ"
    )
    click.echo(
        f"Chuỗi băm nhật ký phát: {_vn(proof.stations)} đài, {_vn(proof.airings)} dòng, "
        f"{verdict} ({_secs(proof.seconds.get('chain', 0))})."
    )
    for report_id, problems in sorted(proof.report_problems.items()):
        for problem in problems:
            click.echo(f"SAI  báo cáo số {report_id}: {problem}")
    bad = len(proof.report_problems)
    click.echo(
        f"Báo cáo đã lưu: {_vn(proof.reports)} báo cáo, "
        + ("tất cả kiểm chứng được" if not bad else f"{bad} báo cáo không kiểm chứng được")
        + f" ({_secs(proof.seconds.get('reports', 0))})."
    )
    if not done.ok:
        click.echo("KẾT LUẬN: bản sao lưu KHÔNG đạt kiểm chứng.")
        raise SystemExit(1)
    click.echo("KẾT LUẬN: bản sao lưu khôi phục được và kiểm chứng đạt.")


def _restore(app: AppContext, file: Path, replace: bool) -> None:
    from sqlalchemy.engine import make_url

    from broadcaster.backup.restore import restore_backup

    done = restore_backup(file, app.settings, replace=replace, say=_say)
    target = make_url(app.settings.database_url).render_as_string(hide_password=True)
    _describe(app, file, done.manifest, done.size)
    click.echo(
        f"Đã khôi phục vào {target}"
        + (" (thay dữ liệu cũ)" if done.replaced else "")
        + f" trong {_secs(done.seconds.get('restore', 0))}."
    )
    for problem in done.count_problems:
        click.echo(f"SAI  {problem}")
    if done.audio_missing:
        click.echo(
            f"Lưu ý: {done.audio_missing} tệp âm thanh mà cơ sở dữ liệu biết chưa có trong "
            f"{app.settings.audio_dir}: chép thư mục âm thanh từ bản sao của nó."
        )
    if done.count_problems:
        raise SystemExit(1)
    click.echo("Nên chạy: broadcaster audit verify (kiểm chuỗi băm nhật ký phát).")


def register(main: click.Group) -> None:
    main.add_command(backup_cmd)
    main.add_command(restore_cmd)
