"""Vietnamese text for speech: numbers, abbreviations and the normaliser the TTS path calls.

Pure Python; imports neither Flask nor click.
"""

from broadcaster.text.abbreviations import AbbreviationTable, load_abbreviations
from broadcaster.text.normalise import (
    NormaliseOptions,
    SpokenText,
    normalise_checked,
    normalise_vi,
    unread_codes,
)
from broadcaster.text.numbers import read_number

__all__ = [
    "AbbreviationTable",
    "NormaliseOptions",
    "SpokenText",
    "load_abbreviations",
    "normalise_checked",
    "normalise_vi",
    "read_number",
    "unread_codes",
]
