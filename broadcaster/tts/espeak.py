"""Offline Vietnamese speech from libespeak-ng (eSpeak NG), called through ctypes.

Why ctypes: no pip wheel of a Python binding for eSpeak NG ships the C library
together with its voice data, so ``pip install`` alone would not give a working
engine. The ``espeakng-loader`` wheel ships exactly those two (``libespeak-ng``
and ``espeak-ng-data`` with the Vietnamese voices), and ctypes needs no compiler.
If that wheel is missing or unusable, a system libespeak-ng with its own data is
tried instead.

Thread safety: libespeak-ng keeps its state in globals and is not thread-safe.
Every call into it holds the module-level ``_LOCK``, and each library file is
initialised once per process (``_OPENED``), on first use rather than at import.

Sample format: the library runs in synchronous mode and hands its output to a
callback as signed 16-bit mono samples at its own rate (22,050 Hz for eSpeak NG);
:meth:`EspeakEngine.synthesise` returns them as little-endian PCM bytes. The same
text does not give byte-identical audio twice: pitch flutter, gain control and
noise state carry over between calls, so lengths differ by a few milliseconds.
"""

from __future__ import annotations

import array
import ctypes
import ctypes.util
import os
import sys
import threading

from broadcaster.errors import InvalidInput, Words
from broadcaster.tts.base import (
    Availability,
    EngineAudio,
    EngineUnavailable,
    TtsEngine,
    TtsError,
    Voice,
    check_piece,
)

# Values from espeak-ng's speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000  # without it, bad data makes the library call exit()
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE = 1
_RATE_MIN, _RATE_MAX = 80, 450  # words per minute the library accepts
_NORMAL_RATE = 175  # the library's default, i.e. speed 1.0


# Our voice id -> (voice file name in espeak-ng-data/lang/aav, description).
_VOICES = {
    "vi": ("vi", "giọng miền Bắc (mặc định)"),
    "vi-vn-x-central": ("vi-VN-x-central", "giọng miền Trung"),
    "vi-vn-x-south": ("vi-VN-x-south", "giọng miền Nam"),
}

_LOCK = threading.Lock()
_OPENED: dict[str, _Library] = {}  # library file -> the one initialised instance

_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)


class _EspeakVoice(ctypes.Structure):
    """``espeak_VOICE``; ``languages`` is a priority byte plus names, so unused here."""

    _fields_ = (
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    )


class _Library:
    """One initialised libespeak-ng: its handle, sample rate and Vietnamese voices."""

    def __init__(self, path: str, cdll: ctypes.CDLL, data_path: str | None, rate: int) -> None:
        self.path = path
        self.cdll = cdll
        self.data_path = data_path
        self.rate = rate
        self.voices: dict[str, str] = {}  # our voice id -> espeak identifier
        self.chunks: list[bytes] = []
        # Kept on the object (which lives in _OPENED) so ctypes never frees the
        # trampoline while the library still points at it.
        self.callback = _SynthCallback(self._collect)

    def _collect(self, wav: int | None, numsamples: int, _events: int | None) -> int:
        if wav and numsamples > 0:
            self.chunks.append(ctypes.string_at(wav, numsamples * 2))  # one copy per block
        return 0  # 0 = carry on synthesising

    def describe(self) -> str:
        info_path = ctypes.c_char_p()
        version = self.cdll.espeak_Info(ctypes.byref(info_path))
        data = (info_path.value or b"?").decode(errors="replace")
        return (
            f"libespeak-ng {(version or b'?').decode(errors='replace')} tại {self.path}, "
            f"dữ liệu {data}, {self.rate} Hz"
        )


def _declare(cdll: ctypes.CDLL) -> None:
    """Give ctypes the C signatures (an int default would truncate pointers on 64-bit)."""
    cdll.espeak_Initialize.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int)
    cdll.espeak_Initialize.restype = ctypes.c_int
    cdll.espeak_Info.argtypes = (ctypes.POINTER(ctypes.c_char_p),)
    cdll.espeak_Info.restype = ctypes.c_char_p
    cdll.espeak_ListVoices.argtypes = (ctypes.c_void_p,)
    cdll.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_EspeakVoice))
    cdll.espeak_SetSynthCallback.argtypes = (_SynthCallback,)
    cdll.espeak_SetSynthCallback.restype = None
    cdll.espeak_SetVoiceByName.argtypes = (ctypes.c_char_p,)
    cdll.espeak_SetParameter.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int)
    # text, size, position, position type, end position, flags, unique id, user data
    cdll.espeak_Synth.argtypes = (ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int)
    cdll.espeak_Synth.argtypes += (ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p)
    cdll.espeak_Synchronize.argtypes = ()


def _find_voices(cdll: ctypes.CDLL) -> dict[str, str]:
    """Our voice ids mapped to the identifiers the loaded data has (e.g. "aav/vi")."""
    listed = cdll.espeak_ListVoices(None)
    identifiers = []
    i = 0
    while listed[i]:  # a NULL-terminated array
        identifiers.append((listed[i].contents.identifier or b"").decode(errors="replace"))
        i += 1
    found = {}
    for voice_id, (file_name, _) in _VOICES.items():
        for identifier in identifiers:
            # Names are case-insensitive in espeak; the folder ("aav/") varies by version.
            if identifier.lower().rpartition("/")[2] == file_name.lower():
                found[voice_id] = identifier
                break
    return found


def _open_library(path: str, data_path: str | None) -> _Library:
    """Load and initialise ``path`` once per process; call with ``_LOCK`` held."""
    # espeak silently falls back to other data folders when this one is broken,
    # so check it ourselves to give a clear reason.
    if data_path is not None and not os.path.isfile(os.path.join(data_path, "phontab")):
        raise EngineUnavailable(
            "Không thấy dữ liệu giọng đọc espeak-ng tại '{data}' (thiếu tệp phontab).",
            data=data_path,
        )
    key = os.path.realpath(path) if os.sep in path else path
    data = os.path.realpath(data_path) if data_path is not None else None
    opened = _OPENED.get(key)
    if opened is not None:
        if opened.data_path != data:
            raise EngineUnavailable(
                "Thư viện libespeak-ng '{path}' đã được khởi tạo với dữ liệu "
                "'{opened}', không dùng được thêm dữ liệu '{data}'.",
                path=path,
                opened=opened.data_path,
                data=data_path,
            )
        return opened
    try:
        cdll = ctypes.CDLL(path)
        _declare(cdll)
    except (OSError, AttributeError) as exc:
        raise EngineUnavailable(
            "Không nạp được thư viện libespeak-ng '{path}': {error}", path=path, error=str(exc)
        ) from exc
    encoded_data = data.encode() if data is not None else None
    rate = cdll.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, encoded_data, _INITIALIZE_DONT_EXIT)
    if rate <= 0:  # 0 when the data cannot be read, -1 on internal error
        raise EngineUnavailable(
            "Thư viện libespeak-ng '{path}' không khởi tạo được với dữ liệu "
            "'{data}' (espeak_Initialize trả về {rate}).",
            path=path,
            data=data or Words("mặc định"),
            rate=rate,
        )
    library = _Library(path, cdll, data, rate)
    cdll.espeak_SetSynthCallback(library.callback)
    library.voices = _find_voices(cdll)
    missing = [_VOICES[v][0] for v in _VOICES if v not in library.voices]
    if missing:
        raise EngineUnavailable(
            "Dữ liệu espeak-ng '{data}' của '{path}' thiếu giọng tiếng Việt: {missing}.",
            data=data or Words("mặc định"),
            path=path,
            missing=", ".join(missing),
        )
    _OPENED[key] = library
    return library


def _check(code: int, call: str) -> None:
    if code != 0:
        raise TtsError(
            "espeak-ng không đọc được đoạn văn bản: {call} trả về mã lỗi {code}.",
            call=call,
            code=code,
        )


def _speak(library: _Library, voice_id: str, rate: int, text: bytes) -> bytes:
    """Synthesise ``text`` (UTF-8) and return the collected native-order samples."""
    with _LOCK:
        cdll = library.cdll
        # Set every time: the voice is global state another engine call may have changed.
        _check(
            cdll.espeak_SetVoiceByName(library.voices[voice_id].encode()), "espeak_SetVoiceByName"
        )
        _check(cdll.espeak_SetParameter(_PARAM_RATE, rate, 0), "espeak_SetParameter(RATE)")
        library.chunks = []
        try:
            code = cdll.espeak_Synth(
                text, len(text) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
            )
            _check(code, "espeak_Synth")
            _check(cdll.espeak_Synchronize(), "espeak_Synchronize")
            return b"".join(library.chunks)
        finally:
            library.chunks = []


def _to_little_endian(samples: bytes) -> bytes:
    if sys.byteorder == "little":
        return samples
    swapped = array.array("h", samples)
    swapped.byteswap()
    return swapped.tobytes()


class EspeakEngine(TtsEngine):
    """eSpeak NG: robotic but offline and always there; the fallback of last resort."""

    name = "espeak"
    default_voice = "vi"
    max_chars = None

    def __init__(self, *, library: str | None = None, data_path: str | None = None) -> None:
        self._library_path = library
        self._data_path = data_path
        self._opened: _Library | None = None

    def voices(self) -> list[Voice]:
        return [Voice(voice_id, description) for voice_id, (_, description) in _VOICES.items()]

    def availability(self) -> Availability:
        try:
            library = self._open()
        except EngineUnavailable as exc:
            return Availability(usable=False, detail=str(exc))
        with _LOCK:
            return Availability(usable=True, detail=library.describe())

    def synthesise(self, text: str, voice: str, speed: float) -> EngineAudio:
        voice = self.check_voice(voice)
        check_piece(text, speed)
        if "\x00" in text:  # C would stop reading at it and drop the rest silently
            raise InvalidInput("Văn bản cần đọc chứa ký tự NUL (\\x00).")
        rate = min(_RATE_MAX, max(_RATE_MIN, int(_NORMAL_RATE * speed)))
        library = self._open()
        samples = _speak(library, voice, rate, text.encode("utf-8"))
        if not samples:
            raise TtsError("espeak-ng không tạo ra âm thanh cho đoạn: {text!r}.", text=text[:60])
        return EngineAudio(data=_to_little_endian(samples), pcm_rate=library.rate)

    def _open(self) -> _Library:
        """The initialised library, trying each candidate in turn on first use."""
        if self._opened is not None:
            return self._opened
        candidates, reasons = self._candidates()
        for path, data_path in candidates:
            try:
                with _LOCK:
                    self._opened = _open_library(path, data_path)
                return self._opened
            except EngineUnavailable as exc:
                reasons.append(str(exc))
        every_reason = " ".join(reasons)  # already-worded messages, joined (not a message id)
        raise EngineUnavailable(every_reason)

    def _candidates(self) -> tuple[list[tuple[str, str | None]], list[str]]:
        """(library, data) pairs to try, best first, and why others were left out."""
        if self._library_path is not None:
            return [(self._library_path, self._data_path)], []
        candidates: list[tuple[str, str | None]] = []
        reasons: list[str] = []
        try:
            import espeakng_loader
        except ImportError:
            reasons.append("Chưa cài gói espeakng-loader (pip install espeakng-loader).")
        else:
            try:
                data_path = self._data_path or espeakng_loader.get_data_path()
                candidates.append((espeakng_loader.get_library_path(), data_path))
            except RuntimeError as exc:  # raised when the wheel lacks its data folder
                reasons.append(f"Gói espeakng-loader bị lỗi: {exc}.")
        system = ctypes.util.find_library("espeak-ng")
        if system is not None:
            candidates.append((system, self._data_path))  # None: the system's own data
        else:
            reasons.append("Không tìm thấy libespeak-ng của hệ thống (find_library('espeak-ng')).")
        return candidates, reasons
