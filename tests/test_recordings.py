"""Recorded versions: upload, refusals leaving nothing behind, review, and airing the
mastered file (render job, Listen, planner), on both backends."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from broadcaster.db import transaction
from broadcaster.library import ScriptText
from broadcaster.models import (
    AudioAsset,
    AuditEvent,
    Script,
    ScriptVersion,
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
