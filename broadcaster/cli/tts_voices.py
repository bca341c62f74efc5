"""``broadcaster tts voices``: install, list and remove piper voices (giọng piper)."""

from __future__ import annotations

from pathlib import Path

import click

from broadcaster.cli.context import AppContext, echo_json, echo_table, pass_app
from broadcaster.errors import InvalidInput


def _voices_dir(app: AppContext) -> Path:
    voices_dir = app.settings.audio.piper_voices_dir
    if voices_dir is None:
        raise InvalidInput(
            "Chưa biết thư mục giọng piper: đặt BROADCASTER_PIPER_VOICES_DIR "
            "(hoặc BROADCASTER_INSTANCE_DIR, giọng nằm trong instance/voices)."
        )
    return voices_dir


def _size(size_bytes: int) -> str:
    return f"{size_bytes / 1_000_000:.0f} MB"


@click.group("voices")
def voices_group() -> None:
    """Giọng piper đã cài (mô hình .onnx kèm tệp .onnx.json), đọc ngoại tuyến."""


@voices_group.command("add")
@click.argument("voice_file", metavar="FILE.onnx", type=click.Path(path_type=Path))
@click.option("--name", help="Tên giọng (mặc định: tên tệp, ví dụ vi_VN-vais1000-medium).")
@pass_app
def add_cmd(app: AppContext, voice_file: Path, name: str | None) -> None:
    """Kiểm tra rồi cài giọng FILE.onnx cùng tệp FILE.onnx.json bên cạnh nó."""
    from broadcaster.tts import piper_voices

    click.echo(f"Đang kiểm tra {voice_file} (nạp mô hình và đọc thử một câu)…", err=True)
    voice = piper_voices.add(_voices_dir(app), voice_file, name)
    click.echo(
        f"Đã cài giọng '{voice.name}': ngôn ngữ {voice.language} (espeak-ng "
        f"{voice.espeak_voice}), {voice.sample_rate} Hz, chất lượng {voice.quality or '—'}, "
        f"{_size(voice.size_bytes)}, sha256 {voice.sha256[:12]}."
    )
    if not voice.is_vietnamese:
        click.echo(
            f"Lưu ý: giọng này không phải tiếng Việt ({voice.language}); "
            "văn bản tiếng Việt sẽ bị đọc sai.",
            err=True,
        )


@voices_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="In ra JSON.")
@pass_app
def list_cmd(app: AppContext, as_json: bool) -> None:
    """Liệt kê các giọng piper đã cài."""
    from broadcaster.tts import piper_voices

    voices_dir = _voices_dir(app)
    voices = piper_voices.list_voices(voices_dir)
    if as_json:
        echo_json(
            {
                "voices_dir": str(voices_dir),
                "voices": [
                    {
                        "name": v.name,
                        "language": v.language,
                        "espeak_voice": v.espeak_voice,
                        "sample_rate": v.sample_rate,
                        "quality": v.quality,
                        "size_bytes": v.size_bytes,
                        "sha256": v.sha256,
                        "added_at": v.added_at,
                    }
                    for v in voices
                ],
            }
        )
        return
    if not voices:
        click.echo(
            f"Chưa cài giọng piper nào trong {voices_dir}. "
            "Cài một giọng: broadcaster tts voices add TỆP.onnx"
        )
        return
    click.echo(f"Giọng piper trong {voices_dir}:")
    echo_table(
        ["Tên", "Ngôn ngữ", "Tần số", "Chất lượng", "Dung lượng", "sha256"],
        [
            (
                v.name,
                v.language,
                f"{v.sample_rate} Hz",
                v.quality or "—",
                _size(v.size_bytes),
                v.sha256[:12],
            )
            for v in voices
        ],
    )


@voices_group.command("remove")
@click.argument("name")
@pass_app
def remove_cmd(app: AppContext, name: str) -> None:
    """Gỡ giọng NAME (xóa hai tệp của nó khỏi thư mục giọng)."""
    from broadcaster.tts import piper_voices

    voice = piper_voices.remove(_voices_dir(app), name)
    click.echo(f"Đã gỡ giọng '{voice.name}'.")
