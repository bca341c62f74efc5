"""Small Vietnamese text helpers shared by the core: NFC and diacritic folding."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Lower-case ASCII form for matching names typed with or without diacritics.

    ``"Hà Tĩnh"``, ``"ha tinh"`` and ``"HA_TINH"`` all fold to ``"ha tinh"``.
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_ALNUM.sub(" ", stripped.lower()).strip()


def slugify(text: str) -> str:
    return fold(text).replace(" ", "-")


def mid_sentence_name(name: str, kind: str) -> str:
    """``"Phường Sông Trí"`` → ``"phường Sông Trí"``: how a unit reads inside a sentence."""
    if kind and name.lower().startswith(kind.lower()):
        return kind.lower() + name[len(kind) :]
    return name
