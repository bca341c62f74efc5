"""Personalising scripts for stations, and recording assets in the database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from broadcaster.audio.store import AssetRecord
from broadcaster.db import transaction
from broadcaster.models import AdminUnit, AudioAsset, Station
from broadcaster.services import audio, stations, units


@pytest.fixture
def two_provinces(factory, actor):
    with transaction(factory) as s:
        for province in ("Hà Tĩnh", "Hà Nội"):
            units.import_units(s, actor, province)
            stations.import_stations(s, actor, province)


def _station(session, code):
    return session.scalar(
        select(Station)
        .options(selectinload(Station.unit).selectinload(AdminUnit.parent))
        .where(Station.code == code)
    )


def test_placeholders_read_inside_a_sentence(factory, two_provinces):
    with factory() as s:
        ha_tinh = audio.station_context(_station(s, "18073"))
        ha_noi = audio.station_context(_station(s, "00070"))
    assert ha_tinh == {
        "ten_xa": "phường Thành Sen",
        "ten_tinh": "tỉnh Hà Tĩnh",
        "ten_dai": "Đài truyền thanh phường Thành Sen",
    }
    assert ha_noi["ten_tinh"] == "thành phố Hà Nội"
    assert ha_noi["ten_xa"] == "phường Hoàn Kiếm"
    body = "Kính thưa nhân dân {ten_xa}, {ten_tinh}! {ten_dai} xin thông báo."
    assert audio.fill(body, ha_tinh) == (
        "Kính thưa nhân dân phường Thành Sen, tỉnh Hà Tĩnh! "
        "Đài truyền thanh phường Thành Sen xin thông báo."
    )


def _record(sha: str) -> AssetRecord:
    return AssetRecord(
        sha256=sha,
        engine="espeak",
        requested_engine="auto",
        voice="vi",
        speed=1.0,
        title="Thông báo",
        station_code=None,
        text="xin chào",
        duration_ms=1234,
        loudness_lufs=-16.1,
        true_peak_db=-1.6,
        size_bytes=9876,
        bitrate_kbps=64,
        sample_rate=44_100,
        settings={"target_lufs": -16.0},
        format_version=1,
    )


def test_an_asset_is_recorded_once(factory):
    with transaction(factory) as s:
        first = audio.record_asset(s, _record("a" * 64), "assets/aa/x.mp3")
        again = audio.record_asset(s, _record("a" * 64), "assets/aa/x.mp3")
        assert again is first
    with transaction(factory) as s:
        audio.record_asset(s, _record("a" * 64), "assets/aa/x.mp3")
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(AudioAsset)) == 1
        row = s.scalar(select(AudioAsset))
        assert (row.duration_ms, row.settings, row.path) == (
            1234,
            {"target_lufs": -16.0},
            "assets/aa/x.mp3",
        )
