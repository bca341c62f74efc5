"""Small Vietnamese text helpers shared by the core: NFC and diacritic folding."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def strip_marks(text: str) -> str:
    """Vietnamese without its diacritics (``đ`` → ``d``), everything else kept."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """Lower-case ASCII form for matching names typed with or without diacritics.

    ``"Hà Tĩnh"``, ``"ha tinh"`` and ``"HA_TINH"`` all fold to ``"ha tinh"``.
    """
    return _NON_ALNUM.sub(" ", strip_marks(text).lower()).strip()


def slugify(text: str) -> str:
    return fold(text).replace(" ", "-")


def mid_sentence_name(name: str, kind: str) -> str:
    """``"Phường Sông Trí"`` → ``"phường Sông Trí"``: how a unit reads inside a sentence."""
    if kind and name.lower().startswith(kind.lower()):
        return kind.lower() + name[len(kind) :]
    return name
