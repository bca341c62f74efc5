"""Small Vietnamese text helpers shared by the core: NFC and diacritic folding."""

from __future__ import annotations

import re
import unicodedata

from broadcaster.errors import InvalidInput

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


# Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): they
# make a title display reversed or reordered, and Vietnamese never needs them.
BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))


def bidi_controls(text: str) -> list[str]:
    """The bidirectional control characters in ``text``, as ``U+202E`` names, in order."""
    return [f"U+{ord(ch):04X}" for ch in text if ch in BIDI_CONTROLS]


def refuse_bidi(text: str, label: str, *, field: str | None = None) -> str:
    """``text`` itself, or :class:`~broadcaster.errors.InvalidInput` about ``field`` naming
    ``label`` (a :class:`~broadcaster.errors.Words`) when it holds a bidirectional control
    character."""
    found = bidi_controls(text)
    if found:
        raise InvalidInput(
            "{label} có ký tự điều khiển hướng chữ ({found}), "
            "có thể làm chữ hiển thị đảo ngược: hãy xóa ký tự đó.",
            field=field,
            label=label,
            found=", ".join(sorted(set(found))),
        )
    return text
