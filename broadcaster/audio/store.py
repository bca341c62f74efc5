"""The audio store, by its old name: see :mod:`broadcaster.audio.stores`.

Kept so that ``from broadcaster.audio.store import AssetRecord`` (and the folder
store as ``AudioStore``) goes on working; new code imports from
:mod:`broadcaster.audio.stores`.
"""

from __future__ import annotations

from broadcaster.audio.locks import LOCK_TIMEOUT_S
from broadcaster.audio.stores import AssetRecord
from broadcaster.audio.stores.folder import FolderStore as AudioStore
from broadcaster.audio.stores.folder import write_atomically

__all__ = ["LOCK_TIMEOUT_S", "AssetRecord", "AudioStore", "write_atomically"]
