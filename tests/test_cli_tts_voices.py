"""``broadcaster tts voices``: add, list and remove piper voices, with the real joe model."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Cli
from tests.tts.test_piper_voices import JOE_CONFIG, JOE_MODEL


@pytest.fixture
def voices_cli(tmp_path) -> Cli:
    """The CLI with its own voices folder; these commands never open the database."""
    return Cli(
        env={
            "BROADCASTER_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}",
            "BROADCASTER_INSTANCE_DIR": str(tmp_path / "instance"),
            "BROADCASTER_PIPER_VOICES_DIR": str(tmp_path / "voices"),
            "BROADCASTER_PIPER_VOICE": None,
            "BROADCASTER_CONFIG": None,
            "DATABASE_URL": None,
        }
    )


def test_add_list_remove(voices_cli, tmp_path):
    empty = voices_cli("tts", "voices", "list")
    assert empty.exit_code == 0 and "Chưa cài giọng piper nào" in empty.output

    added = voices_cli("tts", "voices", "add", str(JOE_MODEL), "--name", "joe")
    assert added.exit_code == 0, added.output
    assert "Đã cài giọng 'joe'" in added.stdout
    assert "en_US" in added.stdout and "22050 Hz" in added.stdout and "medium" in added.stdout
    assert "không phải tiếng Việt" in added.output  # an English voice reads Vietnamese wrong
    assert (tmp_path / "voices" / "joe.onnx").is_file()

    table = voices_cli("tts", "voices", "list")
    assert table.exit_code == 0
    assert "joe" in table.output and "22050 Hz" in table.output and "63 MB" in table.output

    listed = json.loads(voices_cli("tts", "voices", "list", "--json").stdout)
    assert listed["voices_dir"] == str(tmp_path / "voices")
    (voice,) = listed["voices"]
    assert voice["name"] == "joe" and voice["sample_rate"] == 22_050
    assert voice["language"] == "en_US" and voice["quality"] == "medium"
    assert len(voice["sha256"]) == 64

    again = voices_cli("tts", "voices", "add", str(JOE_MODEL), "--name", "joe")
    assert again.exit_code == 2 and "Đã có giọng tên 'joe'" in again.output
    assert "(--name)" in again.output

    removed = voices_cli("tts", "voices", "remove", "joe")
    assert removed.exit_code == 0 and "Đã gỡ giọng 'joe'" in removed.stdout
    assert not (tmp_path / "voices" / "joe.onnx").exists()
    assert json.loads(voices_cli("tts", "voices", "list", "--json").stdout)["voices"] == []


def test_remove_an_unknown_voice(voices_cli):
    result = voices_cli("tts", "voices", "remove", "nobody")
    assert result.exit_code == 2
    assert "Không có giọng piper tên 'nobody'" in result.output and "Traceback" not in result.output


def test_a_model_without_its_json(voices_cli, tmp_path):
    lonely = tmp_path / "in" / "en_US-joe-medium.onnx"
    lonely.parent.mkdir()
    lonely.symlink_to(JOE_MODEL)
    result = voices_cli("tts", "voices", "add", str(lonely))
    assert result.exit_code == 2
    assert "Thiếu tệp cấu hình en_US-joe-medium.onnx.json" in result.output
    assert "(FILE.onnx)" in result.output  # the argument the error is about


def test_a_corrupt_model(voices_cli, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "broken.onnx").write_bytes(JOE_MODEL.read_bytes()[:500_000])
    (folder / "broken.onnx.json").write_bytes(JOE_CONFIG.read_bytes())
    result = voices_cli("tts", "voices", "add", str(folder / "broken.onnx"))
    assert result.exit_code == 2 and "hỏng" in result.output
    assert "Traceback" not in result.output
    assert json.loads(voices_cli("tts", "voices", "list", "--json").stdout)["voices"] == []
