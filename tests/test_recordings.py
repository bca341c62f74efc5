"""Recorded versions: upload, refusals leaving nothing behind, review, and airing the
mastered file (render job, Listen, planner), on both backends."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from broadcaster.audio.render import AudioRenderer
from broadcaster.config import AudioSettings
from broadcaster.db import transaction
from broadcaster.errors import Conflict, InvalidInput, PermissionDenied
from broadcaster.library import ScriptText
from broadcaster.models import (
    AudioAsset,
    AuditEvent,
    Script,
    ScriptVersion,
    Slot,
    User,
    VersionStatus,
)
from broadcaster.services import recordings, scripts, units, users
from tests import recordings as R
from tests.audio.probe import ffprobe, loudness

PASSWORD = "mat-khau-thu"
SLUG = "thong-bao-tiem-chung"


@pytest.fixture(scope="session")
def speech(tmp_path_factory):
    return R.speech_wav(tmp_path_factory.mktemp("speech"))


@pytest.fixture(scope="session")
def phone_m4a(tmp_path_factory, speech):
    return R.encode(speech, tmp_path_factory.mktemp("m4a") / "ghi-am", "m4a")


@pytest.fixture
def people(factory, actor, ha_tinh):
    with transaction(factory) as s:
        users.add_user(s, actor, "editor", "editor", PASSWORD, scope="42")
        users.add_user(s, actor, "approver", "approver", PASSWORD, scope="42")
    with factory() as s:
        return {
            u.username: users.actor_for(u)
            for u in s.scalars(select(User).options(selectinload(User.scope_unit)))
        }


@pytest.fixture
def script(factory, people):
    """A text script of Hà Tĩnh, approved (what a recording then replaces)."""
    with transaction(factory) as s:
        scripts.save_text(
            s,
            people["editor"],
            ScriptText(slug=SLUG, title="Tiêm chủng mở rộng", body="Bà con đưa trẻ đi tiêm."),
            unit=units.get_unit(s, "42"),
        )
    return SLUG


def _state(factory):
    with factory() as s:
        return (
            s.scalar(select(func.count()).select_from(Script)),
            s.scalar(select(func.count()).select_from(ScriptVersion)),
            s.scalar(select(func.count()).select_from(AudioAsset)),
            s.scalar(select(func.count()).select_from(AuditEvent)),
        )


def _add(factory, who, path, audio=None, **kw):
    with transaction(factory) as s:
        added = recordings.add_recording_full(
            s,
            SLUG,
            path,
            filename=path.name,
            audio_dir=kw.pop("audio_dir"),
            actor=who,
            audio=audio,
            **kw,
        )
        return added.version.number, added.asset.path, added.warnings


def test_a_recording_becomes_a_new_draft_version_with_its_mastered_mp3(
    factory, people, script, phone_m4a, tmp_path
):
    audio_dir = tmp_path / "audio"
    number, asset_path, warnings = _add(
        factory, people["editor"], phone_m4a, audio_dir=audio_dir, transcript="Bà con chú ý."
    )
    assert number == 2 and warnings == ()
    with factory() as s:
        v = s.scalar(select(ScriptVersion).where(ScriptVersion.number == 2))
        assert v.status is VersionStatus.DRAFT and v.body == "Bà con chú ý."
        assert v.title == "Tiêm chủng mở rộng"  # copied from the latest
        assert v.recording_path.startswith(f"recordings/{v.recording_sha256[:2]}/")
        assert (audio_dir / v.recording_path).read_bytes() == phone_m4a.read_bytes()
        info = v.recording_info
        assert info["codec"] == "aac" and info["sample_rate"] == 44100
        assert info["trim"][0] > 1.0 and info["duration_s"] - info["trim"][1] > 1.0
        text_v1 = s.scalar(select(ScriptVersion).where(ScriptVersion.number == 1))
        assert v.content_sha256 != text_v1.content_sha256
    mp3 = audio_dir / asset_path
    probe = ffprobe(mp3)
    assert (probe.codec, probe.sample_rate, probe.channels) == ("mp3", 44100, 1)
    aired = info["trim"][1] - info["trim"][0]
    assert abs(probe.duration_s - aired) < 0.2
    lufs, peak = loudness(mp3)
    assert abs(lufs + 16) <= 1.0 and peak <= -1.0
    assert probe.tags["title"] == "Tiêm chủng mở rộng"


def test_an_upload_from_a_stream_is_stored_the_same(factory, people, script, phone_m4a, tmp_path):
    audio_dir = tmp_path / "audio"
    with transaction(factory) as s:
        v = recordings.add_recording(
            s,
            SLUG,
            io.BytesIO(phone_m4a.read_bytes()),
            filename="tu-dien-thoai.m4a",
            audio_dir=audio_dir,
            actor=people["editor"],
        )
        assert v.recording_path.endswith(".m4a") and v.body == ""


# -- refusals: a clear message, and nothing kept ------------------------------------


def _not_audio(tmp_path, speech):
    fake = tmp_path / "van-ban.mp3"
    fake.write_text("Đây là văn bản, không phải âm thanh.\n" * 40)
    return fake, None


def _truncated_mp3(tmp_path, speech):
    whole = R.encode(speech, tmp_path / "day-du", "mp3")
    return R.truncated(whole, tmp_path / "cut.mp3", keep=0.6), None


def _cut_off_upload(tmp_path, speech):
    whole = R.encode(speech, tmp_path / "day-du", "m4a")
    return R.truncated(whole, tmp_path / "cut.m4a", keep=0.5), None


def _silent(tmp_path, speech):
    return R.silent(tmp_path / "im-lang.mp3"), None


def _too_big(tmp_path, speech):
    source = R.encode(speech, tmp_path / "to", "wav")
    return source, AudioSettings(recording_max_mb=1)  # the WAV is about 1.4 MB


def _too_long(tmp_path, speech):
    long = tmp_path / "dai.mp3"
    R.ffmpeg("-i", str(speech), "-af", "aloop=loop=15:size=2e6", "-c:a", "libmp3lame", str(long))
    return long, AudioSettings(recording_max_minutes=1)


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (_not_audio, "không phải âm thanh"),
        (_truncated_mp3, "cắt cụt"),
        (_cut_off_upload, "tải lên chưa hết"),
        (_silent, "im lặng"),
        (_too_big, "quá giới hạn 1"),
        (_too_long, "quá giới hạn 1:00"),
    ],
    ids=["not-audio", "truncated-mp3", "cut-off-upload", "silent", "too-big", "too-long"],
)
def test_a_bad_upload_is_refused_and_leaves_nothing(
    make, words, factory, people, script, speech, tmp_path
):
    (tmp_path / "in").mkdir()
    path, audio = make(tmp_path / "in", speech)
    audio_dir = tmp_path / "audio"
    before = _state(factory)
    with pytest.raises(InvalidInput) as caught:
        _add(factory, people["editor"], path, audio, audio_dir=audio_dir)
    assert caught.value.field == "recording"
    assert words in caught.value.message
    assert _state(factory) == before
    assert R.files_under(audio_dir) == []


def test_a_stream_over_the_size_limit_is_refused_while_it_arrives(
    factory, people, script, tmp_path
):
    class Endless(io.RawIOBase):
        """An upload that never ends: the refusal must come before it is all read."""

        read_bytes = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            self.read_bytes += len(buffer)
            assert self.read_bytes < 50 * 1024 * 1024, "read far past the limit"
            buffer[:] = b"\0" * len(buffer)
            return len(buffer)

    audio_dir = tmp_path / "audio"
    with pytest.raises(InvalidInput) as caught, transaction(factory) as s:
        recordings.add_recording(
            s,
            SLUG,
            io.BufferedReader(Endless()),
            filename="vo-tan.wav",
            audio_dir=audio_dir,
            actor=people["editor"],
            audio=AudioSettings(recording_max_mb=2),
        )
    assert "quá giới hạn 2" in caught.value.message
    assert R.files_under(audio_dir) == []


def test_only_writers_of_the_scope_may_add_a_recording(
    factory, actor, people, script, phone_m4a, tmp_path
):
    with transaction(factory) as s:
        users.add_user(s, actor, "auditor", "auditor", PASSWORD, scope="42")
        auditor = users.actor_for(s.scalar(select(User).where(User.username == "auditor")))
    with pytest.raises(PermissionDenied):
        _add(factory, auditor, phone_m4a, audio_dir=tmp_path / "audio")
    assert R.files_under(tmp_path / "audio") == []


# -- review and airing ----------------------------------------------------------------


def test_a_recording_is_reviewed_like_text_and_a_new_one_needs_approval_again(
    factory, people, script, phone_m4a, speech, tmp_path
):
    audio_dir = tmp_path / "audio"
    editor, approver = people["editor"], people["approver"]
    with transaction(factory) as s:
        scripts.submit(s, editor, SLUG)
        scripts.approve(s, approver, SLUG)  # version 1: the text
    _add(factory, editor, phone_m4a, audio_dir=audio_dir)
    with transaction(factory) as s:
        scripts.submit(s, editor, SLUG)
    with pytest.raises(PermissionDenied), transaction(factory) as s:
        scripts.approve(s, editor, SLUG)  # four eyes
    with transaction(factory) as s:
        info = scripts.approve(s, approver, SLUG)
    assert info.approved_version == 2 and info.latest.is_recording
    assert info.latest.recording_info["codec"] == "aac"
    # another recording: a new draft; version 2 keeps airing until it is approved
    other = R.encode(speech, tmp_path / "lan-2", "ogg-opus")
    number, _, _ = _add(factory, editor, other, audio_dir=audio_dir, title="Tiêm chủng (bản 2)")
    with factory() as s:
        info = scripts.get_script(s, SLUG)
    assert (number, info.approved_version, info.state) == (3, 2, "draft")
    assert info.latest.title == "Tiêm chủng (bản 2)" and info.latest.body == ""
    assert len(R.files_under(audio_dir / "recordings")) == 2


def _slots(factory, campaign_id, version_id, codes, start):
    from broadcaster.models import Station
    from broadcaster.planning.calendar import week_label

    ids = []
    with transaction(factory) as s:
        for n, code in enumerate(codes):
            station_id = s.scalar(select(Station.id).where(Station.code == code))
            slot = Slot(
                station_id=station_id,
                campaign_id=campaign_id,
                occurrence=f"rec#{n}",
                script_version_id=version_id,
                week=week_label(start.date()),
                planned_start=start,
                window_end=start + timedelta(minutes=30),
                position=0,
                duration_ms=20_000,
            )
            s.add(slot)
            s.flush()
            ids.append(slot.id)
    return ids


def _approve_recording(factory, slug, path, audio_dir, audio=None):
    """A recorded version of ``slug`` (made by the planning fixtures' users), approved."""
    with factory() as s:
        editor = users.actor_for(s.scalar(select(User).where(User.username == "soan")))
        approver = users.actor_for(s.scalar(select(User).where(User.username == "duyet")))
    with transaction(factory) as s:
        v = recordings.add_recording(
            s, slug, path, filename=path.name, audio_dir=audio_dir, actor=editor, audio=audio
        )
        scripts.submit(s, editor, slug)
        scripts.approve(s, approver, slug)
        return v.id, v.recording_info


def test_the_render_job_gives_every_station_the_same_mastered_recording(
    factory, campaign, phone_m4a, tmp_path
):
    from broadcaster import clock
    from broadcaster.services.audio import render_pending

    audio_dir = tmp_path / "audio"
    campaign_id = campaign("TINH", "42", script_slugs=("chuong-trinh",))
    version_id, info = _approve_recording(factory, "tinh-chuong-trinh", phone_m4a, audio_dir)
    codes = ["18073", "18100"]
    slot_ids = _slots(factory, campaign_id, version_id, codes, clock.utcnow() + timedelta(hours=1))
    renderer = AudioRenderer(audio_dir, AudioSettings(engine="espeak"))
    done = render_pending(factory, renderer, campaign_id=campaign_id)
    assert (done.attached, done.failed) == (2, [])
    with factory() as s:
        slots = [s.get(Slot, i) for i in slot_ids]
        assert len({slot.audio_asset_id for slot in slots}) == 1
        asset = s.get(AudioAsset, slots[0].audio_asset_id)
        assert (asset.engine, asset.station_code) == ("recording", None)
        aired_ms = round((info["trim"][1] - info["trim"][0]) * 1000)
        assert abs(asset.duration_ms - aired_ms) <= 5
        assert all(slot.duration_ms == asset.duration_ms for slot in slots)
    assert len(R.files_under(audio_dir / "assets")) == 2  # one MP3 and its sidecar
    # the batch render of every approved script makes no second file either
    from broadcaster.services.audio import render_approved

    with transaction(factory) as s:
        summary = render_approved(s, renderer)
    assert not summary.failed
    assert {o.label for o in summary.cached} >= {"tinh-chuong-trinh"}
    assert len(R.files_under(audio_dir / "assets")) == 2


def test_the_planner_counts_a_recording_by_its_length(factory, campaign, speech, tmp_path):
    from broadcaster.planning import plan
    from tests.planning.fixtures import MONDAY, TZ

    long = tmp_path / "chuong-trinh.mp3"
    R.ffmpeg("-i", str(speech), "-af", "aloop=loop=8:size=2e6", "-c:a", "libmp3lame", str(long))
    campaign_id = campaign("TINH", "18073", script_slugs=("bai",), words=8)
    _, info = _approve_recording(factory, "tinh-bai", long, tmp_path / "audio")
    with transaction(factory) as s:
        plan(s, now=MONDAY, tz=TZ, days=7, campaign_ids=[campaign_id])
    with factory() as s:
        durations = set(s.scalars(select(Slot.duration_ms).where(Slot.campaign_id == campaign_id)))
    assert durations == {round(info["aired_s"] * 1000)}
    assert info["aired_s"] > 30  # far longer than eight words read aloud


def test_listen_plays_the_recording_not_a_voice_reading_the_transcript(
    factory, people, script, phone_m4a, tmp_path
):
    from broadcaster.services.script_preview import render_preview

    audio_dir = tmp_path / "audio"
    _add(factory, people["editor"], phone_m4a, audio_dir=audio_dir, transcript="Bà con chú ý.")
    renderer = AudioRenderer(audio_dir, AudioSettings(engine="espeak"))
    with transaction(factory) as s:
        preview = render_preview(s, renderer, people["approver"], SLUG, version=2)
        asset = recordings.recording_asset(s, renderer, scripts.load_script(s, SLUG).latest)
    assert preview.engine == "recording" and preview.sha256 == asset.sha256
    assert preview.cached  # mastered at upload: the approver does not wait
    assert not (audio_dir / "pieces").exists()  # no speech was synthesised


def test_a_province_programme_is_a_new_script_owned_by_the_province(
    factory, people, phone_m4a, tmp_path
):
    audio_dir = tmp_path / "audio"
    with transaction(factory) as s:
        added = recordings.create_recorded_script(
            s,
            "chuong-trinh-tinh",
            phone_m4a,
            filename=phone_m4a.name,
            audio_dir=audio_dir,
            actor=people["editor"],
            title="Chương trình phát thanh của tỉnh",
            unit="42",
        )
        assert added.version.number == 1
    with factory() as s:
        info = scripts.get_script(s, "chuong-trinh-tinh")
    assert (info.unit_code, info.state, info.latest.is_recording) == ("42", "draft", True)
    for slug, title, problem in [
        ("chuong-trinh-tinh", "Lần hai", "Đã có tin bài"),
        ("Không Hợp Lệ", "Tiêu đề", "không hợp lệ"),
        ("ban-moi", "   ", "Cần tiêu đề"),
    ]:
        with pytest.raises((InvalidInput, Conflict)) as caught, transaction(factory) as s:
            recordings.create_recorded_script(
                s, slug, phone_m4a, filename="x.m4a", audio_dir=audio_dir,
                actor=people["editor"], title=title, unit="42",
            )  # fmt: skip
        assert problem in caught.value.message


def test_the_same_file_uploaded_twice_is_kept_once(factory, people, script, phone_m4a, tmp_path):
    audio_dir = tmp_path / "audio"
    _, first, _ = _add(factory, people["editor"], phone_m4a, audio_dir=audio_dir)
    _, second, _ = _add(factory, people["editor"], phone_m4a, audio_dir=audio_dir, title="Khác")
    assert first == second
    assert len(R.files_under(audio_dir / "recordings")) == 1
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(AudioAsset)) == 1


def test_editing_the_text_of_a_recorded_script_edits_its_transcript(
    factory, people, script, phone_m4a, tmp_path
):
    _add(factory, people["editor"], phone_m4a, audio_dir=tmp_path / "audio", transcript="Cũ.")
    with factory() as s:
        recorded = scripts.get_script(s, SLUG).latest
    title = recorded.title
    with transaction(factory) as s:
        same = ScriptText(slug=SLUG, title=title, body="Cũ.", tags=recorded.tags)
        assert scripts.save_text(s, people["editor"], same)[0] == "unchanged"
        outcome, info = scripts.save_text(
            s, people["editor"], ScriptText(slug=SLUG, title=title, body="Lời đã sửa.")
        )
    assert outcome == "versioned" and info.latest_version == 3
    assert info.latest.body == "Lời đã sửa."
    assert info.latest.recording_sha256 == recorded.recording_sha256  # the recording stays
    assert info.latest.recording_info == recorded.recording_info
