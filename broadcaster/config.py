"""Configuration: read and validated in one place.

Sources, later ones winning: built-in defaults, an optional TOML file
(``BROADCASTER_CONFIG`` or ``instance/broadcaster.toml``), then environment
variables (``BROADCASTER_*``, and ``DATABASE_URL`` as a fallback for the
database). Every problem is reported as a :class:`ConfigError` whose message a
commune IT officer can act on.
"""

from __future__ import annotations

import difflib
import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from broadcaster.errors import BroadcasterError

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
CONFIG_FILE_NAME = "broadcaster.toml"
SECRET_KEY_FILE_NAME = "secret_key"

# key in the TOML file -> environment variable
_KEYS = {
    "database_url": "BROADCASTER_DATABASE_URL",
    "audio_dir": "BROADCASTER_AUDIO_DIR",
    "secret_key": "BROADCASTER_SECRET_KEY",
    "timezone": "BROADCASTER_TIMEZONE",
}


class ConfigError(BroadcasterError):
    """The configuration cannot be used as it is."""


@dataclass(frozen=True)
class Settings:
    """Validated settings for one running instance."""

    instance_dir: Path
    database_url: str
    audio_dir: Path
    secret_key: str
    timezone: str = DEFAULT_TIMEZONE

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

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
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"Khóa '{key}' trong {path} phải là một chuỗi không rỗng.")
        values[key] = value
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

    audio_dir = Path(pick("audio_dir") or cwd / "audio").resolve()
    secret_key = pick("secret_key") or _secret_key(instance_dir)
    return Settings(
        instance_dir=instance_dir,
        database_url=database_url,
        audio_dir=audio_dir,
        secret_key=secret_key,
        timezone=timezone,
    )
