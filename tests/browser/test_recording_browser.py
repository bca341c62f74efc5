"""A recording made in the page with the microphone, heard and approved, in a real browser.

Chromium's fake microphone plays a WAV made by ffmpeg in the test
(``--use-fake-device-for-media-stream --use-file-for-fake-audio-capture``; the
permission prompt answered yes by ``--use-fake-ui-for-media-stream``). The editor
records a few seconds on the script's page, hears it back and sends it; the
approver plays the mastered MP3 to its end in the page's player, which opens the
"heard it" box, and approves.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from sqlalchemy import select

from broadcaster.audio._ffmpeg import ffmpeg_exe
from broadcaster.models import Script, ScriptVersion
from tests.browser.conftest import CHROMIUM_ARGS, new_page_as, sign_in, watch
from tests.web.scripts_scene import seed

SLUG = "loa-xa-tiem-phong"


@pytest.fixture
def mic_browser(browser, chromium_path, tmp_path):
    """Another chromium whose microphone 'hears' a voice-like sound made by ffmpeg."""
    voice = tmp_path / "micro.wav"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi",
         "-i", "sine=frequency=220:sample_rate=48000:duration=20",
         "-af", "tremolo=f=3:d=0.6,volume=-9dB", "-ac", "1", "-c:a", "pcm_s16le", str(voice)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={voice}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    fake = browser.browser_type.launch(executable_path=chromium_path, args=args)
    yield fake
    fake.close()


@pytest.fixture
def mic_context(mic_browser, live):
    context = mic_browser.new_context(
        viewport={"width": 1366, "height": 768}, locale="vi-VN", permissions=["microphone"]
    )
    context.set_default_timeout(20_000)
    yield context
    context.close()


def test_an_approver_hears_and_approves_a_recording_made_in_the_page(mic_context, live):
    seed(live, SLUG, title="Tiêm phòng dại cho chó mèo")
    editor = watch(mic_context.new_page(), live)
    sign_in(editor, live, "bientap")
    editor.goto(live.at(f"/scripts/{SLUG}"))
    editor.get_by_role("link", name="Thêm bản ghi âm (phiên bản mới)").click()
    editor.get_by_label(re.compile("^Bản ghi lời")).fill(
        "Kính thưa bà con, tuần này xã tổ chức tiêm phòng dại cho chó mèo."
    )

    # record a few seconds: the clock runs, then stop and hear it back
    editor.get_by_role("button", name="Ghi âm", exact=True).click()
    editor.get_by_text("Đang ghi âm…").wait_for()
    editor.locator("#rec-time").filter(has_text=re.compile(r"^0:0[3-9]$")).wait_for()
    editor.get_by_role("button", name="Dừng").click()
    preview = editor.locator("#rec-preview")
    preview.wait_for()
    assert preview.get_attribute("src").startswith("blob:")
    seconds = editor.wait_for_function(
        "() => { const a = document.getElementById('rec-preview');"
        " return a.readyState >= 1 ? a.duration || 1 : false; }"
    ).json_value()
    assert seconds > 0

    # send it through the same route as a file; the page becomes the script's page
    editor.get_by_role("button", name="Gửi bản ghi âm").click()
    editor.wait_for_url(re.compile(rf"/scripts/{SLUG}$"), timeout=60_000)
    editor.get_by_role("heading", name=re.compile("^Bản ghi âm — phiên bản 2")).wait_for()
    editor.get_by_role("button", name=re.compile("^Trình duyệt phiên bản 2")).click()
    editor.get_by_text("Chờ duyệt").first.wait_for()
    with live.factory() as s:
        version = s.scalar(
            select(ScriptVersion)
            .join(Script, Script.id == ScriptVersion.script_id)
            .where(Script.slug == SLUG, ScriptVersion.number == 2)
        )
        assert version.recording_sha256 and version.recording_info["codec"] == "opus"
        assert version.recording_info["duration_s"] >= 2.5

    # the approver plays the mastered recording to its end, then may approve
    approver = new_page_as(mic_context, live, "duyet")
    approver.goto(live.at(f"/scripts/{SLUG}"))
    audio = approver.locator("#recording-audio")
    src = audio.get_attribute("src")
    mp3 = approver.request.get(live.at(src))
    assert mp3.ok and mp3.headers["content-type"].startswith("audio/mpeg")
    heard = approver.get_by_label("Tôi đã nghe hết bản ghi âm đã xử lý")
    assert heard.is_disabled()  # not before it was played to its end
    approver.get_by_text("Ô này mở khi bản ghi âm đã phát đến hết.").wait_for()
    audio.evaluate("a => a.play()")
    approver.wait_for_function(
        "() => document.getElementById('recording-audio').ended", timeout=60_000
    )
    played = audio.evaluate("a => a.duration")
    assert played > 2  # the mastered file decoded and played in the page
    heard.check()
    approver.get_by_role("button", name="Duyệt", exact=True).click()
    approver.get_by_text("Đã duyệt").first.wait_for()
    with live.factory() as s:
        script = s.scalar(select(Script).where(Script.slug == SLUG))
        assert script.approved_version.number == 2
        assert script.approved_version.recording_sha256


def test_an_editor_uploads_a_phone_file_with_the_progress_bar(page, live, tmp_path):
    seed(live, SLUG, title="Tiêm phòng dại cho chó mèo")
    phone = tmp_path / "zalo.m4a"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi",
         "-i", "sine=frequency=220:sample_rate=44100:duration=3",
         "-af", "tremolo=f=3:d=0.6,volume=-12dB", "-c:a", "aac", str(phone)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    sign_in(page, live, "bientap")
    page.goto(live.at(f"/scripts/{SLUG}/recording"))
    page.get_by_label(re.compile("^Tệp ghi âm")).set_input_files(str(phone))
    page.get_by_role("button", name="Tải lên và lưu bản nháp").click()
    page.wait_for_url(re.compile(rf"/scripts/{SLUG}$"), timeout=60_000)
    page.get_by_text("Đã lưu bản ghi âm thành phiên bản 2").wait_for()
    assert page.locator("#recording-audio").count() == 1

    # a file that is not audio: the message beside the file, the page kept
    fake = tmp_path / "thong-bao.mp3"
    fake.write_text("không phải âm thanh\n" * 100)
    page.goto(live.at(f"/scripts/{SLUG}/recording"))
    page.get_by_label(re.compile("^Tệp ghi âm")).set_input_files(str(fake))
    page.get_by_role("button", name="Tải lên và lưu bản nháp").click()
    error = page.locator("#recording-error")
    error.wait_for()
    assert "âm thanh" in error.inner_text()
    assert page.url.endswith(f"/scripts/{SLUG}/recording")


def test_no_microphone_is_said_in_words(page, context, live):
    # this chromium has no audio capture device at all
    context.grant_permissions(["microphone"])
    seed(live, SLUG)
    sign_in(page, live, "bientap")
    page.goto(live.at(f"/scripts/{SLUG}/recording"))
    page.get_by_role("button", name="Ghi âm", exact=True).click()
    page.locator("#rec-status").filter(has_text="Không tìm thấy micrô").wait_for()
    assert page.get_by_role("button", name="Ghi âm", exact=True).is_enabled()


def test_a_refused_microphone_is_said_in_words(browser, chromium_path, live):
    # a microphone exists, and the person says no to the browser's question
    denying = browser.browser_type.launch(
        executable_path=chromium_path,
        args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream"],
    )
    try:
        context = denying.new_context(locale="vi-VN")
        context.set_default_timeout(15_000)
        page = watch(context.new_page(), live)
        seed(live, SLUG)
        sign_in(page, live, "bientap")
        page.goto(live.at(f"/scripts/{SLUG}/recording"))
        page.get_by_role("button", name="Ghi âm", exact=True).click()
        page.locator("#rec-status").filter(has_text="Micrô bị từ chối").wait_for()
        assert not live.problems, live.problems
    finally:
        denying.close()
