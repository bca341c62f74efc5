"""The folder store: audio under one folder, on this host's disk or shared by several (NFS).

Layout (relative to ``BROADCASTER_AUDIO_DIR``)::

    assets/ab/<sha256>.mp3      finished audio, named by its key
    assets/ab/<sha256>.json     its sidecar record, written last
    pieces/ab/<sha256>.<ext>    cached engine pieces (gTTS, FPT.AI)
    recordings/ab/<sha256>.<ext> recordings as uploaded (services.recordings)

Every file is written the same way, so that it is safe when other hosts read and
write the same folder over NFS: to a temporary name unique to this host and process
(``.tmp-<host>-<pid>-<random>``) in the destination's own folder, flushed to the
server (``fsync``), then renamed over the final name (one atomic RENAME on the
server) and the folder synced. A reader therefore finds either nothing or the whole
file, never a part; a failed write leaves no temporary file behind.

The per-asset render lock is not here: file locks cannot be trusted across hosts on
NFS. The store is handed a :class:`~broadcaster.audio.locks.RenderLock` (a file lock
in the host's own folder, plus a PostgreSQL advisory lock).
"""

from __future__ import annotations

import json
import os
import re
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from broadcaster.audio.stores import AssetRecord, AudioStore, Piece, Served

if TYPE_CHECKING:
    from broadcaster.audio.locks import RenderLock

TEMP_PREFIX = ".tmp-"
_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


def temporary_prefix() -> str:
    """``.tmp-<host>-<pid>-``: no two writers on two hosts ever pick the same name, even
    where the shared folder's exclusive create cannot be trusted; and a leftover says
    whose it was."""
    host = _UNSAFE.sub("-", socket.gethostname())[:40] or "host"
    return f"{TEMP_PREFIX}{host}-{os.getpid()}-"


def temporary_file(folder: Path, suffix: str = "") -> Path:
    """A new empty file with a unique temporary name in ``folder`` (created if need be)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix=temporary_prefix(), suffix=suffix)
    os.close(fd)
    return Path(name)


def _fsync_path(path: Path, flags: int = os.O_RDONLY) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    # the rename itself reaches the disk; some file systems refuse to sync a folder
    with suppress(OSError):
        _fsync_path(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))


def move_into_place(tmp: Path, final: Path) -> None:
    """Flush ``tmp`` to the disk (or the NFS server) and rename it over ``final``.

    ``tmp`` must be in the same file system, normally the same folder: the rename is
    then one atomic step, and other hosts see the old name or the whole new file."""
    _fsync_path(tmp)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, final)
    _fsync_folder(final.parent)


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` as ``path`` all at once (see :func:`move_into_place`)."""
    tmp = temporary_file(path.parent, path.suffix)
    try:
        with tmp.open("wb") as fh:
            fh.write(data)
        move_into_place(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _revalidate(folder: Path) -> None:
    """Make this host look at ``folder`` on the server again: opening a folder asks the
    NFS server for its attributes (close-to-open), and a changed folder drops the
    names this host remembered as missing. On a local disk it costs a listing."""
    with suppress(OSError):
        os.listdir(folder)


class FolderStore(AudioStore):
    """The content-addressed store under one folder (see the module's docstring)."""

    name = "folder"

    def __init__(self, root: Path, render_lock: RenderLock | None = None) -> None:
        super().__init__(render_lock)
        self.root = Path(root)

    @classmethod
    def open(cls, location: str | Path, render_lock: RenderLock | None = None) -> FolderStore:
        if isinstance(location, str) and location.startswith("file://"):
            location = location.removeprefix("file://")
        return cls(Path(location), render_lock)

    # -- assets -----------------------------------------------------------------------

    def asset_path(self, sha: str) -> Path:
        return self.root / "assets" / sha[:2] / f"{sha}.mp3"

    def _sidecar(self, sha: str) -> Path:
        return self.asset_path(sha).with_suffix(".json")

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def file(self, relative: str) -> Path:
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"{relative!r} is outside the audio folder")
        return path

    def get(self, sha: str, *, fresh: bool = False) -> AssetRecord | None:
        if fresh:
            _revalidate(self.asset_path(sha).parent)
        try:
            record = AssetRecord(**json.loads(self._sidecar(sha).read_bytes()))
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
        tmp = temporary_file(self.asset_path(sha).parent, ".mp3")
        try:
            yield tmp
        finally:
            tmp.unlink(missing_ok=True)

    def publish(self, tmp: Path, sha: str) -> Path:
        final = self.asset_path(sha)
        move_into_place(tmp, final)
        return final

    # -- pieces -----------------------------------------------------------------------

    def piece_path(self, sha: str, suffix: str) -> Path:
        return self.root / "pieces" / sha[:2] / f"{sha}.{suffix}"

    def read_piece(self, sha: str) -> Piece | None:
        for suffix in ("mp3", "wav"):
            try:
                return Piece(suffix, self.piece_path(sha, suffix).read_bytes())
            except FileNotFoundError:
                continue
        return None

    def write_piece(self, sha: str, suffix: str, data: bytes) -> None:
        write_atomically(self.piece_path(sha, suffix), data)

    # -- serving ----------------------------------------------------------------------

    def served(self, sha: str) -> Served | None:
        path = self.asset_path(sha)
        return Served(path=path) if path.is_file() else None

    # -- housekeeping -------------------------------------------------------------------

    def leftovers(self) -> list[Path]:
        """Temporary files still in the store (a writer killed mid-write leaves one; its
        name says which host and process). Never a finished file."""
        return sorted(p for p in self.root.rglob(f"{TEMP_PREFIX}*") if p.is_file())


__all__ = ["FolderStore", "move_into_place", "temporary_file", "write_atomically"]
