"""Cutting normalised text into pieces an engine speaks, with the pause after each.

Paragraphs (blank lines) get the longest pause, sentences a shorter one,
phrases (commas, semicolons, colons) the shortest. An engine with a length
limit (gTTS takes 100 characters) gets pieces cut at phrase boundaries first
and at word boundaries only when a single phrase is too long, so no word is
ever cut in two.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class Pause(enum.StrEnum):
    NONE = "none"  # a long phrase cut between two words
    PHRASE = "phrase"
    SENTENCE = "sentence"
    PARAGRAPH = "paragraph"


@dataclass(frozen=True)
class Piece:
    text: str
    pause_after: Pause


_PARAGRAPHS = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
_PHRASE_END = re.compile(r"(?<=[,;:])\s+")


def _pack(parts: list[str], limit: int, joiner_pause: Pause) -> list[tuple[str, Pause]]:
    """Greedily join consecutive parts into chunks of at most ``limit`` characters."""
    chunks: list[tuple[str, Pause]] = []
    current = ""
    for part in parts:
        candidate = f"{current} {part}" if current else part
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append((current, joiner_pause))
        current = part
    if current:
        chunks.append((current, joiner_pause))
    return chunks


def _cut_sentence(sentence: str, limit: int) -> list[tuple[str, Pause]]:
    if len(sentence) <= limit:
        return [(sentence, Pause.NONE)]
    pieces: list[tuple[str, Pause]] = []
    for phrase, _ in _pack(_PHRASE_END.split(sentence), limit, Pause.PHRASE):
        if len(phrase) <= limit:
            pieces.append((phrase, Pause.PHRASE))
            continue
        words = phrase.split()
        # A single "word" longer than the limit (a pasted URL, say) is cut hard:
        # better a break inside it than a refused announcement.
        words = [w[i : i + limit] for w in words for i in range(0, len(w), limit)]
        cut = _pack(words, limit, Pause.NONE)
        cut[-1] = (cut[-1][0], Pause.PHRASE)
        pieces.extend(cut)
    return pieces


def split_for_speech(text: str, max_chars: int | None = None) -> list[Piece]:
    """Pieces of ``text`` in order; the last piece's pause is PARAGRAPH."""
    if max_chars is not None and max_chars < 20:
        raise ValueError("max_chars below 20 would cut most Vietnamese words apart")
    pieces: list[Piece] = []
    for paragraph in _PARAGRAPHS.split(text.strip()):
        sentences = [s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip()]
        for sentence in sentences:
            if not any(ch.isalnum() for ch in sentence):
                continue  # a stray bullet or dash: nothing to say
            cut = _cut_sentence(sentence, max_chars) if max_chars else [(sentence, Pause.NONE)]
            for i, (chunk, pause) in enumerate(cut):
                last = i == len(cut) - 1
                pieces.append(Piece(chunk, Pause.SENTENCE if last else pause))
        if pieces:
            pieces[-1] = Piece(pieces[-1].text, Pause.PARAGRAPH)
    return pieces
