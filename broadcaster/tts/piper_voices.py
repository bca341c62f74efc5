"""Installed piper voices (giọng piper đã cài): add, list and remove them in one folder.

A piper voice is two files: the ONNX model (``NAME.onnx``) and its configuration
(``NAME.onnx.json``: sample rate, espeak-ng voice, phoneme map). A province copies the
files of the voice it chose onto the server and installs them once with
``broadcaster tts voices add``; nothing is downloaded at run time.

Installing checks that the pair belongs together before anything is copied, because a
configuration from another model does not fail loudly: piper would speak noise or skip
phonemes. The checks, in order:

* the JSON sits beside the model and is a complete piper configuration whose phoneme
  ids all lie below its ``num_symbols``, whose sample rate matches its quality (piper
  trains ``x_low``/``low`` at 16 kHz, ``medium``/``high`` at 22.05 kHz), and whose
  declared language, dataset and quality match a model named the piper way
  (``vi_VN-vais1000-medium.onnx``);
* onnxruntime loads the model (a truncated or corrupt file fails here) and it has
  piper's inputs (``sid`` exactly when the JSON says several speakers);
* the model's phoneme table has exactly ``num_symbols`` rows: the last id the JSON
  allows is accepted and the next one is out of bounds (the sample rate is not stored
  in the model, so the quality rule above stands in for it);
* a short sentence in the voice's language is phonemised by its espeak-ng voice, every
  phoneme is in the map, and the synthesis gives finite, audible samples.

The folder holds ``voices.json``, a versioned manifest: for each voice its files,
language, espeak-ng voice, sample rate, quality, size and sha256. Only this module
writes it, under a lock file, and every file lands by an atomic rename.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from broadcaster.errors import Conflict, InvalidInput, NotFound, Words
from broadcaster.tts.base import EngineUnavailable

log = logging.getLogger(__name__)

MANIFEST = "voices.json"
MANIFEST_VERSION = 1
INSTALL_HINT = "cài thêm: pip install 'broadcaster[piper]'"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# how piper names its published voices: language_REGION-dataset-quality
_PIPER_FILE_NAME = re.compile(r"^([a-z]{2,3}_[A-Z]{2})-(.+)-(x_low|low|medium|high)$")
_QUALITY_RATE = {"x_low": 16_000, "low": 16_000, "medium": 22_050, "high": 22_050}
_SAMPLE_TEXT = {"vi": "Xin chào bà con.", "en": "Hello everyone."}


@dataclass(frozen=True)
class InstalledVoice:
    """One installed voice, as the manifest records it."""

    name: str
    model: str  # file name inside the voices folder
    config: str
    language: str  # the config's language.code (e.g. "vi_VN"), else its espeak voice
    espeak_voice: str
    sample_rate: int
    quality: str | None
    size_bytes: int
    sha256: str  # of the model file
    added_at: str

    @property
    def is_vietnamese(self) -> bool:
        return self.language.lower().startswith("vi") or self.espeak_voice.lower() == "vi"

    def model_path(self, voices_dir: Path) -> Path:
        return voices_dir / self.model

    def config_path(self, voices_dir: Path) -> Path:
        return voices_dir / self.config


# -- the manifest -------------------------------------------------------------------


def list_voices(voices_dir: Path | None) -> list[InstalledVoice]:
    """The installed voices, by name; none when the folder or manifest is absent."""
    if voices_dir is None:
        return []
    path = Path(voices_dir) / MANIFEST
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise InvalidInput(
            "Không đọc được danh sách giọng {path}: {error}", path=str(path), error=str(exc)
        ) from exc
    if not isinstance(raw, dict) or raw.get("version") != MANIFEST_VERSION:
        raise InvalidInput(
            "Danh sách giọng {path} có phiên bản {version}, phần mềm này đọc phiên bản {ours}.",
            path=str(path),
            version=raw.get("version") if isinstance(raw, dict) else None,
            ours=MANIFEST_VERSION,
        )
    voices = []
    for name, entry in sorted(raw.get("voices", {}).items()):
        voices.append(InstalledVoice(name=name, **entry))
    return voices


def _write_manifest(voices_dir: Path, voices: list[InstalledVoice]) -> None:
    payload = {
        "version": MANIFEST_VERSION,
        "voices": {
            v.name: {k: val for k, val in asdict(v).items() if k != "name"}
            for v in sorted(voices, key=lambda v: v.name)
        },
    }
    data = json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    fd, tmp = tempfile.mkstemp(dir=voices_dir, prefix=".voices-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, voices_dir / MANIFEST)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _locked(voices_dir: Path) -> Iterator[None]:
    """One writer of the folder at a time (two ``voices add`` run together)."""
    voices_dir.mkdir(parents=True, exist_ok=True)
    with open(voices_dir / ".voices.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# -- checking a model and its configuration -------------------------------------------


def _bad(message: str, **params: object) -> InvalidInput:
    return InvalidInput(message, field="voice_file", **params)


def _read_config(json_path: Path) -> dict:
    try:
        config = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _bad(
            "Tệp cấu hình giọng {path} không đọc được (không phải JSON hợp lệ): {error}",
            path=str(json_path),
            error=str(exc),
        ) from exc
    problems = []
    if not isinstance(config, dict):
        config, problems = {}, ["không phải một đối tượng JSON"]
    audio = config.get("audio")
    rate = audio.get("sample_rate") if isinstance(audio, dict) else None
    if not isinstance(rate, int) or not 8_000 <= rate <= 48_000:
        problems.append("audio.sample_rate")
    espeak = config.get("espeak")
    if not isinstance(espeak, dict) or not isinstance(espeak.get("voice"), str):
        problems.append("espeak.voice")
    for key in ("num_symbols", "num_speakers"):
        if not isinstance(config.get(key), int) or config[key] < 1:
            problems.append(key)
    id_map = config.get("phoneme_id_map")
    if not isinstance(id_map, dict) or not all(
        isinstance(ids, list) and ids and all(isinstance(i, int) for i in ids)
        for ids in id_map.values()
    ):
        problems.append("phoneme_id_map")
    if problems:
        raise _bad(
            "Tệp {path} không phải cấu hình giọng piper: thiếu hoặc sai {fields}.",
            path=str(json_path),
            fields=", ".join(problems),
        )
    return config


def _check_consistent(config: dict, model_name: str, json_path: Path) -> None:
    """The configuration agrees with itself and with the model's piper-style name."""
    num_symbols = config["num_symbols"]
    outside = sorted(
        p
        for p, ids in config["phoneme_id_map"].items()
        if any(not 0 <= i < num_symbols for i in ids)
    )
    missing = [s for s in ("_", "^", "$") if s not in config["phoneme_id_map"]]
    if outside or missing:
        raise _bad(
            "Cấu hình {path} tự mâu thuẫn: bảng âm vị có mã ngoài 0…{last} ({outside}) "
            "hoặc thiếu ký hiệu bắt buộc ({missing}).",
            path=str(json_path),
            last=num_symbols - 1,
            outside=", ".join(outside[:5]) or "—",
            missing=", ".join(missing) or "—",
        )
    rate = config["audio"]["sample_rate"]
    quality = config["audio"].get("quality")
    if quality in _QUALITY_RATE and rate != _QUALITY_RATE[quality]:
        raise _bad(
            "Cấu hình {path} ghi chất lượng '{quality}' nhưng tần số lấy mẫu {rate} Hz "
            "(giọng piper '{quality}' dùng {expected} Hz): tệp JSON của một mô hình khác?",
            path=str(json_path),
            quality=quality,
            rate=rate,
            expected=_QUALITY_RATE[quality],
        )
    named = _PIPER_FILE_NAME.match(model_name.removesuffix(".onnx"))
    if named is None:
        return  # a voice trained locally may be named anything
    declared = {
        "language.code": (config.get("language") or {}).get("code"),
        "dataset": config.get("dataset"),
        "audio.quality": quality,
    }
    for (key, said), from_name in zip(declared.items(), named.groups(), strict=True):
        if said is not None and said != from_name:
            raise _bad(
                "Tệp cấu hình {path} là của mô hình khác: {key} là '{said}' nhưng tên mô "
                "hình {model} cho biết '{expected}'.",
                path=str(json_path),
                key=key,
                said=said,
                model=model_name,
                expected=from_name,
            )


def _import_piper():
    try:
        import onnxruntime
        import piper
    except ImportError as exc:
        raise EngineUnavailable(
            "Chưa cài gói piper-tts để dùng giọng piper: {hint}.", hint=Words(INSTALL_HINT)
        ) from exc
    return piper, onnxruntime


def _check_model(model_path: Path, json_path: Path, config: dict, shown: str) -> None:
    """Load the pair with onnxruntime and piper and speak a short sentence."""
    piper, onnxruntime = _import_piper()
    _probe_tables(onnxruntime, model_path, config, shown)
    _speak_sample(piper, model_path, json_path, config, shown)


def _probe_tables(onnxruntime, model_path: Path, config: dict, shown: str) -> None:
    """The model loads, has piper's inputs, and its tables are the sizes the JSON says."""
    import numpy as np

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4  # the probes below fail on purpose; keep stderr clean
    try:
        session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own types for a corrupt file
        raise _bad(
            "Tệp mô hình {path} hỏng hoặc không phải mô hình ONNX: {error}",
            path=shown,
            error=str(exc).splitlines()[0][:200],
        ) from exc
    inputs = {i.name for i in session.get_inputs()}
    wanted = {"input", "input_lengths", "scales"} | (
        {"sid"} if config["num_speakers"] > 1 else set()
    )
    if inputs != wanted:
        raise _bad(
            "Mô hình {path} không khớp cấu hình: đầu vào {inputs}, cấu hình cần {wanted}.",
            path=shown,
            inputs=", ".join(sorted(inputs)),
            wanted=", ".join(sorted(wanted)),
        )

    def runs(symbol: int, speaker: int = 0) -> bool:
        ids = np.array([[1, 0, symbol, 0, 2]], dtype=np.int64)
        args = {
            "input": ids,
            "input_lengths": np.array([ids.shape[1]], dtype=np.int64),
            "scales": np.array([0.667, 1.0, 0.8], dtype=np.float32),
        }
        if "sid" in inputs:
            args["sid"] = np.array([speaker], dtype=np.int64)
        try:
            session.run(None, args)
        except Exception:  # out-of-bounds Gather: the table is smaller than asked
            return False
        return True

    num_symbols, speakers = config["num_symbols"], config["num_speakers"]
    if not runs(num_symbols - 1) or runs(num_symbols):
        raise _bad(
            "Tệp cấu hình không phải của mô hình {path}: cấu hình ghi {symbols} âm vị, "
            "bảng âm vị của mô hình có số khác.",
            path=shown,
            symbols=num_symbols,
        )
    if speakers > 1 and (not runs(0, speakers - 1) or runs(0, speakers)):
        raise _bad(
            "Tệp cấu hình không phải của mô hình {path}: cấu hình ghi {speakers} người đọc, "
            "mô hình có số khác.",
            path=shown,
            speakers=speakers,
        )


def _speak_sample(piper, model_path: Path, json_path: Path, config: dict, shown: str) -> None:
    import numpy as np

    try:
        voice = piper.PiperVoice.load(model_path, json_path)
        sentence = _SAMPLE_TEXT.get(voice.config.espeak_voice.split("-")[0], "1 2 3.")
        phonemes = [p for s in voice.phonemize(sentence) for p in s]
        unknown = sorted({p for p in phonemes if p not in voice.config.phoneme_id_map})
        chunks = list(voice.synthesize(sentence))
    except Exception as exc:  # piper: RuntimeError (espeak voice), ValueError, onnx errors
        raise _bad(
            "Giọng {path} không đọc thử được câu '{sentence}': {error}",
            path=shown,
            sentence=_SAMPLE_TEXT.get(config["espeak"]["voice"].split("-")[0], "1 2 3."),
            error=str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__,
        ) from exc
    if unknown:
        raise _bad(
            "Tệp cấu hình không khớp giọng đọc espeak-ng '{espeak}' của nó: các âm vị "
            "{unknown} không có trong bảng âm vị.",
            path=shown,
            espeak=config["espeak"]["voice"],
            unknown=" ".join(unknown),
        )
    samples = np.concatenate([c.audio_float_array for c in chunks]) if chunks else np.zeros(0)
    if samples.size < 1000 or not np.all(np.isfinite(samples)) or np.abs(samples).max() < 1e-3:
        raise _bad("Giọng {path} đọc thử ra âm thanh rỗng hoặc hỏng.", path=shown)


def _copy_hashing(source: Path, target: Path) -> str:
    digest = hashlib.sha256()
    with open(source, "rb") as src, open(target, "wb") as dst:
        while block := src.read(1 << 20):
            digest.update(block)
            dst.write(block)
        dst.flush()
        os.fsync(dst.fileno())
    return digest.hexdigest()


# -- add / remove -------------------------------------------------------------------


def add(voices_dir: Path, onnx_path: Path, name: str | None = None) -> InstalledVoice:
    """Check ``onnx_path`` and the ``.onnx.json`` beside it, and install both as ``name``."""
    onnx_path = Path(onnx_path)
    if onnx_path.name.endswith(".onnx.json"):
        raise _bad(
            "Hãy đưa tệp mô hình .onnx (không phải tệp cấu hình {path}).", path=str(onnx_path)
        )
    if not onnx_path.is_file():
        raise _bad("Không có tệp mô hình {path}.", path=str(onnx_path))
    if onnx_path.suffix != ".onnx":
        raise _bad("Tệp mô hình giọng piper phải có đuôi .onnx: {path}.", path=str(onnx_path))
    json_path = onnx_path.with_name(onnx_path.name + ".json")
    if not json_path.is_file():
        raise _bad(
            "Thiếu tệp cấu hình {json} bên cạnh mô hình {path}: một giọng piper gồm cả hai tệp.",
            json=json_path.name,
            path=str(onnx_path),
        )
    name = name if name is not None else onnx_path.name.removesuffix(".onnx")
    if not _NAME.match(name):
        raise InvalidInput(
            "Tên giọng '{name}' không hợp lệ: chỉ dùng chữ không dấu, số, '.', '_', '-' "
            "(tối đa 64 ký tự).",
            field="name",
            name=name,
        )
    config = _read_config(json_path)
    _check_consistent(config, onnx_path.name, json_path)
    voices_dir = Path(voices_dir)
    with _locked(voices_dir):
        installed = list_voices(voices_dir)
        if any(v.name == name for v in installed):
            raise Conflict(
                "Đã có giọng tên '{name}'. Gỡ nó trước (broadcaster tts voices remove {name}) "
                "hoặc đặt tên khác (--name).",
                field="name",
                name=name,
            )
        work = Path(tempfile.mkdtemp(dir=voices_dir, prefix=".adding-"))
        try:
            # check the copies, so what is installed is exactly what was checked
            model_tmp, json_tmp = work / "model.onnx", work / "model.onnx.json"
            sha = _copy_hashing(onnx_path, model_tmp)
            _copy_hashing(json_path, json_tmp)
            _check_model(model_tmp, json_tmp, config, str(onnx_path))
            voice = InstalledVoice(
                name=name,
                model=f"{name}.onnx",
                config=f"{name}.onnx.json",
                language=(config.get("language") or {}).get("code") or config["espeak"]["voice"],
                espeak_voice=config["espeak"]["voice"],
                sample_rate=config["audio"]["sample_rate"],
                quality=config["audio"].get("quality"),
                size_bytes=model_tmp.stat().st_size,
                sha256=sha,
                added_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
            os.replace(json_tmp, voice.config_path(voices_dir))
            os.replace(model_tmp, voice.model_path(voices_dir))
            _write_manifest(voices_dir, [*installed, voice])
        finally:
            shutil.rmtree(work, ignore_errors=True)
    log.info("piper voice %s installed (%s, %d Hz)", name, voice.language, voice.sample_rate)
    return voice


def remove(voices_dir: Path, name: str) -> InstalledVoice:
    """Uninstall ``name``: its entry first, then its two files."""
    voices_dir = Path(voices_dir)
    with _locked(voices_dir):
        installed = list_voices(voices_dir)
        found = next((v for v in installed if v.name == name), None)
        if found is None:
            raise NotFound(
                "Không có giọng piper tên '{name}'. Các giọng đã cài: {names}.",
                field="name",
                name=name,
                names=", ".join(v.name for v in installed) or "—",
            )
        _write_manifest(voices_dir, [v for v in installed if v.name != name])
        for path in (found.model_path(voices_dir), found.config_path(voices_dir)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    log.info("piper voice %s removed", name)
    return found


__all__ = ["INSTALL_HINT", "MANIFEST", "InstalledVoice", "add", "list_voices", "remove"]
