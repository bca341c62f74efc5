"""Road and route names, and chainage (lý trình), in running text.

- "QL8A", "QL 1A", "QL.14" → "quốc lộ tám a", "quốc lộ một a", "quốc lộ mười bốn";
- "ĐT 549", "ĐT549", "ĐT.549" → "đường tỉnh năm trăm bốn mươi chín" (after "đường" only
  "tỉnh …", so "đường ĐT 549" is not "đường đường tỉnh");
- "TL8" → "tỉnh lộ tám", "ĐH 12" → "đường huyện mười hai", "HL 7" → "hương lộ bảy";
- the route number is a cardinal, a letter after it is spelled ("1A" → "một a", "15B" →
  "mười lăm bê"), also after a route written out ("Quốc lộ 1A" → "Quốc lộ một a");
- chainage "Km 15+200", "km15+200" → "ki lô mét mười lăm cộng hai trăm" (the metres after
  "+" read as a number: "+050" → "cộng năm mươi"); "Km 15" alone → "ki lô mét mười lăm"
  when no number comes right before it (so "12 km" stays a length).

A prefix with a number that cannot be a route is left for the other passes: "ĐT: 0912…"
and "ĐT 0239 385 555" are telephone numbers, "ĐH Vinh" is a university, "TL. CHỦ TỊCH"
is "thừa lệnh".
"""

from __future__ import annotations

import re
from collections.abc import Callable

from broadcaster.text.abbreviations import spell_letters
from broadcaster.text.numbers import read_integer, read_whole

ROUTE_PREFIXES = {
    "QL": "quốc lộ",
    "ĐT": "đường tỉnh",
    "TL": "tỉnh lộ",
    "ĐH": "đường huyện",
    "HL": "hương lộ",
}
_ROUTE = re.compile(
    r"(?<![\w.])(QL|ĐT|TL|ĐH|HL)(?:\.\s?|\s)?(0?[1-9][0-9]{0,2})([A-Z])?"
    r"(?![\w]|[.,][0-9]|[ .-]?[0-9])"
)
_WRITTEN_ROUTE = re.compile(
    r"(?<!\w)((?i:quốc lộ|tỉnh lộ|đường tỉnh|đường huyện|hương lộ))\s+([0-9]{1,3})([A-Z])"
    r"(?![\w]|[.,][0-9])"
)
_ROAD_WORD_BEFORE = re.compile(r"(?<!\w)(?i:đường)\s*$")
_CHAINAGE = re.compile(
    r"(?<![\w.,])(?<![0-9]\s)(?i:km)\s?([0-9]{1,4})(?:\s?\+\s?([0-9]{1,3}))?(?![\w]|[.,][0-9])"
)


def _route_number(number: str, letter: str | None) -> str:
    spoken = read_whole(number)
    return f"{spoken} {spell_letters(letter)}" if letter else spoken


def roads(line: str, park: Callable[..., str]) -> str:
    """Read route names and chainage in ``line``; finished words go through ``park``."""

    def route(match: re.Match[str]) -> str:
        prefix, number, letter = match.groups()
        name = ROUTE_PREFIXES[prefix]
        before = line[max(0, match.start() - 8) : match.start()]
        if name.startswith("đường ") and _ROAD_WORD_BEFORE.search(before):
            name = name.removeprefix("đường ")
        return park(f"{name} {_route_number(number, letter)}")

    def written(match: re.Match[str]) -> str:
        word, number, letter = match.groups()
        return f"{word} {park(_route_number(number, letter))}"

    def chainage(match: re.Match[str]) -> str:
        spoken = f"ki lô mét {read_integer(int(match.group(1)))}"
        if match.group(2):
            spoken += f" cộng {read_integer(int(match.group(2)))}"
        return park(spoken, numeric=True)

    line = _ROUTE.sub(route, line)
    line = _WRITTEN_ROUTE.sub(written, line)
    return _CHAINAGE.sub(chainage, line)
