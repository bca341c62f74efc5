"""Small file helpers shared by light and heavy modules (no audio imports here)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes: what a station checks its download against."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
