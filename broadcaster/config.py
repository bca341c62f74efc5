"""Configuration: read and validated in one place.

Sources, later ones winning: built-in defaults, an optional TOML file
(``BROADCASTER_CONFIG`` or ``instance/broadcaster.toml``), then environment
variables (``BROADCASTER_*``, and ``DATABASE_URL`` as a fallback for the
database). Every problem is reported as a :class:`ConfigError` whose message a
commune IT officer can act on.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import secrets
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from broadcaster.clock import local_today
from broadcaster.errors import BroadcasterError
from broadcaster.relays.urls import NO_PRIVATE, PrivatePolicy, parse_policy

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
CONFIG_FILE_NAME = "broadcaster.toml"
SECRET_KEY_FILE_NAME = "secret_key"

# key in the TOML file -> environment variable
_KEYS = {
    "database_url": "BROADCASTER_DATABASE_URL",
    "audio_dir": "BROADCASTER_AUDIO_DIR",
    "secret_key": "BROADCASTER_SECRET_KEY",
    "timezone": "BROADCASTER_TIMEZONE",
    "tts_engine": "BROADCASTER_TTS_ENGINE",
    "tts_voice": "BROADCASTER_TTS_VOICE",
    "tts_speed": "BROADCASTER_TTS_SPEED",
    "tts_engines": "BROADCASTER_TTS_ENGINES",
    "piper_voices_dir": "BROADCASTER_PIPER_VOICES_DIR",
    "piper_voice": "BROADCASTER_PIPER_VOICE",
    "piper_sentence_pause": "BROADCASTER_PIPER_SENTENCE_PAUSE",
    "fptai_api_key": "BROADCASTER_FPTAI_API_KEY",
    "fptai_url": "BROADCASTER_FPTAI_URL",
    "fptai_voice": "BROADCASTER_FPTAI_VOICE",
    "fptai_timeout": "BROADCASTER_FPTAI_TIMEOUT",
    "gtts_tld": "BROADCASTER_GTTS_TLD",
    "gtts_url": "BROADCASTER_GTTS_URL",
    "gtts_timeout": "BROADCASTER_GTTS_TIMEOUT",
    "loudness_lufs": "BROADCASTER_LOUDNESS_LUFS",
    "true_peak_db": "BROADCASTER_TRUE_PEAK_DB",
    "mp3_bitrate": "BROADCASTER_MP3_BITRATE",
    "chime": "BROADCASTER_CHIME",
    "abbreviations_file": "BROADCASTER_ABBREVIATIONS_FILE",
    "document_numbers": "BROADCASTER_DOCUMENT_NUMBERS",
    "ratelimit_storage": "BROADCASTER_RATELIMIT_STORAGE",
    "public_url": "BROADCASTER_PUBLIC_URL",
    "report_cutoff_day": "BROADCASTER_REPORT_CUTOFF_DAY",
    "report_day": "BROADCASTER_REPORT_DAY",
    "report_deadline_day": "BROADCASTER_REPORT_DEADLINE_DAY",
    "report_remind_days": "BROADCASTER_REPORT_REMIND_DAYS",
    "session_idle_minutes": "BROADCASTER_SESSION_IDLE_MINUTES",
    "trusted_proxies": "BROADCASTER_TRUSTED_PROXIES",
    "session_max_hours": "BROADCASTER_SESSION_MAX_HOURS",
    "recording_max_mb": "BROADCASTER_RECORDING_MAX_MB",
    "recording_max_minutes": "BROADCASTER_RECORDING_MAX_MINUTES",
    "relay_allow_private": "BROADCASTER_RELAY_ALLOW_PRIVATE",
    "audio_lock_dir": "BROADCASTER_AUDIO_LOCK_DIR",
    "backup_dir": "BROADCASTER_BACKUP_DIR",
    "backup_keep": "BROADCASTER_BACKUP_KEEP",
    "backup_hour": "BROADCASTER_BACKUP_HOUR",
    "metrics_allow": "BROADCASTER_METRICS_ALLOW",
    "metrics_token": "BROADCASTER_METRICS_TOKEN",
}
TTS_ENGINES = ("auto", "gtts", "espeak", "piper", "fptai")
FPTAI_URL = "https://api.fpt.ai/hmi/tts/v5"
MP3_BITRATES = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)


class ConfigError(BroadcasterError):
    """The configuration cannot be used as it is."""


@dataclass(frozen=True)
class AudioSettings:
    """How announcements are spoken and mastered (part of every audio asset's identity)."""

    engine: str = "auto"
    voice: str | None = None
    speed: float = 1.0
    gtts_tld: str = "com"
    gtts_url: str | None = None  # replaces https://translate.google.<tld>/ (tests, proxies)
    gtts_timeout: float = 10.0
    # The engines tried in order (BROADCASTER_TTS_ENGINES=fptai,gtts,piper,espeak); empty:
    # from ``engine`` ("auto" is gtts,espeak, or gtts,piper,espeak with a piper voice).
    engines: tuple[str, ...] = ()
    # piper (local neural voices): where installed voices live (default instance/voices),
    # the voice used when none is chosen, and the silence between sentences
    piper_voices_dir: Path | None = None
    piper_voice: str | None = None
    piper_sentence_pause: float = 0.3
    # FPT.AI text-to-speech v5: the key is a secret (never logged, never in a cache key)
    fptai_api_key: str | None = field(default=None, repr=False)
    fptai_url: str = FPTAI_URL
    fptai_voice: str = "banmai"
    fptai_timeout: float = 15.0
    loudness_lufs: float = -16.0
    true_peak_db: float = -1.0
    mp3_bitrate: int = 64
    chime: str = "off"  # off | generated | path to a sound file
    abbreviations_file: Path | None = None
    document_numbers: str = "full"  # full | compact
    # an uploaded recording larger or longer than this is refused
    recording_max_mb: int = 200
    recording_max_minutes: int = 90


@dataclass(frozen=True)
class Settings:
    """Validated settings for one running instance."""

    instance_dir: Path
    database_url: str
    audio_dir: Path
    secret_key: str
    timezone: str = DEFAULT_TIMEZONE
    audio: AudioSettings = AudioSettings()
    # Where failed station logins are counted: memory:// per process, or a shared
    # redis://host:6379 when several server processes answer stations.
    ratelimit_storage: str = "memory://"
    # How stations reach this server (behind a reverse proxy): the base of the audio
    # URLs in playlists. Unset: the address the request came to.
    public_url: str | None = None
    # Reporting periods close on the day before this one (15: the 15th of one month to
    # the 14th of the next, the common rule of government periodic reports; 1: calendar).
    report_cutoff_day: int = 15
    # The day of the month the scheduler stores the periodic reports (due before the 25th).
    report_day: int = 20
    # A unit files its period's report to the unit above by this day of the month (the
    # first such day after the period closes); reminders show this many days before it.
    report_deadline_day: int = 25
    report_remind_days: int = 5
    # An admin session ends after this long without a request, and this long after signing
    # in whatever happens (then the user signs in again).
    session_idle_minutes: int = 120
    session_max_hours: int = 12
    # Reverse proxies in front of the server (nginx: 1) whose X-Forwarded-For, -Proto,
    # -Host and -Port are believed; 0 believes none (the server faces the network).
    trusted_proxies: int = 0
    # Relay streams on loopback or private networks are refused unless allowed here:
    # "on" (every such range) or networks such as "10.20.0.0/16" (a province's own server).
    relay_allow_private: PrivatePolicy = NO_PRIVATE
    # This host's own folder for the audio store's file locks (never the shared audio
    # folder: file locks do not hold across hosts; on PostgreSQL a database lock per asset
    # does). None: <instance>/locks.
    audio_lock_dir: Path | None = None
    # Backups: where they are written, how many daily ones are kept, and the local hour
    # the scheduler takes one.
    backup_dir: Path | None = None
    backup_keep: int = 14
    backup_hour: int = 2
    # Who may read /metrics: addresses or networks (after trusted proxies), and/or a token
    # sent as "Authorization: Bearer …". Empty allow-list and no token: nobody.
    metrics_allow: tuple[str, ...] = ("127.0.0.1/32", "::1/128")
    metrics_token: str | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def today(self) -> date:
        """Today in the configured zone (not the machine's date)."""
        return local_today(self.tz)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def normalise_database_url(url: str) -> str:
    """Point PostgreSQL URLs at the psycopg 3 driver; leave others alone."""
    url = url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith(("sqlite:", "postgresql+psycopg:")):
        return url
    scheme = url.split(":", 1)[0] if ":" in url else url
    raise ConfigError(
        f"Địa chỉ cơ sở dữ liệu không được hỗ trợ: '{scheme}'. "
        "Dùng sqlite:///đường/dẫn.db hoặc postgresql://người_dùng@máy:5432/tên_csdl."
    )


def _read_file(path: Path) -> dict[str, str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"Không đọc được tệp cấu hình {path}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"Tệp cấu hình {path} không phải UTF-8.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Tệp cấu hình {path} sai cú pháp TOML: {exc}") from exc
    values: dict[str, str] = {}
    for key, value in data.items():
        if key not in _KEYS:
            hint = difflib.get_close_matches(key, list(_KEYS), n=1)
            extra = f" (có phải ý bạn là '{hint[0]}'?)" if hint else ""
            raise ConfigError(
                f"Khóa cấu hình không biết '{key}' trong {path}{extra}. "
                f"Các khóa hợp lệ: {', '.join(sorted(_KEYS))}."
            )
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConfigError(f"Khóa '{key}' trong {path} phải là một chuỗi hoặc một số.")
        if not str(value).strip():
            raise ConfigError(f"Khóa '{key}' trong {path} không được để trống.")
        values[key] = str(value)
    return values


def _secret_key(instance_dir: Path) -> str:
    """Read the instance's secret key, generating and keeping one on first use."""
    path = instance_dir / SECRET_KEY_FILE_NAME
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key + "\n")
    return key


def load_settings(env: dict[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """Build :class:`Settings` from the environment and the optional file."""
    env = dict(os.environ if env is None else env)
    cwd = cwd or Path.cwd()
    instance_dir = Path(env.get("BROADCASTER_INSTANCE_DIR") or cwd / "instance").resolve()

    file_values: dict[str, str] = {}
    explicit = env.get("BROADCASTER_CONFIG")
    if explicit:
        file_values = _read_file(Path(explicit))
    elif (instance_dir / CONFIG_FILE_NAME).exists():
        file_values = _read_file(instance_dir / CONFIG_FILE_NAME)

    def pick(key: str) -> str | None:
        return env.get(_KEYS[key]) or file_values.get(key)

    database_url = pick("database_url") or env.get("DATABASE_URL")
    if not database_url:
        database_url = f"sqlite:///{instance_dir / 'broadcaster.db'}"
    database_url = normalise_database_url(database_url)

    timezone = pick("timezone") or DEFAULT_TIMEZONE
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"Múi giờ không hợp lệ: '{timezone}' (BROADCASTER_TIMEZONE). "
            f"Ví dụ đúng: {DEFAULT_TIMEZONE}."
        ) from exc

    raw_audio_dir = pick("audio_dir")
    if raw_audio_dir and "://" in raw_audio_dir and not raw_audio_dir.startswith("file://"):
        raise ConfigError(
            f"BROADCASTER_AUDIO_DIR='{raw_audio_dir}' là địa chỉ một kho lưu trữ; bản này chỉ "
            "dùng một thư mục (trên máy hoặc thư mục chung NFS). Kho tương thích S3 sẽ là "
            "một mô-đun riêng: xem docs/audio-store.md."
        )
    audio_dir = Path((raw_audio_dir or "").removeprefix("file://") or cwd / "audio").resolve()
    secret_key = pick("secret_key") or _secret_key(instance_dir)
    ratelimit_storage = pick("ratelimit_storage") or "memory://"
    if not ratelimit_storage.startswith(("memory://", "redis://", "rediss://")):
        raise ConfigError(
            f"BROADCASTER_RATELIMIT_STORAGE='{ratelimit_storage}' không hợp lệ; "
            "dùng memory:// hoặc redis://máy:6379."
        )
    public_url = pick("public_url")
    if public_url and not public_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"BROADCASTER_PUBLIC_URL='{public_url}' phải bắt đầu bằng http:// hoặc https://, "
            "vd https://loa.hatinh.gov.vn."
        )
    return Settings(
        instance_dir=instance_dir,
        database_url=database_url,
        audio_dir=audio_dir,
        secret_key=secret_key,
        timezone=timezone,
        audio=_audio_settings(pick, cwd, instance_dir),
        ratelimit_storage=ratelimit_storage,
        public_url=public_url or None,
        report_cutoff_day=_whole(pick, "report_cutoff_day", 15, 1, 28),
        report_day=_whole(pick, "report_day", 20, 1, 24),
        report_deadline_day=_whole(pick, "report_deadline_day", 25, 1, 28),
        report_remind_days=_whole(pick, "report_remind_days", 5, 0, 28),
        session_idle_minutes=_whole(pick, "session_idle_minutes", 120, 5, 24 * 60),
        session_max_hours=_whole(pick, "session_max_hours", 12, 1, 24 * 7),
        trusted_proxies=_whole(pick, "trusted_proxies", 0, 0, 5),
        relay_allow_private=_relay_policy(pick),
        audio_lock_dir=Path(pick("audio_lock_dir") or instance_dir / "locks").resolve(),
        backup_dir=Path(pick("backup_dir") or instance_dir / "backups").resolve(),
        backup_keep=_whole(pick, "backup_keep", 14, 1, 3650),
        backup_hour=_whole(pick, "backup_hour", 2, 0, 23),
        metrics_allow=_networks(pick, "metrics_allow", ("127.0.0.1/32", "::1/128")),
        metrics_token=pick("metrics_token") or None,
    )


def _networks(pick, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """Comma-separated addresses or networks (``none``: no address at all)."""
    raw = pick(key)
    if raw is None or not raw.strip():
        return default
    if raw.strip().lower() == "none":
        return ()
    networks = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            networks.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise ConfigError(
                f"{_KEYS[key]}: '{part}' không phải địa chỉ hay dải mạng; "
                "vd 127.0.0.1, 10.20.0.0/16, hoặc none."
            ) from None
    return tuple(networks)


def _relay_policy(pick) -> PrivatePolicy:
    raw = pick("relay_allow_private")
    try:
        return parse_policy(raw)
    except ValueError as exc:
        raise ConfigError(
            f"BROADCASTER_RELAY_ALLOW_PRIVATE='{raw}' không hợp lệ (không đọc được '{exc}'); "
            "dùng off, on, hoặc các dải mạng cách nhau bởi dấu phẩy, vd 10.20.0.0/16."
        ) from None


def _number(pick, key: str, default: float, low: float, high: float, unit: str = "") -> float:
    raw = pick(key)
    if raw is None:
        return default
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        raise ConfigError(f"{_KEYS[key]} phải là một số, nhận được '{raw}'.") from None
    if not low <= value <= high:
        raise ConfigError(f"{_KEYS[key]} phải trong khoảng {low:g}–{high:g}{unit}, nhận '{raw}'.")
    return value


def _whole(pick, key: str, default: int, low: int, high: int) -> int:
    value = _number(pick, key, default, low, high)
    if not float(value).is_integer():
        raise ConfigError(f"{_KEYS[key]} phải là số nguyên, nhận '{pick(key)}'.")
    return int(value)


def _choice(pick, key: str, default: str, allowed: tuple[str, ...]) -> str:
    value = (pick(key) or default).strip().lower()
    if value not in allowed:
        hint = difflib.get_close_matches(value, allowed, n=1)
        extra = f" (có phải '{hint[0]}'?)" if hint else ""
        raise ConfigError(
            f"{_KEYS[key]}='{value}' không hợp lệ{extra}; chọn một trong: {', '.join(allowed)}."
        )
    return value


def _engine_order(pick) -> tuple[str, ...]:
    raw = pick("tts_engines")
    if not raw or not raw.strip():
        return ()
    names = tuple(n.strip().lower() for n in raw.split(",") if n.strip())
    engines = tuple(e for e in TTS_ENGINES if e != "auto")
    for name in names:
        if name not in engines:
            hint = difflib.get_close_matches(name, engines, n=1)
            extra = f" (có phải '{hint[0]}'?)" if hint else ""
            raise ConfigError(
                f"BROADCASTER_TTS_ENGINES: không có bộ máy đọc '{name}'{extra}; "
                f"dùng các tên {', '.join(engines)}, cách nhau bởi dấu phẩy."
            )
    if len(set(names)) != len(names):
        raise ConfigError(f"BROADCASTER_TTS_ENGINES='{raw}' có bộ máy lặp lại.")
    return names


def _audio_settings(pick, cwd: Path, instance_dir: Path | None = None) -> AudioSettings:
    bitrate = int(_number(pick, "mp3_bitrate", 64, 32, 320, " kbit/s"))
    if bitrate not in MP3_BITRATES:
        raise ConfigError(
            f"BROADCASTER_MP3_BITRATE={bitrate} không phải tốc độ MP3 chuẩn; "
            f"chọn một trong: {', '.join(map(str, MP3_BITRATES))}."
        )
    chime = (pick("chime") or "off").strip()
    if chime.lower() in ("off", "generated"):
        chime = chime.lower()
    elif not (cwd / chime).is_file():
        raise ConfigError(
            f"BROADCASTER_CHIME: không thấy tệp nhạc hiệu '{chime}' (hoặc dùng off, generated)."
        )
    else:
        chime = str((cwd / chime).resolve())
    abbreviations = pick("abbreviations_file")
    if abbreviations and not (cwd / abbreviations).is_file():
        raise ConfigError(f"BROADCASTER_ABBREVIATIONS_FILE: không thấy tệp '{abbreviations}'.")
    return AudioSettings(
        engine=_choice(pick, "tts_engine", "auto", TTS_ENGINES),
        voice=(pick("tts_voice") or "").strip() or None,
        speed=_number(pick, "tts_speed", 1.0, 0.5, 2.0),
        gtts_tld=(pick("gtts_tld") or "com").strip(),
        gtts_url=(pick("gtts_url") or "").strip() or None,
        gtts_timeout=_number(pick, "gtts_timeout", 10.0, 1.0, 120.0, " giây"),
        engines=_engine_order(pick),
        piper_voices_dir=_voices_dir(pick, cwd, instance_dir),
        piper_voice=(pick("piper_voice") or "").strip() or None,
        piper_sentence_pause=_number(pick, "piper_sentence_pause", 0.3, 0.0, 3.0, " giây"),
        fptai_api_key=(pick("fptai_api_key") or "").strip() or None,
        fptai_url=_http_url(pick, "fptai_url", FPTAI_URL),
        fptai_voice=(pick("fptai_voice") or "banmai").strip().lower(),
        fptai_timeout=_number(pick, "fptai_timeout", 15.0, 1.0, 120.0, " giây"),
        loudness_lufs=_number(pick, "loudness_lufs", -16.0, -30.0, -10.0, " LUFS"),
        true_peak_db=_number(pick, "true_peak_db", -1.0, -6.0, 0.0, " dBTP"),
        mp3_bitrate=bitrate,
        chime=chime,
        abbreviations_file=(cwd / abbreviations).resolve() if abbreviations else None,
        document_numbers=_choice(pick, "document_numbers", "full", ("full", "compact")),
        recording_max_mb=_whole(pick, "recording_max_mb", 200, 1, 4096),
        recording_max_minutes=_whole(pick, "recording_max_minutes", 90, 1, 24 * 60),
    )


def _voices_dir(pick, cwd: Path, instance_dir: Path | None) -> Path | None:
    raw = (pick("piper_voices_dir") or "").strip()
    if raw:
        return (cwd / raw).resolve()
    return instance_dir / "voices" if instance_dir is not None else None


def _http_url(pick, key: str, default: str) -> str:
    value = (pick(key) or "").strip() or default
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"{_KEYS[key]}='{value}' phải bắt đầu bằng http:// hoặc https://.")
    return value
