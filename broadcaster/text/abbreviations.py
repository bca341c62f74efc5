"""The abbreviation table (bảng chữ viết tắt): administrative acronyms and their spoken forms.

The table is data, not code: ``data/abbreviations.tsv`` ships with the package and a
deployment may pass one more file in the same format to add or override entries. One line
per entry, fields separated by a tab (or by two or more spaces, for hand-edited files)::

    # comment
    UBND        Ủy ban nhân dân
    TB          thông báo       doc
    TB          thông báo       before:\\s+số
    TB          trung bình

The optional third field is the context that decides between readings:

- empty: always applies (the fallback);
- ``doc``: only inside a document number's code (the ``TB`` of ``256/TB-UBND``);
- ``before:REGEX``: the text right after the abbreviation matches REGEX;
- ``after:REGEX``: the text right before it (same line, up to 60 characters) ends with a
  match of REGEX.

For one abbreviation, conditional entries are tried first in file order, then the
unconditional one. An entry without a fallback is left as written when no context matches.
A deployment file's entry replaces the default entry with the same abbreviation and context
and is tried before the defaults. Matching is case-sensitive and whole-word with Unicode
word boundaries, so ``ĐT`` is found in "ĐT: 0912…" but not inside "ĐTN".

Web addresses and e-mail addresses are codes as well and are read here too (see
:func:`replace_addresses`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path

from broadcaster.errors import InvalidInput

_SEPARATOR = re.compile(r"\t+| {2,}")
_BEHIND_WINDOW = 60

# How announcers spell a code letter by letter ("UBND" → "u bê en đê").
LETTER_NAMES = {
    "a": "a", "ă": "á", "â": "ớ", "b": "bê", "c": "xê", "d": "đê", "đ": "đê", "e": "e",
    "ê": "ê", "f": "ép", "g": "giê", "h": "hát", "i": "i", "j": "gi", "k": "ca", "l": "lờ",
    "m": "em", "n": "en", "o": "o", "ô": "ô", "ơ": "ơ", "p": "pê", "q": "quy", "r": "rờ",
    "s": "ét", "t": "tê", "u": "u", "ư": "ư", "v": "vê", "w": "vê kép", "x": "ích",
    "y": "i dài", "z": "dét",
}  # fmt: skip


def spell_letters(code: str) -> str:
    """Spell a code letter by letter; digits are read one by one, other symbols dropped."""
    from broadcaster.text.numbers import DIGIT_WORDS

    words = []
    for ch in code.lower():
        if ch in LETTER_NAMES:
            words.append(LETTER_NAMES[ch])
        elif "0" <= ch <= "9":
            words.append(DIGIT_WORDS[int(ch)])
        elif ch.isalpha():
            words.append(ch)
    return " ".join(words)


@dataclass(frozen=True)
class Abbreviation:
    """One table line: ``abbreviation`` read as ``expansion`` where ``context`` allows."""

    abbreviation: str
    expansion: str
    context: str = ""
    source: str = ""  # "file:line", for messages

    @property
    def kind(self) -> str:
        return self.context.partition(":")[0] if self.context else ""

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        kind, _, regex = self.context.partition(":")
        if kind == "before":
            return re.compile(regex)
        if kind == "after":
            return re.compile(f"(?:{regex})$")
        return None

    def applies(self, text: str, start: int, end: int) -> bool:
        """Whether this entry's context holds for ``text[start:end]`` (outside a document code)."""
        kind = self.kind
        if kind == "":
            return True
        if kind == "before":
            return self._pattern.match(text, end) is not None
        if kind == "after":
            return self._pattern.search(text, max(0, start - _BEHIND_WINDOW), start) is not None
        return False  # "doc" entries only apply inside document codes


@dataclass(frozen=True)
class AbbreviationTable:
    """The ordered entries; ``expand`` rewrites running text, ``read_code`` a document code."""

    entries: tuple[Abbreviation, ...] = field(default_factory=tuple)

    @cached_property
    def _by_key(self) -> dict[str, list[Abbreviation]]:
        grouped: dict[str, list[Abbreviation]] = {}
        for entry in self.entries:
            grouped.setdefault(entry.abbreviation, []).append(entry)
        for key, items in grouped.items():
            # Conditional readings first, the fallback last; sort is stable, so file order holds.
            grouped[key] = sorted(items, key=lambda e: e.kind == "")
        return grouped

    @cached_property
    def _regex(self) -> re.Pattern[str] | None:
        keys = [k for k, items in self._by_key.items() if any(e.kind != "doc" for e in items)]
        if not keys:
            return None
        # Longest first so "CT-XH" wins over "CT"; \w is Unicode-aware, so Đ is a letter.
        alternation = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
        return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)")

    def __len__(self) -> int:
        return len(self.entries)

    def readings(self, abbreviation: str) -> list[Abbreviation]:
        return list(self._by_key.get(abbreviation, ()))

    def expand(self, text: str) -> str:
        """Replace every abbreviation whose context holds; others stay as written."""
        regex = self._regex
        if regex is None:
            return text

        def replace(match: re.Match[str]) -> str:
            for entry in self._by_key[match.group()]:
                if entry.applies(text, match.start(), match.end()):
                    return entry.expansion
            return match.group()

        return regex.sub(replace, text)

    def read_code(self, part: str) -> str | None:
        """Reading of one part of a document code ("TB" in "TB-UBND"), or None if unknown."""
        items = self._by_key.get(part, ())
        for entry in items:
            if entry.kind == "doc":
                return entry.expansion
        for entry in items:
            if entry.kind == "":
                return entry.expansion
        return None

    def merged(self, extra: AbbreviationTable) -> AbbreviationTable:
        """``extra``'s entries first; they replace defaults with the same key and context."""
        replaced = {(e.abbreviation, e.context) for e in extra.entries}
        kept = tuple(e for e in self.entries if (e.abbreviation, e.context) not in replaced)
        return AbbreviationTable(extra.entries + kept)


def _parse_line(line: str, where: str) -> Abbreviation:
    fields = [f.strip() for f in _SEPARATOR.split(line.strip())]
    if len(fields) < 2:
        raise InvalidInput(
            "{where}: cần dạng 'chữ viết tắt<TAB>cách đọc[<TAB>ngữ cảnh]'.", where=where
        )
    if len(fields) > 3:
        raise InvalidInput(
            "{where}: quá nhiều cột ({count}); tối đa ba.", where=where, count=len(fields)
        )
    abbreviation, expansion = fields[0], fields[1]
    context = fields[2] if len(fields) == 3 else ""
    if not abbreviation or any(ch.isspace() for ch in abbreviation):
        raise InvalidInput(
            "{where}: chữ viết tắt phải là một từ, không phải {abbreviation!r}.",
            where=where,
            abbreviation=abbreviation,
        )
    if not expansion:
        raise InvalidInput(
            "{where}: thiếu cách đọc của {abbreviation!r}.", where=where, abbreviation=abbreviation
        )
    kind, colon, regex = context.partition(":")
    if context and not (context == "doc" or (kind in ("before", "after") and colon and regex)):
        raise InvalidInput(
            "{where}: không có ngữ cảnh {context!r}; dùng doc, before:REGEX hoặc after:REGEX.",
            where=where,
            context=context,
        )
    if regex:
        try:
            re.compile(regex)
        except re.error as exc:
            raise InvalidInput(
                "{where}: biểu thức chính quy {regex!r} sai: {error}.",
                where=where,
                regex=regex,
                error=str(exc),
            ) from None
    return Abbreviation(abbreviation, expansion, context, where)


def parse_abbreviations(text: str, name: str) -> AbbreviationTable:
    """Parse the table format above; ``name`` prefixes error messages ("name:line: …")."""
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        entries.append(_parse_line(line, f"{name}:{number}"))
    return AbbreviationTable(tuple(entries))


def _read_table_file(path: Path) -> AbbreviationTable:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(
            "{path}: không đọc được tệp chữ viết tắt: {reason}.",
            path=str(path),
            reason=exc.strerror,
        ) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            "{path}:{line}: tệp không phải UTF-8; hãy lưu lại với bảng mã UTF-8.",
            path=str(path),
            line=line,
        ) from None
    return parse_abbreviations(text, str(path))


@lru_cache(maxsize=1)
def default_table() -> AbbreviationTable:
    """The table shipped in ``broadcaster/text/data/abbreviations.tsv`` (parsed once)."""
    source = resources.files("broadcaster.text").joinpath("data", "abbreviations.tsv")
    return parse_abbreviations(source.read_text(encoding="utf-8"), "abbreviations.tsv")


def load_abbreviations(extra: Path | None = None) -> AbbreviationTable:
    """The default table, plus a deployment's file that adds or overrides entries.

    Raises :class:`~broadcaster.errors.InvalidInput` naming ``file:line`` for a malformed
    line, and the file for one that cannot be read or is not UTF-8.
    """
    table = default_table()
    if extra is None:
        return table
    return table.merged(_read_table_file(Path(extra)))


# --- web addresses ------------------------------------------------------------------------
# Addresses are codes too: a host is read label by label with "chấm" between labels, an
# e-mail with "a còng" for "@". The scheme ("http://", "https://") and any path are dropped:
# listeners can type a portal's host, not a path read aloud. A label is read as the
# Vietnamese words it spells only when DOMAIN_WORDS says so (never guessed); otherwise short
# or vowel-less labels are spelled ("vn" → "vê en") and longer ones are left for the engine.

DOMAIN_WORDS = {
    "dichvucong": "dịch vụ công", "chinhphu": "chính phủ", "baochinhphu": "báo chính phủ",
    "congan": "công an", "bocongan": "bộ công an", "dancuquocgia": "dân cư quốc gia",
    "baohiemxahoi": "bảo hiểm xã hội", "thuvienphapluat": "thư viện pháp luật",
    "hatinh": "Hà Tĩnh", "haiduong": "Hải Dương", "hanoi": "Hà Nội", "vietnam": "Việt Nam",
    "www": "vê kép vê kép vê kép", "gov": "gờ o vê", "com": "com", "net": "nét",
    "zalo": "Zalo", "facebook": "Facebook", "youtube": "YouTube", "gmail": "Gmail",
}  # fmt: skip
_TLDS = frozenset({"vn", "com", "net", "org", "gov", "edu", "info", "int", "biz", "io"})
_VOWELS = frozenset("aeiouy")
_HOST = r"[A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9][A-Za-z0-9-]*)++"
_ADDRESS = re.compile(
    rf"(?<![\w.@/-])(?:(?P<email>[A-Za-z0-9][A-Za-z0-9._+-]*@{_HOST})"
    rf"|(?P<scheme>(?i:https?://))?(?P<host>{_HOST})(?P<path>[/?#][^\s]*)?)(?![\w@-])"
)
_LABEL_SEPARATORS = {".": "chấm", "-": "gạch ngang", "_": "gạch dưới", "+": "cộng"}
_PATH_TAIL = re.compile(r"[.,;:!?)\]}'\"”’]+$")


def _read_label(label: str) -> str:
    lower = label.lower()
    if lower in DOMAIN_WORDS:
        return DOMAIN_WORDS[lower]
    if lower.isdigit() or len(lower) <= 4 or not _VOWELS.intersection(lower):
        return spell_letters(lower)
    return lower


def read_address_part(text: str) -> str:
    """ "dichvucong.gov.vn" → "dịch vụ công chấm gờ o vê chấm vê en"."""
    words = []
    for piece in re.split(r"([._+-])", text):
        if piece in _LABEL_SEPARATORS:
            words.append(_LABEL_SEPARATORS[piece])
        elif piece:
            words.append(_read_label(piece))
    return " ".join(words)


def replace_addresses(line: str, park: Callable[[str], str]) -> str:
    """Replace e-mail addresses and web addresses in ``line`` by ``park(spoken form)``.

    A bare host counts only with a known top-level domain ("dichvucong.gov.vn", not
    "1.234.567"); with "http(s)://" any host does.
    """

    def replace(match: re.Match[str]) -> str:
        if match.group("email"):
            local, _, host = match.group("email").partition("@")
            return park(f"{read_address_part(local)} a còng {read_address_part(host)}")
        host = match.group("host")
        if not match.group("scheme") and host.rsplit(".", 1)[-1].lower() not in _TLDS:
            return match.group()
        tail = _PATH_TAIL.search(match.group("path") or "")
        return park(read_address_part(host)) + (tail.group() if tail else "")

    return _ADDRESS.sub(replace, line)
