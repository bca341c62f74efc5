"""Recordings read by a person (bản ghi âm): probe, measure and master an uploaded file.

Everything runs through ffmpeg, streamed: the file is never held in Python memory,
whatever its length. Three ffmpeg runs:

1. :func:`probe` — ``ffmpeg -i`` alone (the wheel ships no ffprobe): the container,
   codec, sample rate, channels and the duration the header announces. Refuses what is
   not audio and what is announced longer than the limit, before any decoding.
2. :func:`analyse` — one decoding pass through ``astats`` (peak level and how often it
   is reached: clipping), ``silencedetect`` (the silences at the edges, to trim, and
   inside) and ``loudnorm``'s measurement (integrated loudness, true peak, loudness
   range, gate threshold), all on the mono downmix that will air. Refuses undecodable,
   truncated, empty and silent files; returns the warnings.
3. :func:`master` — one more pass: trim, downmix, ``loudnorm`` with the measured values
   (a plain gain, ``linear``, when the peaks allow it; otherwise its own dynamic mode
   with its true-peak limiter), resample to the output rate, measure the result
   (``ebur128``, true peak) and encode the mono MP3 into a temporary file that the
   caller publishes.

What :meth:`Analysis.info` returns is stored as ``ScriptVersion.recording_info``:
``format``, ``codec``, ``sample_rate``, ``channels``, ``size_bytes``, ``filename``,
``duration_s`` (decoded), ``trim`` ([start_s, end_s] of what airs), ``aired_s``,
``loudness_lufs``, ``true_peak_db``, ``lra``, ``threshold`` (loudnorm's measurement),
``peak_db``, ``peak_count`` (astats), ``silences`` (long silences inside, [start_s,
end_s]), ``warnings`` ([{"code", "message", "params"}], message a Vietnamese
message id with ``{name}`` params) and ``version``.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from broadcaster.audio._ffmpeg import AudioError, ffmpeg_exe
from broadcaster.errors import InvalidInput

INFO_VERSION = 1
FORMAT_VERSION = 1  # bump when a change here changes the sound of a mastered recording
FIELD = "recording"

# Quieter than this (dBFS) counts as silence: measured at each of these levels in the
# same pass, the one used is the highest at least SILENCE_BELOW_DB under the speech, so
# a quiet recording's words are not taken for silence.
SILENCE_DB = (-45.0, -55.0, -65.0)
SILENCE_BELOW_DB = 20.0
SILENCE_MIN_S = 0.25  # silencedetect's shortest silence
KEEP_LEAD_S = 0.25  # room tone kept before the first sound after trimming
KEEP_TAIL_S = 0.6  # and after the last
LONG_SILENCE_S = 4.0  # a silence inside longer than this is warned about
LOW_LEVEL_LUFS = -36.0  # quieter than this: the gain brings the noise up with the voice
SILENT_LUFS = -70.0
CLIP_PEAK_DB = -0.1  # peaks at full scale…
CLIP_MIN_COUNT = 10  # …reached this many times: clipped
LOW_RATE_HZ = 16_000
MP3_MARGIN_DB = 0.7  # the MP3 encoder and the resampler add a little to the peaks
# loudnorm's loudness range target; high, so a recording's dynamics are kept (linear)
LRA_TARGET = 20.0
TRUNCATED_SIGNS = (
    "partial file",
    "corrupt input packet",
    "Packet corrupt",
    "Invalid data found when processing input",
    "Error submitting packet to decoder",
    "Decoding error",
    "filesize and duration do not match",
    "Header missing",
    "invalid new backstep",
    "Error while decoding",
    "File ended prematurely",
)


@dataclass(frozen=True)
class Limits:
    """What an upload may be (refusals) and when its length is warned about."""

    max_bytes: int = 200 * 1024 * 1024
    max_s: float = 90 * 60
    warn_s: float = 30 * 60


@dataclass(frozen=True)
class Probe:
    format: str  # ffmpeg's demuxer name(s), e.g. "mp3", "mov,mp4,m4a,3gp,3g2,mj2"
    codec: str
    sample_rate: int
    channels: str  # "mono", "stereo", "1 channels"…
    header_s: float | None  # what the header announces; None when unknown or estimated
    size_bytes: int


@dataclass(frozen=True)
class Warning:
    code: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "params": dict(self.params)}

    def text(self) -> str:
        return self.message.format(**self.params)


@dataclass(frozen=True)
class Analysis:
    probe: Probe
    duration_s: float  # decoded
    start_s: float  # what airs: [start_s, end_s]
    end_s: float
    loudness_lufs: float
    true_peak_db: float
    lra: float
    threshold: float
    peak_db: float
    peak_count: int
    silences: tuple[tuple[float, float], ...]  # long ones inside
    warnings: tuple[Warning, ...]
    filename: str = ""

    @property
    def aired_s(self) -> float:
        return self.end_s - self.start_s

    def info(self) -> dict[str, Any]:
        return {
            "version": INFO_VERSION,
            "filename": self.filename,
            "format": self.probe.format,
            "codec": self.probe.codec,
            "sample_rate": self.probe.sample_rate,
            "channels": self.probe.channels,
            "size_bytes": self.probe.size_bytes,
            "duration_s": round(self.duration_s, 3),
            "trim": [round(self.start_s, 3), round(self.end_s, 3)],
            "aired_s": round(self.aired_s, 3),
            "loudness_lufs": self.loudness_lufs,
            "true_peak_db": self.true_peak_db,
            "lra": self.lra,
            "threshold": self.threshold,
            "peak_db": self.peak_db,
            "peak_count": self.peak_count,
            "silences": [[round(a, 2), round(b, 2)] for a, b in self.silences],
            "warnings": [w.as_dict() for w in self.warnings],
        }


@dataclass(frozen=True)
class Measured:
    """What :func:`analyse` stored, enough to master without decoding twice."""

    start_s: float
    end_s: float
    loudness_lufs: float
    true_peak_db: float
    lra: float
    threshold: float

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> Measured:
        start, end = info["trim"]
        return cls(
            float(start),
            float(end),
            float(info["loudness_lufs"]),
            float(info["true_peak_db"]),
            float(info["lra"]),
            float(info["threshold"]),
        )


@dataclass(frozen=True)
class Mastered:
    duration_s: float
    loudness_lufs: float
    true_peak_db: float
    gain_db: float


def _ffmpeg(args: list[str]) -> subprocess.CompletedProcess:
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", *args]
    try:
        # stdout is not read: output goes to files or the null muxer; stderr holds the
        # measurements (a few kB even for an hour, framelog quiet)
        return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    except OSError as exc:
        raise AudioError(
            "Không chạy được ffmpeg ({program}): {error}", program=cmd[0], error=exc.strerror
        ) from exc


def _refuse(message: str, **params) -> InvalidInput:
    return InvalidInput(message, field=FIELD, **params)


def _minutes(seconds: float) -> str:
    whole = max(0, round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


_INPUT = re.compile(r"^Input #0, (.+?), from ", re.M)
_DURATION = re.compile(r"^\s*Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", re.M)
_AUDIO = re.compile(
    r"^\s*Stream #0:\d+\S*: Audio: ([^,\s]+)[^,]*(?:, (\d+) Hz)?(?:, ([^,]+))?", re.M
)


def probe(path: Path, limits: Limits = Limits()) -> Probe:
    """What the file says it is; refuses non-audio, an empty file, too big or too long."""
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise too_big(size, limits)
    if size == 0:
        raise _refuse("Tệp ghi âm rỗng (0 byte).")
    text = _ffmpeg(["-i", str(path)]).stderr.decode("utf-8", "replace")
    fmt = _INPUT.search(text)
    audio = _AUDIO.search(text)
    if "moov atom not found" in text:  # an MP4/M4A/3GP whose end (its index) is missing
        raise _truncated()
    if fmt is None or audio is None or not audio.group(2):
        raise _refuse(
            "Tệp này không phải âm thanh (hoặc là định dạng không đọc được). Hãy gửi tệp "
            "MP3, M4A/AAC, WAV, OGG/Opus, AMR hoặc 3GP."
        )
    header_s = None
    if (d := _DURATION.search(text)) and "Estimating duration from bitrate" not in text:
        header_s = int(d.group(1)) * 3600 + int(d.group(2)) * 60 + float(d.group(3))
    result = Probe(
        format=fmt.group(1),
        codec=audio.group(1),
        sample_rate=int(audio.group(2)),
        channels=(audio.group(3) or "").strip(),
        header_s=header_s,
        size_bytes=size,
    )
    if header_s is not None and header_s > limits.max_s:
        raise _too_long(header_s, limits)
    return result


def too_big(size: int, limits: Limits) -> InvalidInput:
    """The refusal of a file over the size limit (also said while it is still arriving)."""
    return _refuse(
        "Tệp ghi âm nặng hơn {size} MB, quá giới hạn {limit} MB.",
        size=round(size / 1024 / 1024, 1),
        limit=round(limits.max_bytes / 1024 / 1024, 1),
    )


def _too_long(seconds: float, limits: Limits) -> InvalidInput:
    return _refuse(
        "Bản ghi dài {length}, quá giới hạn {limit} (phút:giây). Hãy chia thành nhiều bản.",
        length=_minutes(seconds),
        limit=_minutes(limits.max_s),
    )


def _riff_truncated(path: Path) -> bool:
    """A WAV whose data chunk announces more bytes than the file holds."""
    with path.open("rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
            return False
        size = path.stat().st_size
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            chunk = fh.read(8)
            length = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                return head[:4] == b"RIFF" and length != 0xFFFFFFFF and pos + 8 + length > size
            pos += 8 + length + (length & 1)
    return False


_MP3_BITRATES = {
    (1, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (1, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (1, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (2, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (2, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (2, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MP3_RATES = {1: (44100, 48000, 32000), 2: (22050, 24000, 16000), 25: (11025, 12000, 8000)}
_MP3_TRAILERS = (b"TAG", b"APETAGEX", b"LYRICS")


def _mp3_truncated(path: Path) -> bool:
    """An MP3 whose last frame is cut short (walking the frame headers, not the audio).

    Anything the walk does not understand (free bitrate, lost sync, junk) is not judged.
    """
    import mmap

    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        size, pos = len(data), 0
        if data[:3] == b"ID3" and size >= 10:
            s = data[6:10]
            pos = 10 + (s[0] << 21 | s[1] << 14 | s[2] << 7 | s[3])
        while pos + 4 <= size:
            b1, b2 = data[pos + 1], data[pos + 2]
            if data[pos] != 0xFF or b1 & 0xE0 != 0xE0:
                return False  # a tag at the end, or something not judged here
            version = {3: 1, 2: 2, 0: 25}.get((b1 >> 3) & 3)
            layer = {3: 1, 2: 2, 1: 3}.get((b1 >> 1) & 3)
            bitrate_index, rate_index = b2 >> 4, (b2 >> 2) & 3
            if version is None or layer is None or bitrate_index in (0, 15) or rate_index == 3:
                return False
            bitrate = _MP3_BITRATES[(min(version, 2), layer)][bitrate_index] * 1000
            rate = _MP3_RATES[version][rate_index]
            padding = (b2 >> 1) & 1
            if layer == 1:
                length = (12 * bitrate // rate + padding) * 4
            elif layer == 3 and version != 1:
                length = 72 * bitrate // rate + padding
            else:
                length = 144 * bitrate // rate + padding
            if pos + length > size:
                return not any(data[pos:].startswith(t) for t in _MP3_TRAILERS)
            pos += length
    return False


def _ogg_truncated(path: Path) -> bool:
    """An Ogg file whose last page is cut short or is not the end of the stream."""
    with path.open("rb") as fh:
        if fh.read(4) != b"OggS":
            return False
        size = path.stat().st_size
        start = max(0, size - 70_000)  # a page is at most 65 307 bytes
        fh.seek(start)
        tail = fh.read()
    at = tail.rfind(b"OggS")
    if at < 0 or len(tail) - at < 27:
        return True
    header_type, segments = tail[at + 5], tail[at + 26]
    table = tail[at + 27 : at + 27 + segments]
    if len(table) < segments or at + 27 + segments + sum(table) > len(tail):
        return True
    return not header_type & 0x04


_ASTATS = {
    "peak_db": re.compile(r"Peak level dB: (-?[\d.]+|-?inf)"),
    "peak_count": re.compile(r"Peak count: ([\d.]+)"),
    "samples": re.compile(r"Number of samples: (\d+)"),
}
_SILENCE_START = re.compile(r"\[Parsed_silencedetect_(\d+) @ [^]]*\] silence_start: (-?[\d.]+)")
_SILENCE_END = re.compile(r"\[Parsed_silencedetect_(\d+) @ [^]]*\] silence_end: (-?[\d.]+)")
_FIRST_SILENCE_FILTER = 2  # the filters' indexes in analyse's chain


def _loudnorm_json(text: str) -> dict[str, str]:
    start = text.rfind("{")
    end = text.rfind("}")
    if start < 0 or end < start:
        raise AudioError("ffmpeg không trả về số đo độ lớn (loudnorm).")
    return json.loads(text[start : end + 1])


def _num(value: str) -> float:
    v = float(value)
    return v if math.isfinite(v) else -math.inf


def analyse(path: Path, limits: Limits = Limits(), *, filename: str = "") -> Analysis:
    """Probe and measure ``path``; refuse what cannot air, warn about what sounds bad."""
    info = probe(path, limits)
    if (
        _riff_truncated(path)
        or _ogg_truncated(path)
        or (info.format == "mp3" and _mp3_truncated(path))
    ):
        raise _truncated()
    done = _ffmpeg(
        [
            "-i",
            str(path),
            "-vn",
            "-af",
            ",".join(
                [
                    "aformat=sample_fmts=s16:channel_layouts=mono",
                    "astats=metadata=0:measure_perchannel=none:"
                    "measure_overall=Peak_level+Peak_count+Number_of_samples",
                    *(f"silencedetect=n={level}dB:d={SILENCE_MIN_S}" for level in SILENCE_DB),
                    f"loudnorm=I=-16:TP=-1:LRA={LRA_TARGET}:print_format=json",
                ]
            ),
            "-f",
            "null",
            "-",
        ]
    )
    text = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0:
        raise _refuse(
            "Không giải mã được tệp ghi âm ({codec}): tệp hỏng hoặc không phải âm thanh.",
            codec=info.codec,
        )
    found = {k: rx.search(text) for k, rx in _ASTATS.items()}
    samples = int(found["samples"].group(1)) if found["samples"] else 0
    duration = samples / info.sample_rate
    if duration < 0.1:
        raise _refuse("Bản ghi dài 0 giây: không có âm thanh nào để phát.")
    if any(sign in text for sign in TRUNCATED_SIGNS) or (
        info.header_s is not None and duration < info.header_s * 0.97 - 0.5
    ):
        raise _truncated()
    if duration > limits.max_s:
        raise _too_long(duration, limits)
    measured = _loudnorm_json(text)
    loudness = _num(measured["input_i"])
    level = next(
        (i for i, db in enumerate(SILENCE_DB) if db <= loudness - SILENCE_BELOW_DB),
        len(SILENCE_DB) - 1,
    )
    wanted = str(_FIRST_SILENCE_FILTER + level)
    # silences: (start, end), end None when it runs to the end of the file
    silences: list[tuple[float, float | None]] = []
    for line in text.splitlines():
        if (m := _SILENCE_START.search(line)) and m.group(1) == wanted:
            silences.append((max(0.0, float(m.group(2))), None))
        elif (m := _SILENCE_END.search(line)) and m.group(1) == wanted and silences:
            silences[-1] = (silences[-1][0], float(m.group(2)))
    closed = [(a, duration if b is None or b >= duration - 0.05 else b) for a, b in silences]
    start, end = 0.0, duration
    if closed and closed[0][0] <= 0.05:
        if closed[0][1] >= duration - 0.05:
            raise _silent()
        start = max(0.0, closed[0][1] - KEEP_LEAD_S)
    if closed and closed[-1][1] >= duration - 0.05:
        end = min(duration, closed[-1][0] + KEEP_TAIL_S)
    if loudness <= SILENT_LUFS or end - start < 0.1:
        raise _silent()
    inside = tuple(
        (a, b) for a, b in closed if b - a >= LONG_SILENCE_S and a > 0.05 and b < duration - 0.05
    )
    peak_db = _num(found["peak_db"].group(1)) if found["peak_db"] else -math.inf
    peak_count = int(float(found["peak_count"].group(1))) if found["peak_count"] else 0
    warnings: list[Warning] = []
    if peak_db >= CLIP_PEAK_DB and peak_count >= CLIP_MIN_COUNT:
        warnings.append(
            Warning(
                "clipping",
                "Bản ghi bị vỡ tiếng (chạm mức tối đa {count} lần): nên ghi lại, để máy "
                "xa miệng hơn hoặc nói nhỏ hơn.",
                {"count": peak_count},
            )
        )
    if loudness < LOW_LEVEL_LUFS:
        warnings.append(
            Warning(
                "low_level",
                "Bản ghi rất nhỏ ({lufs} LUFS): khi khuếch đại lên {target} LUFS, tiếng ồn "
                "nền cũng to lên. Nên ghi lại gần máy hơn.",
                {"lufs": round(loudness, 1), "target": -16},
            )
        )
    if inside:
        longest = max(inside, key=lambda s: s[1] - s[0])
        warnings.append(
            Warning(
                "long_silence",
                "Bản ghi có {count} đoạn im lặng dài hơn {seconds} giây (dài nhất {longest} "
                "giây, ở phút {at}).",
                {
                    "count": len(inside),
                    "seconds": int(LONG_SILENCE_S),
                    "longest": round(longest[1] - longest[0]),
                    "at": _minutes(longest[0]),
                },
            )
        )
    if info.sample_rate < LOW_RATE_HZ:
        warnings.append(
            Warning(
                "low_sample_rate",
                "Tần số lấy mẫu thấp ({rate} Hz, dưới {minimum} Hz): tiếng sẽ rè như qua "
                "điện thoại.",
                {"rate": info.sample_rate, "minimum": LOW_RATE_HZ},
            )
        )
    if end - start > limits.warn_s:
        warnings.append(
            Warning(
                "long",
                "Bản ghi dài {length}, hơn {minutes} phút: kiểm tra đài có đủ thời lượng phát.",
                {"length": _minutes(end - start), "minutes": round(limits.warn_s / 60)},
            )
        )
    return Analysis(
        probe=info,
        duration_s=duration,
        start_s=start,
        end_s=end,
        loudness_lufs=round(loudness, 2),
        true_peak_db=round(_num(measured["input_tp"]), 2),
        lra=round(_num(measured["input_lra"]), 2),
        threshold=round(_num(measured["input_thresh"]), 2),
        peak_db=round(peak_db, 2) if math.isfinite(peak_db) else -120.0,
        peak_count=peak_count,
        silences=inside,
        warnings=tuple(warnings),
        filename=filename,
    )


def _truncated() -> InvalidInput:
    return _refuse("Tệp ghi âm bị cắt cụt hoặc hỏng (tải lên chưa hết?). Hãy gửi lại tệp đầy đủ.")


def _silent() -> InvalidInput:
    return _refuse("Bản ghi chỉ có im lặng: không nghe thấy tiếng nói nào.")


_EBU_I = re.compile(r"^\s*I:\s+(-?[\d.]+|-inf)\s+LUFS", re.M)
_EBU_PEAK = re.compile(r"True peak:\s*\n\s*Peak:\s+(-?[\d.]+|-inf)\s+dBFS", re.M)
OVERSAMPLE = 4  # the limiter works on 4x-oversampled audio: its peaks are true peaks
RETRY_LU = 0.5  # a result further than this from the target is made again, corrected


def master(
    path: Path,
    measured: Measured,
    out: Path,
    *,
    target_lufs: float,
    true_peak_db: float,
    sample_rate: int,
    bitrate_kbps: int,
) -> Mastered:
    """Trim, downmix, normalise, limit, resample and encode ``path`` to the mono MP3 ``out``.

    A plain gain takes the measured loudness to the target (the recording's own
    dynamics are kept); a lookahead limiter on 4x-oversampled audio keeps the true
    peaks under the ceiling. The encoder's input is measured in the same pass; when
    the limiter cost more than :data:`RETRY_LU`, one corrected pass follows.
    """
    gain = target_lufs - measured.loudness_lufs
    ceiling = 10 ** ((true_peak_db - MP3_MARGIN_DB) / 20)
    for _attempt in range(2):
        result = _master_once(
            path, measured, out, gain, ceiling, sample_rate=sample_rate, bitrate_kbps=bitrate_kbps
        )
        if abs(result.loudness_lufs - target_lufs) <= RETRY_LU:
            break
        # the limiter takes back part of any extra gain: ask for a little more
        miss = target_lufs - result.loudness_lufs
        gain += miss * (1.5 if miss > 0 else 1.0)
    return result


def _master_once(
    path: Path,
    measured: Measured,
    out: Path,
    gain_db: float,
    ceiling: float,
    *,
    sample_rate: int,
    bitrate_kbps: int,
) -> Mastered:
    working = sample_rate * OVERSAMPLE
    done = _ffmpeg(
        [
            "-y",
            "-i",
            str(path),
            "-vn",
            "-af",
            ",".join(
                [
                    f"atrim=start={measured.start_s:.3f}:end={measured.end_s:.3f}",
                    "asetpts=PTS-STARTPTS",
                    "aformat=channel_layouts=mono",
                    f"volume={gain_db:.2f}dB",
                    f"aresample={working}",
                    f"alimiter=limit={ceiling:.4f}:attack=2:release=40:level=0:latency=1",
                    f"aresample={sample_rate}",
                    "ebur128=peak=true:framelog=quiet",
                ]
            ),
            "-c:a",
            "libmp3lame",
            "-b:a",
            f"{bitrate_kbps}k",
            "-ar",
            str(sample_rate),
            "-ac",
            "1",
            "-id3v2_version",
            "0",
            "-f",
            "mp3",
            str(out),
        ]
    )
    text = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0:
        tail = " / ".join(text.strip().splitlines()[-3:])
        raise AudioError("ffmpeg lỗi khi {what}: {detail}", what="xử lý bản ghi", detail=tail)
    summary = text[text.rfind("Summary:") :]
    lufs = _EBU_I.search(summary)
    peak = _EBU_PEAK.search(summary)
    return Mastered(
        duration_s=measured.end_s - measured.start_s,
        loudness_lufs=_num(lufs.group(1)) if lufs else -math.inf,
        true_peak_db=_num(peak.group(1)) if peak else 0.0,
        gain_db=round(gain_db, 2),
    )
