"""Where the admin may send a browser back to: only a path of this site (no open redirect)."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_path(target: str | None, default: str) -> str:
    """``target`` when it is a plain path of this site, else ``default``.

    Refused: other sites (``//host``, ``https://…``), backslashes (browsers read
    ``/\\host`` as ``//host``) and control characters, which ``urlsplit`` and
    browsers silently drop — ``/\\t/host`` would become ``//host``.
    """
    if not target or len(target) > 2000 or not target.startswith("/"):
        return default
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return default
    return target
