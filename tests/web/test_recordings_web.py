"""Recordings in the admin (bản ghi âm), on both backends: upload, refusals, review.

Real files made by ffmpeg (the product's imageio-ffmpeg binary), real mastering,
checked after mastering with the independent ffprobe; the review is the approver's
own page, four eyes.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from broadcaster.audio._ffmpeg import ffmpeg_exe
from broadcaster.config import load_settings
from broadcaster.models import ScriptVersion, VersionStatus
from broadcaster.webapp import create_app
from tests.api.world import stop_listening
from tests.audio.probe import ffprobe
from tests.web.conftest import Web, text, web_env
from tests.web.scripts_scene import add_editor, script, seed, version_count

TRANSCRIPT = "Kính thưa bà con, đây là thông báo về lịch tiêm phòng dại cho chó mèo."


def make_audio(
    folder: Path,
    name: str,
    codec: list[str],
    *,
    rate: int = 44_100,
    seconds: float = 3.0,
    volume_db: float = -12.0,
) -> Path:
    """A short voice-like sound (a tone that rises and falls), encoded as asked."""
    out = folder / name
    tone = f"sine=frequency=220:sample_rate={rate}:duration={seconds}"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", tone, "-af",
         f"tremolo=f=3:d=0.6,volume={volume_db}dB", "-ac", "1", "-ar", str(rate),
         *codec, str(out)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return out


FORMATS = {
    "m4a": ["-c:a", "aac", "-b:a", "64k"],
    "ogg": ["-c:a", "libopus", "-b:a", "32k"],
    "amr": ["-c:a", "libopencore_amrnb", "-b:a", "12.2k"],
}


def upload(web: Web, client, slug: str, path: Path, **fields):
    with path.open("rb") as fh:
        data = {"recording": (fh, path.name), **fields}
        return web.post(
            client, f"/scripts/{slug}/recording", data, content_type="multipart/form-data"
        )


def versions(web, slug: str) -> list[ScriptVersion]:
    with web.factory() as s:
        from broadcaster.models import Script

        script_id = s.scalar(select(Script.id).where(Script.slug == slug))
        rows = s.scalars(
            select(ScriptVersion)
            .where(ScriptVersion.script_id == script_id)
            .order_by(ScriptVersion.number)
        ).all()
        s.expunge_all()
        return list(rows)


@pytest.mark.parametrize("fmt", ["m4a", "ogg", "amr"])
def test_an_editor_uploads_a_recording_as_a_new_version(web, tmp_path, fmt):
    rate = {"amr": 8000, "ogg": 48_000}.get(fmt, 44_100)
    source = make_audio(tmp_path, f"doc.{fmt}", FORMATS[fmt], rate=rate)
    seed(web, "tiem-phong")
    editor = web.client("bientap")
    page = text(editor.get("/scripts/tiem-phong/recording"))
    assert 'accept="' in page and ".amr" in page and ".m4a" in page and 'id="recorder"' in page

    response = upload(web, editor, "tiem-phong", source, transcript=TRANSCRIPT)
    assert response.status_code == 302, text(response)
    assert response.headers["Location"].endswith("/scripts/tiem-phong")

    latest = versions(web, "tiem-phong")[-1]
    assert latest.number == 2 and latest.status is VersionStatus.DRAFT
    assert latest.recording_sha256 and latest.body == TRANSCRIPT
    assert latest.title == "tiem-phong"  # kept from version 1

    page = text(editor.get("/scripts/tiem-phong"))
    assert 'id="recording-audio"' in page and TRANSCRIPT in page
    assert 'id="listen"' not in page  # the synthesised voice's Listen is not for recordings
    mp3 = editor.get("/scripts/tiem-phong/recording/2.mp3")
    assert mp3.status_code == 200 and mp3.mimetype == "audio/mpeg"
    out = tmp_path / "out.mp3"
    out.write_bytes(mp3.get_data())
    probe = ffprobe(out)
    assert probe.codec == "mp3" and probe.channels == 1 and probe.sample_rate == 44_100
    assert 1.5 < probe.duration_s < 4.0
    if fmt == "amr":  # 8 kHz: the low sample rate is said, on the page
        assert 'id="recording-warnings"' in page and "8" in page
    # version 1 (text) has no recording to play
    assert editor.get("/scripts/tiem-phong/recording/1.mp3").status_code == 404


def test_a_new_script_from_a_recording_is_found_by_its_transcript(web, tmp_path):
    source = make_audio(tmp_path, "zalo.m4a", FORMATS["m4a"])
    editor = web.client("bientap")
    assert editor.get("/scripts/new/recording").status_code == 200
    with source.open("rb") as fh:
        response = web.post(
            editor,
            "/scripts/new/recording",
            {
                "recording": (fh, "zalo.m4a"),
                "title": "Lịch tiêm phòng dại",
                "transcript": TRANSCRIPT,
            },
            content_type="multipart/form-data",
        )
    assert response.status_code == 302, text(response)
    info = script(web, "lich-tiem-phong-dai")
    assert info.unit_code == "42" and info.latest.body == TRANSCRIPT
    found = text(editor.get("/scripts/?q=chó mèo"))
    assert 'data-slug="lich-tiem-phong-dai"' in found and 'data-test="recorded"' in found
    assert 'data-slug="lich-tiem-phong-dai"' not in text(editor.get("/scripts/?q=bão lũ"))


def test_the_page_recorder_sends_json_and_gets_the_script_address(web, tmp_path):
    source = make_audio(tmp_path, "ghi-am.webm", ["-c:a", "libopus", "-f", "webm"], rate=48_000)
    seed(web, "mic")
    editor = web.client("bientap")
    with source.open("rb") as fh:
        response = web.post(
            editor,
            "/scripts/mic/recording",
            {"recording": (fh, "ghi-am.webm")},
            content_type="multipart/form-data",
            headers={"Accept": "application/json"},
        )
    assert response.status_code == 200, text(response)
    assert response.get_json()["url"] == "/scripts/mic"
    latest = versions(web, "mic")[-1]
    assert latest.recording_sha256 and latest.body == ""  # no transcript: an empty body
    assert "Chưa có bản ghi lời" in text(editor.get("/scripts/mic"))


def test_not_audio_is_refused_beside_the_file_and_nothing_is_kept(web, tmp_path):
    seed(web, "rac")
    fake = tmp_path / "thong-bao.mp3"
    fake.write_text("Đây không phải âm thanh, chỉ là chữ.\n" * 50)
    editor = web.client("bientap")
    before = version_count(web)
    response = upload(web, editor, "rac", fake, transcript="x")
    assert response.status_code == 400
    page = text(response)
    assert 'id="recording-error"' in page and "âm thanh" in page
    assert version_count(web) == before
    audio = web.settings.audio_dir / "recordings"
    assert not audio.exists() or not [p for p in audio.rglob("*") if p.is_file()]
    # JSON for the page's recorder, same refusal
    with fake.open("rb") as fh:
        answer = web.post(
            editor,
            "/scripts/rac/recording",
            {"recording": (fh, "x.webm")},
            content_type="multipart/form-data",
            headers={"Accept": "application/json"},
        )
    assert answer.status_code == 400 and answer.get_json()["errors"]["recording"]
    # no file at all
    response = web.post(editor, "/scripts/rac/recording", {"transcript": "x"})
    assert response.status_code == 400 and "Chọn tệp ghi âm" in text(response)


@pytest.fixture
def small_web(db_url, tmp_path, factory, actor, ha_tinh, web):
    """The admin with BROADCASTER_RECORDING_MAX_MB=1."""
    env = {**web_env(db_url, tmp_path), "BROADCASTER_RECORDING_MAX_MB": "1"}
    settings = load_settings(env=env, cwd=tmp_path)
    app = create_app(settings)
    app.config["TESTING"] = True
    yield Web(app, settings, factory)
    stop_listening(app)


def test_a_file_over_the_limit_is_413_with_the_limit_said(small_web, tmp_path):
    seed(small_web, "to-qua")
    big = make_audio(tmp_path, "dai.wav", ["-c:a", "pcm_s16le"], seconds=30)  # ~2.6 MB
    assert big.stat().st_size > 2 * 1024 * 1024
    editor = small_web.client("bientap")
    response = upload(small_web, editor, "to-qua", big)
    assert response.status_code == 413
    assert "tối đa 1 MB" in text(response)
    with big.open("rb") as fh:
        answer = small_web.post(
            editor,
            "/scripts/to-qua/recording",
            {"recording": (fh, "dai.wav")},
            content_type="multipart/form-data",
            headers={"Accept": "application/json"},
        )
    assert answer.status_code == 413 and "1 MB" in answer.get_json()["error"]
    assert len(versions(small_web, "to-qua")) == 1
    # the page says the limit, and the recorder checks it before sending
    page = text(editor.get("/scripts/to-qua/recording"))
    assert f'data-max-bytes="{1024 * 1024}"' in page and "tối đa 1 MB" in page


def test_the_default_limit_lets_a_200_mb_programme_through(web):
    assert web.settings.audio.recording_max_mb == 200
    assert web.app.config["MAX_CONTENT_LENGTH"] >= 200 * 1024 * 1024


def test_an_upload_cut_off_midway_is_400_and_keeps_nothing(web, tmp_path):
    seed(web, "dut")
    source = make_audio(tmp_path, "dut.wav", ["-c:a", "pcm_s16le"], seconds=5)
    editor = web.client("bientap")
    boundary = "----cut"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f"{web.csrf(editor)}\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="recording"; '
        f'filename="dut.wav"\r\nContent-Type: audio/wav\r\n\r\n'
    ).encode()
    whole = head + source.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    sent = whole[: len(whole) // 2]  # the connection dropped half-way
    response = editor.post(
        "/scripts/dut/recording",
        input_stream=io.BytesIO(sent),
        content_type=f"multipart/form-data; boundary={boundary}",
        content_length=len(whole),
    )
    assert response.status_code == 400
    assert "ngắt giữa chừng" in text(response)
    assert len(versions(web, "dut")) == 1
    audio = web.settings.audio_dir / "recordings"
    assert not audio.exists() or not [p for p in audio.rglob("*") if p.is_file()]


@pytest.mark.parametrize("who", ["kiemtra", "daixa"])
def test_only_writers_upload(web, tmp_path, who):
    seed(web, "chi-nguoi-soan")
    source = make_audio(tmp_path, "a.m4a", FORMATS["m4a"], seconds=2)
    client = web.client(who)
    assert client.get("/scripts/chi-nguoi-soan/recording").status_code == 403
    assert upload(web, client, "chi-nguoi-soan", source).status_code == 403
    assert len(versions(web, "chi-nguoi-soan")) == 1
    assert client.get("/scripts/new/recording").status_code == 403


def test_a_commune_editor_cannot_record_the_province_s_script(web, tmp_path):
    add_editor(web, "bientapxa", "18100")
    seed(web, "cua-ha-tinh")
    source = make_audio(tmp_path, "a.m4a", FORMATS["m4a"], seconds=2)
    assert upload(web, web.client("bientapxa"), "cua-ha-tinh", source).status_code == 403
    assert len(versions(web, "cua-ha-tinh")) == 1


def test_the_approver_sees_the_warnings_hears_it_and_approves(web, tmp_path):
    seed(web, "nho-qua")
    quiet = make_audio(tmp_path, "nho.wav", ["-c:a", "pcm_s16le"], rate=11_025, volume_db=-30)
    editor = web.client("bientap")
    assert upload(web, editor, "nho-qua", quiet, transcript=TRANSCRIPT).status_code == 302
    info = json.loads(json.dumps(versions(web, "nho-qua")[-1].recording_info))
    codes = {w["code"] for w in info["warnings"]}
    assert len(codes) >= 2, codes  # too quiet, and 11 kHz
    editor_page = text(editor.get("/scripts/nho-qua"))
    assert editor_page.count("<li>") >= 2 and 'id="recording-warnings"' in editor_page
    assert web.post(editor, "/scripts/nho-qua/submit", {"version": "2"}).status_code == 302

    approver = web.client("duyet")
    page = text(approver.get("/scripts/nho-qua"))
    assert 'id="recording-warnings"' in page and 'id="recording-audio"' in page
    warnings = page.split('id="recording-warnings"')[1].split("</ul>")[0]
    assert warnings.count("<li>") == len(info["warnings"])
    assert 'id="heard"' in page and TRANSCRIPT in page
    assert approver.get("/scripts/nho-qua/recording/2.mp3").status_code == 200
    # looking at the old text version, the pending recording is still beside the approve box
    older = text(approver.get("/scripts/nho-qua?version=1"))
    assert 'id="review-audio"' in older and 'id="review-warnings"' in older
    assert 'id="recording-audio"' not in older

    # approving without saying it was heard is refused beside the box
    refused = web.post(approver, "/scripts/nho-qua/approve", {"version": "2"})
    assert refused.status_code == 400 and 'id="heard-error"' in text(refused)
    assert script(web, "nho-qua").approved_version is None
    ok = web.post(approver, "/scripts/nho-qua/approve", {"version": "2", "heard": "1"})
    assert ok.status_code == 302
    assert script(web, "nho-qua").approved_version == 2

    # a new recording is a new version: version 2 airs until it is approved again
    again = make_audio(tmp_path, "lai.ogg", FORMATS["ogg"], rate=48_000)
    assert upload(web, editor, "nho-qua", again).status_code == 302
    after = script(web, "nho-qua")
    assert after.latest_version == 3 and after.approved_version == 2
    assert after.latest.status is VersionStatus.DRAFT


def test_four_eyes_hold_for_recordings(web, tmp_path):
    # the approver who recorded it cannot approve it
    seed(web, "tu-ghi", author="duyet")
    source = make_audio(tmp_path, "a.m4a", FORMATS["m4a"], seconds=2)
    approver = web.client("duyet")
    assert upload(web, approver, "tu-ghi", source).status_code == 302
    assert web.post(approver, "/scripts/tu-ghi/submit", {"version": "2"}).status_code == 302
    page = text(approver.get("/scripts/tu-ghi"))
    assert 'id="four-eyes"' in page and 'id="action-approve"' not in page
    refused = web.post(approver, "/scripts/tu-ghi/approve", {"version": "2", "heard": "1"})
    assert refused.status_code == 403
    assert script(web, "tu-ghi").approved_version is None


def test_the_transcript_changes_and_the_recording_stays(web, tmp_path):
    seed(web, "sua-loi")
    editor = web.client("bientap")
    source = make_audio(tmp_path, "a.m4a", FORMATS["m4a"], seconds=2)
    assert upload(web, editor, "sua-loi", source, transcript="Bản cũ").status_code == 302
    page = text(editor.get("/scripts/sua-loi/recording"))
    assert 'id="recording-keep"' in page and "Bản cũ" in page  # prefilled
    assert 'id="editor-recorded"' in text(editor.get("/scripts/sua-loi/edit"))

    # no file chosen: a new version with the new transcript and the same recording
    response = web.post(editor, "/scripts/sua-loi/recording", {"transcript": TRANSCRIPT})
    assert response.status_code == 302, text(response)
    old, new = versions(web, "sua-loi")[-2:]
    assert new.number == 3 and new.body == TRANSCRIPT
    assert new.recording_sha256 == old.recording_sha256
    # nothing changed: no version
    same = web.post(editor, "/scripts/sua-loi/recording", {"transcript": TRANSCRIPT})
    assert same.status_code == 302 and len(versions(web, "sua-loi")) == 3


def test_an_expired_form_is_said_to_the_page_recorder_in_json(web, tmp_path):
    seed(web, "het-han")
    source = make_audio(tmp_path, "a.m4a", FORMATS["m4a"], seconds=2)
    editor = web.client("bientap")
    with source.open("rb") as fh:
        answer = editor.post(
            "/scripts/het-han/recording",
            data={"recording": (fh, "a.m4a")},  # no CSRF token
            content_type="multipart/form-data",
            headers={"Accept": "application/json"},
        )
    assert answer.status_code == 400 and "CSRF" in answer.get_json()["error"]
    assert len(versions(web, "het-han")) == 1


def test_through_the_real_server_too_big_is_413_and_a_cut_off_keeps_nothing(small_web):
    """As ``broadcaster serve`` runs it (uvicorn, a2wsgi): the 413 page reaches a plain
    form post, and a client gone mid-upload leaves no version and no file behind."""
    import socket

    import requests

    from tests.agent.live import FrontServer
    from tests.web.conftest import PASSWORD, csrf_of

    seed(small_web, "that")
    server = FrontServer(small_web.app)
    try:
        browser = requests.Session()
        token = csrf_of(browser.get(server.url + "/login").text)
        login = {"username": "bientap", "password": PASSWORD, "csrf_token": token}
        assert browser.post(server.url + "/login", data=login).ok
        token = csrf_of(browser.get(server.url + "/scripts/that/recording").text)
        big = browser.post(
            server.url + "/scripts/that/recording",
            data={"csrf_token": token},
            files={"recording": ("dai.wav", b"\1" * (3 * 1024 * 1024), "audio/wav")},
        )
        assert big.status_code == 413 and "tối đa 1 MB" in big.text

        boundary = "----cut"
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f'{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name="recording"; '
            f'filename="a.wav"\r\n\r\n'
        ).encode() + b"\1" * 600_000
        host, port = server.url.removeprefix("http://").split(":")
        cookies = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(
                (
                    f"POST /scripts/that/recording HTTP/1.1\r\nHost: {host}\r\n"
                    f"Cookie: {cookies}\r\nContent-Length: {len(body) * 2}\r\n"
                    f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n"
                ).encode()
                + body
            )
            sock.shutdown(socket.SHUT_WR)  # the phone lost its signal half-way
            while sock.recv(65536):
                pass
        # the server is fine, and kept nothing
        assert browser.get(server.url + "/scripts/that").status_code == 200
        assert len(versions(small_web, "that")) == 1
        audio = small_web.settings.audio_dir / "recordings"
        assert not audio.exists() or not [p for p in audio.rglob("*") if p.is_file()]
    finally:
        server.stop()
