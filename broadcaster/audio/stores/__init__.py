"""The audio store (kho âm thanh): where finished audio lives, behind one small interface.

The renderer, the recordings and the web's audio views use only :class:`AudioStore`;
which store answers is chosen here, once, from the location configured in
``BROADCASTER_AUDIO_DIR`` (:func:`open_store`):

- a folder path (or ``file://``): :class:`~broadcaster.audio.stores.folder.FolderStore`,
  a local disk or a folder shared between hosts (NFS);
- ``s3://bucket/prefix``: an S3-compatible object store. Not shipped yet; it would be
  one module, ``broadcaster/audio/stores/s3.py``, implementing this interface, and one
  line in :data:`STORES` (see docs/audio-store.md for what it must do).

Assets are content-addressed: the key is the sha256 of everything that shaped the
sound, so a key's file never changes once published; two writers of one key write
the same bytes, and the last rename wins harmlessly. An asset counts only once its
sidecar record exists; the record is written last.

Making an asset is serialised per key by the store's :class:`RenderLock`
(:mod:`broadcaster.audio.locks`), which the store is given: the lock is about the
hosts and the database, not about where the bytes lie, so every store takes the
same one.
"""

from __future__ import annotations

import importlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from broadcaster.errors import BroadcasterError

if TYPE_CHECKING:
    from broadcaster.audio.locks import RenderLock

# store name -> "module:class"; a scheme of BROADCASTER_AUDIO_DIR picks the name
STORES = {"folder": "broadcaster.audio.stores.folder:FolderStore"}
_SCHEMES = {"": "folder", "file": "folder"}
_PLANNED = {"s3": "broadcaster/audio/stores/s3.py (boto3)"}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


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


@dataclass(frozen=True)
class Piece:
    """One cached engine piece (the audio of one sentence or phrase)."""

    suffix: str  # "wav" (PCM) or the engine's container ("mp3")
    data: bytes


@dataclass(frozen=True)
class Served:
    """How the web hands an asset to a browser: a file on this host, or an address."""

    path: Path | None = None  # sent by the web process (conditional, ranges)
    url: str | None = None  # elsewhere (an object store's signed address): a redirect


class AudioStore(ABC):
    """Where rendered assets, their records and the engines' pieces are kept.

    Must implement: :meth:`get`, :meth:`asset_path`, :meth:`relative`, :meth:`file`,
    :meth:`temporary_mp3`, :meth:`publish`, :meth:`put_record`, :meth:`read_piece`,
    :meth:`write_piece`, :meth:`served`. :meth:`lock` is given (the store's
    :class:`~broadcaster.audio.locks.RenderLock`).

    Rules every store keeps: a reader never sees half a file (bytes become visible
    under their final name all at once); :meth:`get` answers None until both the
    audio and its record are there; nothing temporary is left when a write fails.
    """

    name: str = ""

    def __init__(self, render_lock: RenderLock | None = None) -> None:
        self.render_lock = render_lock

    # -- assets -----------------------------------------------------------------------

    @abstractmethod
    def get(self, sha: str, *, fresh: bool = False) -> AssetRecord | None:
        """The finished asset with this key, or None (missing, half made, unreadable).

        ``fresh``: do not trust what this host remembers of the store (asked under the
        render lock, when another host may have published the asset a moment ago)."""

    @abstractmethod
    def asset_path(self, sha: str) -> Path:
        """Where the finished asset is read on this host (a store elsewhere: its copy)."""

    @abstractmethod
    def relative(self, path: Path) -> str:
        """The store's own name for a file (``assets/ab/<sha>.mp3``), kept in the database."""

    @abstractmethod
    def file(self, relative: str) -> Path:
        """A stored file by its relative name (a recording's source), readable on this host."""

    @abstractmethod
    def temporary_mp3(self, sha: str) -> AbstractContextManager[Path]:
        """A fresh local file to write the asset into; removed unless :meth:`publish`
        moved it into place."""

    @abstractmethod
    def publish(self, tmp: Path, sha: str) -> Path:
        """Make the written file the asset ``sha``, all at once; return :meth:`asset_path`."""

    @abstractmethod
    def put_record(self, record: AssetRecord) -> None:
        """Write the sidecar record, last: from now on :meth:`get` finds the asset."""

    # -- pieces (engines that cost a round trip keep each piece) ------------------------

    @abstractmethod
    def read_piece(self, sha: str) -> Piece | None:
        """A cached piece, or None."""

    @abstractmethod
    def write_piece(self, sha: str, suffix: str, data: bytes) -> None:
        """Keep a piece (published whole, like an asset)."""

    # -- serving ----------------------------------------------------------------------

    @abstractmethod
    def served(self, sha: str) -> Served | None:
        """How to hand the finished asset to a browser, or None when there is none."""

    # -- making one asset at a time -----------------------------------------------------

    @contextmanager
    def lock(self, sha: str) -> Iterator[None]:
        """Held while one asset is made: one renderer per key across threads, processes
        and (on PostgreSQL) hosts. Re-check with ``get(sha, fresh=True)`` once inside."""
        if self.render_lock is None:
            raise RuntimeError("this audio store was opened for reading only")
        with self.render_lock.hold(sha):
            yield


def store_name(location: str | Path) -> str:
    """The store a configured location asks for (``folder`` for a path)."""
    if isinstance(location, Path):
        return "folder"
    match = _SCHEME.match(location)
    scheme = match.group(1).lower() if match else ""
    if scheme in _SCHEMES:
        return _SCHEMES[scheme]
    if scheme in _PLANNED:
        raise BroadcasterError(
            "Kho âm thanh '{scheme}://' (kho đối tượng tương thích S3) chưa có trong bản "
            "này; cần thêm mô-đun {module}. Hiện BROADCASTER_AUDIO_DIR là một thư mục "
            "(trên máy hoặc thư mục chung NFS); xem docs/audio-store.md.",
            scheme=scheme,
            module=_PLANNED[scheme],
        )
    raise BroadcasterError(
        "Không hiểu kho âm thanh '{location}': BROADCASTER_AUDIO_DIR là đường dẫn một thư mục.",
        location=location,
    )


def open_store(location: str | Path, render_lock: RenderLock | None = None) -> AudioStore:
    """The store at ``location`` (BROADCASTER_AUDIO_DIR), making assets under ``render_lock``
    (None: for reading and serving only)."""
    name = store_name(location)
    module_name, class_name = STORES[name].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls.open(location, render_lock)


__all__ = [
    "STORES",
    "AssetRecord",
    "AudioStore",
    "Piece",
    "Served",
    "open_store",
    "store_name",
]
