"""What changed between two versions of a script, word by word.

The admin shows it with ``<del>``/``<ins>``; the pieces are plain text, so the
template escapes them like any other text.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from broadcaster.services.scripts import VersionInfo

# words and the whitespace between them, so a changed line break shows too
_TOKENS = re.compile(r"\s+|[^\s]+")
MAX_WORD_PAIRS = 250_000  # ~0.1 s of difflib in the worst case (few distinct words)


@dataclass(frozen=True)
class Piece:
    kind: str  # "same" | "del" | "ins"
    text: str


@dataclass(frozen=True)
class VersionDiff:
    old: int
    new: int
    title: tuple[Piece, ...]
    body: tuple[Piece, ...]
    tags_removed: tuple[str, ...]
    tags_added: tuple[str, ...]

    @property
    def unchanged(self) -> bool:
        return (
            all(p.kind == "same" for p in (*self.title, *self.body))
            and not self.tags_removed
            and not self.tags_added
        )


def _words(a: list[str], b: list[str]) -> list[Piece]:
    pieces: list[Piece] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            pieces.append(Piece("same", "".join(a[i1:i2])))
            continue
        if op in ("delete", "replace"):
            pieces.append(Piece("del", "".join(a[i1:i2])))
        if op in ("insert", "replace"):
            pieces.append(Piece("ins", "".join(b[j1:j2])))
    return pieces


def diff_text(old: str, new: str) -> tuple[Piece, ...]:
    """Pieces turning ``old`` into ``new``: lines first, then words inside changed lines.

    Word matching costs the product of both sides' lengths, so past a budget
    (a rewritten bulletin) changed blocks are shown as removed and added whole.
    """
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    pieces: list[Piece] = []
    budget = MAX_WORD_PAIRS  # for the whole diff, so many small blocks cannot add up
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b).get_opcodes():
        before, after = "".join(a[i1:i2]), "".join(b[j1:j2])
        if op == "equal":
            pieces.append(Piece("same", before))
            continue
        wa, wb = _TOKENS.findall(before), _TOKENS.findall(after)
        if op == "replace" and len(wa) * len(wb) <= budget:
            budget -= len(wa) * len(wb)
            pieces.extend(_words(wa, wb))
            continue
        if before:
            pieces.append(Piece("del", before))
        if after:
            pieces.append(Piece("ins", after))
    return tuple(_merged(pieces))


def _merged(pieces: list[Piece]) -> list[Piece]:
    """Neighbouring pieces of one kind as one (fewer tags, same text)."""
    out: list[Piece] = []
    for p in pieces:
        if not p.text:
            continue
        if out and out[-1].kind == p.kind:
            out[-1] = Piece(p.kind, out[-1].text + p.text)
        else:
            out.append(p)
    return out


def diff_versions(old: VersionInfo, new: VersionInfo) -> VersionDiff:
    return VersionDiff(
        old=old.number,
        new=new.number,
        title=diff_text(old.title, new.title),
        body=diff_text(old.body, new.body),
        tags_removed=tuple(t for t in old.tags if t not in new.tags),
        tags_added=tuple(t for t in new.tags if t not in old.tags),
    )
