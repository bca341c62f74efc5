"""Codes the normaliser does not know how to read ("XYZQ", "ABC123"): spelled, and reported.

A stray code in capital Latin letters (with or without digits) that the abbreviation table,
the document-number, road and weekday rules do not resolve is spelled letter by letter in
the spoken form, as an announcer spells an unknown code ("XYZQ" → "ích i dài dét quy",
"ABC123" → "a bê xê một hai ba"), and is reported, so that the editor can show it under
"Chưa rõ cách đọc" and the author can write it out or add it to the table.

Not reported, and left as written:

- capital words that are Vietnamese syllables without their marks ("BAN", "THANH" in a
  heading typed without accents);
- Roman numerals ("II", "XIII");
- abbreviations the table has a reading for, even when its context did not apply here
  (their reading is the table's business);
- the words in ``data/known_words.txt``: acronyms engines read well as written and
  international names read as words (COVID, ASEAN, OTP, QR, SMS …);
- a unit after a number ("50.000 VND", "110 KV");
- codes with a single capital ("F0", "A4", "T2-2026") or starting with a digit ("4G").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from importlib import resources

from broadcaster.text.abbreviations import AbbreviationTable, spell_letters
from broadcaster.text.numbers import roman_value

# A run of ASCII capitals and digits starting with a capital, as a whole word.
CODE = re.compile(r"(?<![\w.@/&-])[A-Z][A-Z0-9]*[A-Z0-9](?![\w@&]|[-/.][\w])")
_AFTER_NUMBER = re.compile(r"[0-9]\s?$")
_ONSET = r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?"
_RIME = r"(?:[aeiouy]{1,3})(?:ch|ng|nh|[cmnpt])?"
_SYLLABLE = re.compile(rf"{_ONSET}{_RIME}", re.IGNORECASE)


@lru_cache(maxsize=1)
def known_words() -> frozenset[str]:
    """Capital words read as written without a warning (``data/known_words.txt``)."""
    source = resources.files("broadcaster.text").joinpath("data", "known_words.txt")
    words = set()
    for line in source.read_text(encoding="utf-8").splitlines():
        word = line.split("#", 1)[0].strip()
        if word:
            words.add(word)
    return frozenset(words)


def is_unread(code: str, table: AbbreviationTable) -> bool:
    """Whether ``code`` (a :data:`CODE` match) is a code nobody has said how to read."""
    if sum(ch.isalpha() for ch in code) < 2:
        return False
    if code.isalpha() and (_SYLLABLE.fullmatch(code) or roman_value(code)):
        return False
    return code not in known_words() and not table.readings(code)


def mark_unread(
    line: str, table: AbbreviationTable, park: Callable[..., str], found: list[str]
) -> str:
    """Spell the unknown codes of ``line`` and append each to ``found``."""

    def replace(match: re.Match[str]) -> str:
        code = match.group()
        if _AFTER_NUMBER.search(line, max(0, match.start() - 2), match.start()):
            return code  # a unit: "50.000 VND", "110 KV"
        if not is_unread(code, table):
            return code
        found.append(code)
        return park(spell_letters(code))

    return CODE.sub(replace, line)
