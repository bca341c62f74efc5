"""``broadcaster scripts``: the script library and its review (kiểm duyệt)."""

from __future__ import annotations

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
from broadcaster.errors import InvalidInput, NotFound
from broadcaster.library import library_files
from broadcaster.services import scripts as svc

STATE_LABELS = {
    "draft": "nháp",
    "submitted": "chờ duyệt",
    "approved": "đã duyệt",
    "rejected": "bị từ chối",
    "archived": "lưu trữ",
}


@click.group("scripts")
def scripts_group() -> None:
    """Tin bài: nhập thư viện, trình, duyệt, từ chối, lưu trữ."""


@scripts_group.command("import")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--unit", help="Đơn vị sở hữu (người duyệt thuộc phạm vi này); bỏ trống: toàn quốc.")
@user_options(required=False)
@pass_app
def import_cmd(
    app: AppContext, folder: Path, unit: str | None, username: str | None, password: str | None
) -> None:
    """Nhập các tệp tin bài trong FOLDER: tệp không đổi thì bỏ qua, tệp sửa thì thêm phiên bản."""
    total = len(library_files(folder))
    with app.session() as session:
        actor = acting(session, username, password, required=False)
        with progress_bar(total, "Nhập tin bài") as bar:
            result = svc.import_library(session, actor, folder, unit, progress=bar.update)
    click.echo(
        f"{total} tệp: {len(result.created)} tin bài mới, {len(result.versioned)} phiên bản mới, "
        f"{len(result.unchanged)} không đổi."
    )
    for slug in result.versioned:
        click.echo(f"  phiên bản mới (cần duyệt lại): {slug}")
    for slug in result.skipped:
        click.echo(f"  bỏ qua (tin bài đã lưu trữ): {slug}")


@scripts_group.command("list")
@click.option("--state", type=click.Choice(list(STATE_LABELS)), help="Lọc theo trạng thái.")
@click.option("--json", "as_json", is_flag=True, help="In ra JSON (không kèm nội dung).")
@pass_app
def list_cmd(app: AppContext, state: str | None, as_json: bool) -> None:
    """Liệt kê tin bài."""
    with app.session() as session:
        rows = svc.list_scripts(session, state)
    if as_json:
        echo_json(
            [
                {
                    "slug": s.slug,
                    "title": s.title,
                    "state": s.state,
                    "latest_version": s.latest_version,
                    "approved_version": s.approved_version,
                    "unit": s.unit_code,
                }
                for s in rows
            ]
        )
        return
    echo_table(
        ["Mã tin bài", "Trạng thái", "Bản mới nhất", "Bản phát", "Tiêu đề"],
        [
            (
                s.slug,
                STATE_LABELS[s.state],
                s.latest_version,
                s.approved_version or "—",
                s.title,
            )
            for s in rows
        ],
    )
    click.echo(f"({len(rows)} tin bài)")


@scripts_group.command("show")
@click.argument("slug")
@click.option("--version", "number", type=int, help="Phiên bản; mặc định bản mới nhất.")
@click.option("--json", "as_json", is_flag=True, help="In ra JSON.")
@pass_app
def show_cmd(app: AppContext, slug: str, number: int | None, as_json: bool) -> None:
    """Xem một tin bài."""
    with app.session() as session:
        info = svc.get_script(session, slug)
    if as_json:
        echo_json(info)
        return
    version = info.latest
    if number is not None:
        matches = [v for v in info.versions if v.number == number]
        if not matches:
            raise click.BadParameter(f"không có phiên bản {number}", param_hint="--version")
        version = matches[0]
    click.echo(f"Mã tin bài:  {info.slug}   trạng thái: {STATE_LABELS[info.state]}")
    click.echo(
        f"Phiên bản:   {version.number}/{info.latest_version} ({version.status.value})"
        f"   bản đang phát: {info.approved_version or 'chưa có'}"
    )
    click.echo(f"Tiêu đề:     {version.title}")
    if version.tags:
        click.echo(f"Thẻ:         {', '.join(version.tags)}")
    if version.campaign:
        click.echo(f"Chiến dịch:  {version.campaign}")
    click.echo(
        f"Soạn:        {version.author or 'nhập từ tệp'} lúc {app.local(version.created_at)}"
    )
    if version.submitted_by:
        click.echo(f"Trình:       {version.submitted_by}")
    if version.reviewed_by:
        click.echo(f"Duyệt:       {version.reviewed_by} lúc {app.local(version.reviewed_at)}")
    if version.review_reason:
        click.echo(f"Ghi chú:     {version.review_reason}")
    if version.recording_info:
        info_ = version.recording_info
        aired = round(info_.get("aired_s", 0))
        click.echo(
            f"Bản ghi âm:  {info_.get('filename') or version.recording_sha256[:12]}, "
            f"phát {aired // 60}:{aired % 60:02d}, {info_.get('codec')} "
            f"{info_.get('sample_rate')} Hz"
        )
        for warning in info_.get("warnings", []):
            click.echo(f"Cảnh báo:    {warning['message'].format(**warning.get('params', {}))}")
    click.echo("")
    click.echo(version.body)


@scripts_group.command("record")
@click.argument("slug")
@click.argument("recording", metavar="FILE", type=click.Path(path_type=Path))
@click.option("--transcript", help="Lời của bản ghi (không bắt buộc; để tìm kiếm và đối chiếu).")
@click.option(
    "--transcript-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Tệp văn bản UTF-8 chứa lời của bản ghi.",
)
@click.option("--title", help="Tiêu đề; mặc định giữ tiêu đề của bản mới nhất.")
@click.option("--new", "new", is_flag=True, help="Tạo tin bài mới SLUG từ bản ghi (cần --title).")
@click.option("--unit", help="Với --new: đơn vị sở hữu; bỏ trống: toàn quốc.")
@user_options(required=False)
@pass_app
def record_cmd(
    app: AppContext,
    slug: str,
    recording: Path,
    transcript: str | None,
    transcript_file: Path | None,
    title: str | None,
    new: bool,
    unit: str | None,
    username: str | None,
    password: str | None,
) -> None:
    """Thêm bản ghi âm FILE (MP3, M4A/AAC, WAV, OGG/Opus, AMR, 3GP) làm phiên bản mới của
    SLUG (bản nháp, cần trình duyệt), hoặc tạo tin bài mới với --new."""
    from broadcaster.services import recordings
    from broadcaster.services.audio import renderer_for

    if not recording.is_file():
        raise NotFound("Không thấy tệp ghi âm '{path}'.", field="recording", path=str(recording))
    if transcript is not None and transcript_file is not None:
        raise InvalidInput(
            "Chỉ dùng một trong --transcript và --transcript-file.", field="transcript"
        )
    if transcript_file is not None:
        try:
            transcript = transcript_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise InvalidInput(
                "Không đọc được tệp lời '{path}' (cần văn bản UTF-8).",
                field="transcript_file",
                path=str(transcript_file),
            ) from None
    if unit and not new:
        raise InvalidInput("--unit chỉ dùng khi tạo tin bài mới (--new).", field="unit")

    def say(step: str) -> None:
        click.echo(step, err=True)

    settings = app.settings
    with app.session() as session:
        actor = acting(session, username, password, required=False)
        common = dict(
            filename=recording.name,
            audio_dir=settings.audio_dir,
            actor=actor,
            transcript=transcript,
            audio=settings.audio,
            progress=say,
            renderer=renderer_for(settings),
        )
        if new:
            added = recordings.create_recorded_script(
                session, slug, recording, title=title or "", unit=unit, **common
            )
        else:
            added = recordings.add_recording_full(session, slug, recording, title=title, **common)
        number = added.version.number
        seconds = round(added.asset.duration_ms / 1000)
    click.echo(
        f"Đã lưu bản ghi làm phiên bản {number} của '{slug}' (bản nháp): phát "
        f"{seconds // 60}:{seconds % 60:02d}, đã chuẩn hóa độ lớn. "
        f"Trình duyệt: broadcaster scripts submit {slug}"
    )
    for warning in added.warnings:
        click.echo(f"Cảnh báo: {warning}")


def _review_command(name: str, help_text: str):
    return scripts_group.command(name, help=help_text)


@_review_command("submit", "Trình duyệt bản nháp mới nhất của SLUG.")
@click.argument("slug")
@click.option("--version", "number", type=int, help="Phiên bản; mặc định bản nháp mới nhất.")
@user_options(required=True)
@pass_app
def submit_cmd(app, slug, number, username, password) -> None:
    with app.session() as session:
        info = svc.submit(session, acting(session, username, password, True), slug, number)
    click.echo(f"Đã trình duyệt '{info.slug}' phiên bản {info.latest_version}.")


@_review_command("approve", "Duyệt bản đã trình của SLUG (nguyên tắc bốn mắt).")
@click.argument("slug")
@click.option("--version", "number", type=int, help="Phiên bản; mặc định bản chờ duyệt mới nhất.")
@click.option("--note", default="", help="Ghi chú khi duyệt.")
@user_options(required=True)
@pass_app
def approve_cmd(app, slug, number, note, username, password) -> None:
    with app.session() as session:
        actor = acting(session, username, password, True)
        info = svc.approve(session, actor, slug, number, note)
    click.echo(f"Đã duyệt '{info.slug}': phiên bản {info.approved_version} là bản được phát.")


@_review_command("reject", "Từ chối bản đã trình của SLUG, kèm lý do.")
@click.argument("slug")
@click.option("--reason", required=True, help="Lý do từ chối (người soạn sẽ đọc).")
@click.option("--version", "number", type=int, help="Phiên bản; mặc định bản chờ duyệt mới nhất.")
@user_options(required=True)
@pass_app
def reject_cmd(app, slug, reason, number, username, password) -> None:
    with app.session() as session:
        actor = acting(session, username, password, True)
        info = svc.reject(session, actor, slug, reason, number)
    click.echo(f"Đã từ chối '{info.slug}'. Lý do: {reason}")


@_review_command("archive", "Lưu trữ SLUG: ngừng phát, giữ nguyên lịch sử.")
@click.argument("slug")
@click.option("--reason", default="", help="Lý do lưu trữ.")
@user_options(required=False)
@pass_app
def archive_cmd(app, slug, reason, username, password) -> None:
    with app.session() as session:
        actor = acting(session, username, password, False)
        info = svc.archive(session, actor, slug, reason)
    click.echo(f"Đã lưu trữ '{info.slug}'.")


def register(main: click.Group) -> None:
    main.add_command(scripts_group)
