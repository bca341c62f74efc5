"""The content-addressed audio store under the audio folder.

Layout: ``assets/ab/<sha256>.mp3`` with a ``.json`` sidecar holding what was
measured, ``pieces/ab/<sha256>.<ext>`` for cached engine pieces and
``locks/`` for the per-asset file locks. Every file is written to a temporary
name in the same folder and renamed into place, so a reader never sees half a
file; an asset counts only once its sidecar exists, and the sidecar is written
last.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from broadcaster.errors import BroadcasterError

LOCK_TIMEOUT_S = 900  # a long bulletin on a slow line can take minutes


@dataclass(frozen=True)
class AssetRecord:
    """What the sidecar says about a finished asset."""

    sha256: str
    engine: str
    requested_engine: str
    voice: str
    speed: float
    title: str
    station_code: str | None
    text: str
    duration_ms: int
    loudness_lufs: float
    true_peak_db: float
    size_bytes: int
    bitrate_kbps: int
    sample_rate: int
    settings: dict
    format_version: int


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class AudioStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def asset_path(self, sha: str) -> Path:
        return self.root / "assets" / sha[:2] / f"{sha}.mp3"

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _sidecar(self, sha: str) -> Path:
        return self.asset_path(sha).with_suffix(".json")

    def get(self, sha: str) -> AssetRecord | None:
        """The finished asset with this key, or None (a missing or half file is a miss)."""
        sidecar = self._sidecar(sha)
        try:
            record = AssetRecord(**json.loads(sidecar.read_bytes()))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError):
            return None  # unreadable sidecar: render again, it will be replaced
        if not self.asset_path(sha).is_file():
            return None
        return record

    def put_record(self, record: AssetRecord) -> None:
        data = json.dumps(asdict(record), ensure_ascii=False, indent=1).encode("utf-8")
        write_atomically(self._sidecar(record.sha256), data)

    @contextmanager
    def temporary_mp3(self, sha: str) -> Iterator[Path]:
        """A temporary file beside the final one, removed if it was not moved into place."""
        final = self.asset_path(sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".tmp-", suffix=".mp3")
        os.close(fd)
        try:
            yield Path(tmp)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def publish(self, tmp: Path, sha: str) -> Path:
        final = self.asset_path(sha)
        os.replace(tmp, final)
        return final

    @contextmanager
    def lock(self, sha: str) -> Iterator[None]:
        """Only one renderer works on a key at a time, across threads and processes."""
        path = self.root / "locks" / f"{sha}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(path, timeout=LOCK_TIMEOUT_S):
                yield
        except Timeout as exc:
            raise BroadcasterError(
                "Một tiến trình khác đang tạo cùng bản âm thanh quá {seconds} giây; "
                "hãy thử lại sau.",
                seconds=LOCK_TIMEOUT_S,
            ) from exc

    def piece_path(self, sha: str, suffix: str) -> Path:
        return self.root / "pieces" / sha[:2] / f"{sha}.{suffix}"
