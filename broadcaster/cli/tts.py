"""``broadcaster tts``: normalise Vietnamese for speech, synthesise and render audio."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from broadcaster.cli.context import AppContext, echo_json, pass_app, progress_bar
from broadcaster.errors import InvalidInput

ENGINE_CHOICE = click.Choice(["auto", "gtts", "espeak", "piper", "fptai"])


def _renderer(app: AppContext):
    from broadcaster.services.audio import renderer_for

    return renderer_for(app.settings)


@click.group("tts")
def tts_group() -> None:
    """Âm thanh: chuẩn hóa văn bản để đọc, tổng hợp giọng nói, tạo MP3 phát sóng."""


@tts_group.command("normalize")
@click.argument("text", required=False)
@pass_app
def normalize_cmd(app: AppContext, text: str | None) -> None:
    """In dạng đọc của TEXT; không có TEXT thì đọc từng dòng từ stdin, in mỗi dòng một kết quả."""
    from broadcaster.text import NormaliseOptions, load_abbreviations, normalise_checked

    audio = app.settings.audio
    options = NormaliseOptions(
        abbreviations=load_abbreviations(audio.abbreviations_file),
        document_numbers=audio.document_numbers,
    )

    def unread(spoken) -> None:  # on stderr: stdout stays one spoken line per line
        if spoken.unread:
            click.echo("Chưa rõ cách đọc: " + ", ".join(spoken.unread), err=True)

    if text is not None:
        spoken = normalise_checked(text, options)
        click.echo(spoken.text)
        unread(spoken)
        return
    stdin = click.get_text_stream("stdin", encoding="utf-8", errors="replace")
    out = click.get_text_stream("stdout", encoding="utf-8")
    for line in stdin:
        # one output line per input line, whatever the normaliser does inside a line
        spoken = normalise_checked(line.rstrip("\r\n"), options)
        out.write(spoken.text.replace("\n", " ") + "\n")
        out.flush()
        unread(spoken)


@tts_group.command("engines")
@click.option("--json", "as_json", is_flag=True, help="In ra JSON.")
@pass_app
def engines_cmd(app: AppContext, as_json: bool) -> None:
    """Thứ tự bộ máy đọc đang dùng, rồi từng bộ máy: có dùng được ngay bây giờ không (hỏi
    thử máy chủ), vì sao, và các giọng của nó."""
    from broadcaster.audio.engine_order import resolve_order
    from broadcaster.tts import ENGINES, build_engine

    audio = app.settings.audio
    rows = []
    for name in ENGINES:
        try:
            engine = build_engine(name, audio)
            availability = engine.reachable()
            voices = [{"id": v.id, "description": v.description} for v in engine.voices()]
            row = {"usable": availability.usable, "detail": availability.detail, "voices": voices}
        except ImportError as exc:  # the engine's package is not installed here
            row = {
                "usable": False,
                "detail": f"chưa cài thư viện ({exc.name or exc})",
                "voices": [],
            }
        rows.append({"name": name, **row})
    ready = next((r["usable"] for r in rows if r["name"] == "piper"), False)
    order = resolve_order(audio, None, lambda: ready)
    for row in rows:  # 1, 2, … in the order; None: not tried
        row["position"] = (
            order.engines.index(row["name"]) + 1 if row["name"] in order.engines else None
        )
    rows.sort(key=lambda r: r["position"] or len(rows) + 1)
    if as_json:
        echo_json(rows)
        return
    shorthand = f" = {','.join(order.engines)}" if order.policy == "auto" else ""
    click.echo(f"Thứ tự đọc: {order.policy}{shorthand} (bộ máy sau đọc khi bộ máy trước lỗi)")
    for row in rows:
        mark = "dùng được" if row["usable"] else "KHÔNG dùng được"
        place = f"thứ {row['position']}" if row["position"] else "ngoài thứ tự"
        click.echo(f"- {row['name']} ({place}): {mark} — {row['detail']}")
        for v in row["voices"]:
            click.echo(f"    giọng {v['id']}: {v['description']}")


def _report(result, out: Path | None) -> None:
    r = result.record
    for warning in result.warnings:
        click.echo(f"Cảnh báo: {warning}", err=True)
    where = result.path
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(result.path, out)
        where = out
    state = "có sẵn (không đọc lại)" if result.cached else "vừa tạo"
    click.echo(
        f"{where}: {state}, bộ máy {r.engine}/{r.voice}, {r.duration_ms / 1000:.1f} giây, "
        f"{r.loudness_lufs:.1f} LUFS, đỉnh {r.true_peak_db:.1f} dBTP, mã {r.sha256[:12]}"
    )


@tts_group.command("synth")
@click.argument("text", required=False)
@click.option(
    "--file",
    "file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Đọc văn bản từ tệp UTF-8.",
)
@click.option("--script", "slug", help="Mã tin bài (bản đã duyệt).")
@click.option("--station", help="Mã đài, để điền {ten_xa}, {ten_tinh}, {ten_dai}.")
@click.option(
    "--latest", is_flag=True, help="Với --script: nghe thử bản mới nhất, kể cả chưa duyệt."
)
@click.option("--engine", type=ENGINE_CHOICE, help="Bộ máy đọc (mặc định theo cấu hình: auto).")
@click.option("--voice", help="Giọng; xem: broadcaster tts engines.")
@click.option("--title", help="Tiêu đề ghi vào thẻ MP3 (với TEXT hoặc --file).")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Chép tệp MP3 ra đây."
)
@pass_app
def synth_cmd(app, text, file, slug, station, latest, engine, voice, title, output) -> None:
    """Tạo MP3 phát sóng từ TEXT, --file hoặc --script (mỗi nội dung chỉ đọc một lần)."""
    from broadcaster.audio.render import RenderRequest

    sources = [s for s in (text, file, slug) if s]
    if len(sources) != 1:
        raise InvalidInput("Cho đúng một nguồn: TEXT, --file TỆP hoặc --script MÃ.")
    renderer = _renderer(app)
    if slug:
        from broadcaster.services.audio import render_script

        with app.session() as session, _piece_bar() as progress:
            result = render_script(
                session,
                renderer,
                slug,
                station,
                latest=latest,
                engine=engine,
                voice=voice,
                progress=progress,
            )
        _report(result, output)
        return
    if file:
        try:
            text = file.read_bytes().decode("utf-8-sig")
        except OSError as exc:
            raise InvalidInput(f"Không đọc được tệp {file}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"Tệp {file} không phải UTF-8 (byte {exc.start}).") from exc
    request = RenderRequest(text=text, title=title or (file.stem if file else "Thông báo"))
    with _piece_bar() as progress:
        result = renderer.render(request, engine=engine, voice=voice, progress=progress)
    _report(result, output)


class _piece_bar:
    """A progress bar over a text's pieces, shown only on a terminal."""

    def __enter__(self):
        self._bar = None
        return self.update

    def update(self, done: int, total: int) -> None:
        if not sys.stderr.isatty():
            return
        if self._bar is None:
            self._bar = progress_bar(total, "Đang đọc").__enter__()
        self._bar.update(1)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


@tts_group.command("render")
@click.option("--approved", is_flag=True, required=True, help="Mọi tin bài đã duyệt.")
@click.option("--engine", type=ENGINE_CHOICE, help="Bộ máy đọc.")
@click.option("--voice", help="Giọng.")
@click.option("--json", "as_json", is_flag=True, help="In tóm tắt dạng JSON.")
@pass_app
def render_cmd(app: AppContext, approved: bool, engine, voice, as_json: bool) -> None:
    """Tạo âm thanh cho mọi tin đã duyệt (từng đài nếu tin có chỗ điền), rồi gắn âm thanh
    cho mọi lượt phát trong 48 giờ tới còn thiếu."""
    from broadcaster.services.audio import approved_jobs, pending_slots, render_approved
    from broadcaster.services.audio import render_pending as attach

    renderer = _renderer(app)
    with app.session() as session:
        total = len(approved_jobs(session))
        with progress_bar(total, "Tạo âm thanh") as bar:
            summary = render_approved(
                session, renderer, engine=engine, voice=voice, progress=lambda _o: bar.update(1)
            )
        session.commit()
        waiting = len(pending_slots(session))
    with progress_bar(waiting, "Gắn âm thanh cho lượt phát") as bar:
        slots = attach(
            app.sessions, renderer, engine=engine, voice=voice, progress=lambda *_: bar.update(1)
        )
    from broadcaster.services.relay_backups import attach_backups

    backups = attach_backups(app.sessions, renderer)  # relays: their backup file only
    if as_json:
        echo_json(
            {
                "done": [o.label for o in summary.done],
                "cached": [o.label for o in summary.cached],
                "failed": [{"item": o.label, "reason": o.error} for o in summary.failed],
                "slots_attached": slots.attached,
                "slots_failed": [{"slot": i, "reason": r} for i, r in slots.failed],
                "relay_backups_attached": backups.changed,
                "relay_backups_failed": [{"source": n, "reason": r} for n, r in backups.failed],
            }
        )
    else:
        click.echo(
            f"{total} bản: {len(summary.done)} vừa tạo, {len(summary.cached)} có sẵn, "
            f"{len(summary.failed)} lỗi."
        )
        for o in summary.failed:
            click.echo(f"  lỗi {o.label}: {o.error}")
        click.echo(f"Lượt phát trong 48 giờ tới: {slots.say()}.")
        for slot_id, reason in slots.failed[:20]:
            click.echo(f"  lỗi lượt {slot_id}: {reason}")
        if backups.changed:
            click.echo(f"Tiếp âm: {backups.changed} lượt có tệp dự phòng mới.")
        for source, reason in backups.failed:
            click.echo(f"  lỗi tệp dự phòng của nguồn tiếp âm {source}: {reason}")
    if summary.failed or slots.failed or backups.failed:
        sys.exit(1)


def register(main: click.Group) -> None:
    from broadcaster.cli.tts_voices import voices_group

    tts_group.add_command(voices_group)
    main.add_command(tts_group)
