"""Configuration: defaults, the optional file, environment, and clear errors."""

from __future__ import annotations

import stat

import pytest

from broadcaster.config import ConfigError, load_settings, normalise_database_url


def test_defaults_are_sqlite_under_instance_and_a_kept_secret_key(tmp_path):
    settings = load_settings(env={}, cwd=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'instance' / 'broadcaster.db'}"
    assert settings.audio_dir == tmp_path / "audio"
    assert settings.timezone == "Asia/Ho_Chi_Minh"
    key_file = tmp_path / "instance" / "secret_key"
    assert key_file.read_text().strip() == settings.secret_key
    assert len(settings.secret_key) >= 40
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # the second start reuses the kept key, so sessions survive a restart
    assert load_settings(env={}, cwd=tmp_path).secret_key == settings.secret_key


def test_environment_wins_over_file_and_defaults(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "broadcaster.toml").write_text(
        'timezone = "Asia/Bangkok"\naudio_dir = "/srv/file-audio"\n', encoding="utf-8"
    )
    settings = load_settings(
        env={"BROADCASTER_AUDIO_DIR": "/srv/env-audio", "BROADCASTER_SECRET_KEY": "k" * 50},
        cwd=tmp_path,
    )
    assert settings.timezone == "Asia/Bangkok"
    assert str(settings.audio_dir) == "/srv/env-audio"
    assert settings.secret_key == "k" * 50
    assert not (instance / "secret_key").exists()


def test_database_url_fallback_and_postgres_driver(tmp_path):
    env = {"DATABASE_URL": "postgres://u@db:5432/x", "BROADCASTER_SECRET_KEY": "s"}
    assert load_settings(env=env, cwd=tmp_path).database_url == "postgresql+psycopg://u@db:5432/x"
    env["BROADCASTER_DATABASE_URL"] = "sqlite:////tmp/a.db"
    assert load_settings(env=env, cwd=tmp_path).database_url == "sqlite:////tmp/a.db"
    assert normalise_database_url("postgresql://a@b/c") == "postgresql+psycopg://a@b/c"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BROADCASTER_TIMEZONE": "Asia/Hanoi_City"}, "Múi giờ không hợp lệ"),
        ({"BROADCASTER_DATABASE_URL": "mysql://root@localhost/x"}, "không được hỗ trợ: 'mysql'"),
        ({"BROADCASTER_PUBLIC_URL": "loa.hatinh.gov.vn"}, "http:// hoặc https://"),
        ({"BROADCASTER_RATELIMIT_STORAGE": "memcached://x"}, "memory:// hoặc redis://"),
    ],
)
def test_bad_values_are_named(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(env={**env, "BROADCASTER_SECRET_KEY": "s"}, cwd=tmp_path)


def test_unknown_key_in_file_suggests_the_right_one(tmp_path):
    path = tmp_path / "conf.toml"
    path.write_text('timezon = "Asia/Ho_Chi_Minh"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="có phải ý bạn là 'timezone'"):
        load_settings(env={"BROADCASTER_CONFIG": str(path)}, cwd=tmp_path)


def test_broken_file_is_reported(tmp_path):
    path = tmp_path / "conf.toml"
    path.write_text("timezone = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match="sai cú pháp TOML"):
        load_settings(env={"BROADCASTER_CONFIG": str(path)}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="Không đọc được"):
        load_settings(env={"BROADCASTER_CONFIG": str(tmp_path / "missing.toml")}, cwd=tmp_path)


def test_audio_defaults_and_overrides(tmp_path):
    default = load_settings(env={"BROADCASTER_SECRET_KEY": "s"}, cwd=tmp_path).audio
    assert (default.engine, default.loudness_lufs, default.true_peak_db, default.mp3_bitrate) == (
        "auto",
        -16.0,
        -1.0,
        64,
    )
    chime = tmp_path / "chuong.wav"
    chime.write_bytes(b"RIFF")
    audio = load_settings(
        env={
            "BROADCASTER_SECRET_KEY": "s",
            "BROADCASTER_TTS_ENGINE": "ESPEAK",
            "BROADCASTER_TTS_SPEED": "1,25",
            "BROADCASTER_MP3_BITRATE": "96",
            "BROADCASTER_CHIME": "chuong.wav",
            "BROADCASTER_DOCUMENT_NUMBERS": "compact",
        },
        cwd=tmp_path,
    ).audio
    assert (audio.engine, audio.speed, audio.mp3_bitrate) == ("espeak", 1.25, 96)
    assert audio.chime == str(chime) and audio.document_numbers == "compact"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BROADCASTER_TTS_ENGINE": "espek"}, "có phải 'espeak'"),
        ({"BROADCASTER_MP3_BITRATE": "65"}, "không phải tốc độ MP3 chuẩn"),
        ({"BROADCASTER_LOUDNESS_LUFS": "-3"}, "trong khoảng -30–-10"),
        ({"BROADCASTER_TTS_SPEED": "nhanh"}, "phải là một số"),
        ({"BROADCASTER_CHIME": "khong-co.wav"}, "không thấy tệp nhạc hiệu"),
        ({"BROADCASTER_ABBREVIATIONS_FILE": "x.tsv"}, "không thấy tệp 'x.tsv'"),
    ],
)
def test_bad_audio_settings_are_named(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(env={**env, "BROADCASTER_SECRET_KEY": "s"}, cwd=tmp_path)
