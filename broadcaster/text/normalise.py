"""Vietnamese text normalisation (chuẩn hóa văn bản): written announcement → spoken form.

gTTS and espeak-ng read digits, slashes and acronyms badly ("256/TB-UBND", "8h15",
"0912 345 678"), so :func:`normalise_vi` rewrites them as the words an announcer would say.
Each line is rewritten on its own (line breaks are pauses and must survive); within a line
the passes run in a fixed order, most specific first: web addresses, document numbers,
routes, weekdays, abbreviations, unknown codes, phone numbers, dates, times, ranges,
measures, "per", ordinals, Roman numerals, remaining numbers, punctuation. A pass that
has produced final words parks them behind a private-use placeholder character so later
passes cannot rewrite them again.

Readings that are choices, not rules (see also :mod:`.numbers`):

- dates: "15/6/2023" → "ngày mười lăm tháng sáu năm hai nghìn không trăm hai mươi ba";
  "ngày" is not doubled, January is "tháng một"; a day/month without a year ("20/11",
  "2/3 diện tích", "tỉ số 2/1") is a date, a fraction or left "a trên b" by the words
  around it: see :mod:`.dates`, which also reads weekday abbreviations ("T2", "CN");
- routes and chainage ("QL8A", "ĐT 549", "Km 15+200"): see :mod:`.roads`;
- codes nobody said how to read ("XYZQ"): spelled and reported, see :mod:`.unread` and
  :func:`normalise_checked`;
- times: "8h15" / "8:15" → "tám giờ mười lăm phút"; ":00" and "h00" add nothing;
- ranges: a dash between numbers, times or dates is "đến";
- phone numbers: digit by digit, a comma between the groups as written; a number is a
  phone number when it has 10–11 digits and starts with 0 (or is 1800/1900 + 4 digits), or
  when "điện thoại", "đường dây nóng", "hotline", "tổng đài", "fax", "Zalo" or "gọi"
  introduces it (so "gọi 113" → "một một ba"; "số 113" alone stays a quantity);
- document numbers ("256/TB-UBND"): ``full`` (default) → "số hai trăm năm mươi sáu thông
  báo Ủy ban nhân dân", each code part expanded by the abbreviation table (unknown parts
  spelled), "số" added unless the text already says it; ``compact`` → "hai trăm năm mươi
  sáu tê bê u bê en đê"; a year part is read "năm …" in both;
- web and e-mail addresses: see :func:`.abbreviations.replace_addresses`;
- brand names stay as written (Zalo, Facebook, VNeID: announcers' readings of "VNeID"
  vary, so the engine gets it unchanged).
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass, field

from broadcaster.text.abbreviations import (
    AbbreviationTable,
    default_table,
    replace_addresses,
    spell_letters,
)
from broadcaster.text.dates import day_months, spoken_date, weekdays
from broadcaster.text.numbers import (
    read_digits,
    read_integer,
    read_month,
    read_number,
    read_ordinal,
    read_whole,
    roman_value,
)
from broadcaster.text.roads import roads
from broadcaster.text.unread import mark_unread

DOCUMENT_NUMBER_STYLES = ("full", "compact")


@dataclass(frozen=True)
class NormaliseOptions:
    """How to normalise: the abbreviation table and the document-number style."""

    abbreviations: AbbreviationTable = field(default_factory=default_table)
    document_numbers: str = "full"  # "full" or "compact", see the module docstring

    def __post_init__(self) -> None:
        if self.document_numbers not in DOCUMENT_NUMBER_STYLES:
            raise ValueError(f"document_numbers must be one of {DOCUMENT_NUMBER_STYLES}")


# Placeholders: plane 15 holds numeric spans (times, dates, amounts; a dash between two of
# them is a range), plane 16 everything else. Input private-use characters are dropped first.
_NUMERIC_BASE, _OTHER_BASE, _MAX_SPANS = 0xF0000, 0x100000, 0xFFFD
_NUM_PH = "\U000f0000-\U000ffffd"
_ANY_PH = _NUM_PH + "\U00100000-\U0010fffd"
_PLACEHOLDER = re.compile(f"[{_ANY_PH}]")


class _Spans:
    """Finished spoken text parked behind one placeholder character each."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def put(self, spoken: str, numeric: bool = False) -> str:
        if len(self.items) >= _MAX_SPANS:
            return f" {spoken} "
        self.items.append(spoken)
        return chr((_NUMERIC_BASE if numeric else _OTHER_BASE) + len(self.items) - 1)

    def restore(self, text: str) -> str:
        def back(match: re.Match[str]) -> str:
            code = ord(match.group())
            base = _NUMERIC_BASE if code < _OTHER_BASE else _OTHER_BASE
            return f" {self.items[code - base]} "

        return _PLACEHOLDER.sub(back, text)


# --- character clean-up -------------------------------------------------------------------

_KEEP_SYMBOLS = frozenset("°²³")
# Format, private-use, unassigned, surrogate characters and enclosing marks (emoji keycaps).
_DROPPED = frozenset({"Cf", "Co", "Cn", "Cs", "Me"})
_VARIATION_SELECTOR = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")


class _CharTable(dict):
    """A ``str.translate`` table that decides each character once, the first time it is seen.

    Per-character Python loops cost more than all the regular expressions of a
    bulletin; with this table the loop runs in C and Python only meets each
    distinct character once.
    """

    def __init__(self, decide) -> None:
        super().__init__()
        self._decide = decide

    def __missing__(self, code: int) -> str:
        self[code] = value = self._decide(chr(code))
        return value


def _clean_char(ch: str) -> str:
    if ch == "\n" or (ch.isascii() and ch.isprintable()):
        return ch
    if 0xFF10 <= ord(ch) <= 0xFF19:  # full-width digits
        return str(ord(ch) - 0xFF10)
    category = unicodedata.category(ch)
    if category in ("Cc", "Zl", "Zp") or ch.isspace():
        return " "
    if (
        category in _DROPPED
        or (category == "So" and ch not in _KEEP_SYMBOLS)
        or _VARIATION_SELECTOR.match(ch)
    ):
        return ""
    return ch


_CLEAN = _CharTable(_clean_char)


def _clean_chars(text: str) -> str:
    """Drop control, format, private-use and emoji characters; tabs become spaces."""
    return text.translate(_CLEAN)


_BULLET = re.compile(r"^\s*(?:[•●○▪■►\u2023*+>#]+|[-–—](?![0-9]))\s*")
_ROMAN_HEADING = re.compile(r"^([IVX]+)\s*[.)]\s*")
_NUMBERED_HEADING = re.compile(r"^([0-9]{1,2}(?:\.[0-9]{1,2})+)\.(?=\s|$)")


def _headings(line: str) -> str:
    line = _BULLET.sub("", line)
    match = _ROMAN_HEADING.match(line)
    if match and (value := roman_value(match.group(1))):
        spoken = read_integer(value)
        line = f"{spoken[0].upper()}{spoken[1:]}. {line[match.end() :]}"
    match = _NUMBERED_HEADING.match(line)
    if match:
        parts = " chấm ".join(read_integer(int(p)) for p in match.group(1).split("."))
        line = parts + "." + line[match.end() :]
    return line


# --- document numbers ---------------------------------------------------------------------

_CODE_PART = r"[A-ZĐ][A-Za-zĐđ&]*"
_DOC_NUMBER = re.compile(
    rf"(?<![\w/.,])([0-9]{{1,5}})(?:/([0-9]{{4}}))?/({_CODE_PART}(?:-{_CODE_PART})*)(?![\w/])"
)
_SO_BEFORE = re.compile(r"(?i:số)\s*:?\s*$")


def _document_numbers(line: str, spans: _Spans, options: NormaliseOptions) -> str:
    def replace(match: re.Match[str]) -> str:
        number, year, code = match.groups()
        words = [read_whole(number)]
        if year:
            words += ["năm", read_integer(int(year))]
        parts = code.split("-")
        if options.document_numbers == "compact":
            words += [spell_letters(p) for p in parts]
        else:
            table = options.abbreviations
            words += [table.read_code(p) or spell_letters(p) for p in parts]
            if not _SO_BEFORE.search(line, max(0, match.start() - 10), match.start()):
                words.insert(0, "số")
        return spans.put(" ".join(words))

    return _DOC_NUMBER.sub(replace, line)


# --- phone numbers ------------------------------------------------------------------------

_PHONE = re.compile(
    r"(?<![\w.,/])(?:\+84[ .]?)?(?:[0-9]{2,5}(?:[ .-][0-9]{2,5}){1,4}|[0-9]{3,12})"
    r"(?![0-9]|[.,/-][0-9]|\w)"
)
_PHONE_CONTEXT = re.compile(
    r"(?i:điện thoại|đường dây nóng|hotline|tổng đài|fax|zalo)(?P<gap>[^0-9\n]{0,30})$"
    r"|(?<!kêu )(?i:gọi)(?: điện)?(?: ngay)?(?: (?:đến|tới|vào|cho) (?:số|đường dây nóng|tổng đài)"
    r"| (?:đến|tới|vào|số|đường dây nóng|tổng đài))?\s*:?\s*$"
)
# Words that, between "điện thoại" and a number, show the number is something else.
_NOT_A_PHONE_GAP = re.compile(
    r"(?i)(?<!\w)(?:năm|ngày|tháng|quý|giờ|lúc|trước|sau|từ|trong|có|bước|lần|và)(?!\w)"
)
_PHONE_LIST_GAP = re.compile(r"^\s*(?:,|;|/|-|–|hoặc|và)\s*$")


def _phone_groups(number: str) -> list[str]:
    groups = re.findall(r"[0-9]+", number)
    if len(groups) > 1:
        return groups
    digits = groups[0]
    sizes = {10: (4, 3, 3), 11: (4, 3, 4), 8: (4, 4)}.get(len(digits), (len(digits),))
    out, at = [], 0
    for size in sizes:
        out.append(digits[at : at + size])
        at += size
    return out


def _looks_like_phone(digits: str) -> bool:
    if len(digits) in (10, 11) and digits.startswith("0"):
        return True
    return len(digits) == 8 and digits[:4] in ("1800", "1900")


def _phones(line: str, spans: _Spans) -> str:
    pieces, last_end, last_was_phone = [], 0, False
    for match in _PHONE.finditer(line):
        raw = match.group()
        prefix = "cộng tám tư, " if raw.startswith("+84") else ""
        body = raw[3:].lstrip(" .") if prefix else raw
        digits = re.sub(r"[^0-9]", "", body)
        context = _PHONE_CONTEXT.search(line, max(0, match.start() - 60), match.start())
        if context and context.group("gap") and _NOT_A_PHONE_GAP.search(context.group("gap")):
            context = None
        follows_phone = last_was_phone and _PHONE_LIST_GAP.match(line[last_end : match.start()])
        is_phone = bool(prefix) or _looks_like_phone(digits)
        is_phone = is_phone or (len(digits) >= 3 and bool(context or follows_phone))
        if not is_phone:
            last_was_phone = False
            continue
        spoken = prefix + ", ".join(read_digits(g) for g in _phone_groups(body))
        pieces += [line[last_end : match.start()], spans.put(spoken)]
        last_end, last_was_phone = match.end(), True
    pieces.append(line[last_end:])
    return "".join(pieces)


# --- dates and times ----------------------------------------------------------------------

_FULL_DATE = re.compile(
    r"(?<![0-9/.,-])([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4})(?![0-9]|[/.-][0-9])"
)
_NGAY_BEFORE = re.compile(r"(?i:ngày|mùng|mồng)\s*$")
_MONTH_YEAR = re.compile(r"(?<!\w)((?i:tháng))\s+([0-9]{1,2})\s*[/.-]\s*([0-9]{4})(?![0-9])")
_QUARTER_YEAR = re.compile(r"(?<!\w)((?i:quý))\s+([0-9]|[IV]{1,3})\s*[/.-]\s*([0-9]{4})(?![0-9])")
_MONTH = re.compile(r"(?<!\w)((?i:tháng))\s+([0-9]{1,2})(?![0-9]|[.,/][0-9])")


def _valid_date(day: int, month: int, year: int) -> bool:
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


def _dates(line: str, spans: _Spans) -> str:
    def full(match: re.Match[str]) -> str:
        day, month, year = int(match.group(1)), int(match.group(3)), int(match.group(4))
        if not year or not _valid_date(day, month, year):
            return match.group()
        has_ngay = _NGAY_BEFORE.search(line, max(0, match.start() - 8), match.start())
        prefix = "" if has_ngay else "ngày "
        return spans.put(prefix + spoken_date(day, month, year), numeric=True)

    def month_year(match: re.Match[str]) -> str:
        month, year = int(match.group(2)), int(match.group(3))
        if not 1 <= month <= 12:
            return match.group()
        spoken = f"{match.group(1)} {read_month(month)} năm {read_integer(year)}"
        return spans.put(spoken, numeric=True)

    def quarter_year(match: re.Match[str]) -> str:
        raw = match.group(2)
        quarter = int(raw) if raw.isdigit() else roman_value(raw)
        if not quarter or quarter > 4:
            return match.group()
        spoken = f"{match.group(1)} {read_integer(quarter)} năm {read_integer(int(match.group(3)))}"
        return spans.put(spoken, numeric=True)

    def month(match: re.Match[str]) -> str:
        value = int(match.group(2))
        if not 1 <= value <= 12:
            return match.group()
        return f"{match.group(1)} {read_month(value)}"

    line = _FULL_DATE.sub(full, line)
    line = _MONTH_YEAR.sub(month_year, line)
    line = _QUARTER_YEAR.sub(quarter_year, line)
    line = day_months(line, spans.put)
    return _MONTH.sub(month, line)


_TIME_H = re.compile(
    r"(?<![\w.,:])([01]?[0-9]|2[0-4])[hH]([0-5][0-9])?(?:(?:'|’|p|ph)(?!\w)|\s+phút(?!\w))?(?!\w)"
)
_TIME_COLON = re.compile(r"(?<![\w.,:])([01]?[0-9]|2[0-4]):([0-5][0-9])(?![0-9]|:[0-9])")


def _times(line: str, spans: _Spans) -> str:
    def replace(match: re.Match[str]) -> str:
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        spoken = f"{read_integer(hour)} giờ"
        if minute:
            spoken += f" {read_integer(minute)} phút"
        return spans.put(spoken, numeric=True)

    return _TIME_COLON.sub(replace, _TIME_H.sub(replace, line))


# --- quantities ---------------------------------------------------------------------------

_NUMBER = (
    r"(?:(?<![\w)\]])[-−])?(?<![0-9])(?:[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?(?![0-9]|\.[0-9])"
    r"|[0-9]+\.[0-9]{1,2}(?![0-9]|\.[0-9])|[0-9]+(?:,[0-9]+)?)"
)
_RANGE = re.compile(rf"(?<=[0-9{_NUM_PH}])\s*[-–—]\s*(?=[0-9{_NUM_PH}])")
_WORD_UNITS = {
    "km/h": "ki lô mét một giờ", "km2": "ki lô mét vuông", "km²": "ki lô mét vuông",
    "km": "ki lô mét", "m2": "mét vuông", "m²": "mét vuông", "m3": "mét khối",
    "m³": "mét khối", "cm": "xen ti mét", "mm": "mi li mét", "m": "mét", "ha": "héc ta",
    "kg": "ki lô gam", "VNĐ": "đồng", "VND": "đồng", "vnđ": "đồng", "vnd": "đồng",
    "đ": "đồng", "kWh": "ki lô oát giờ", "kW": "ki lô oát", "ml": "mi li lít",
}  # fmt: skip
_SYMBOL_UNITS = {"%": "phần trăm", "°C": "độ xê", "ºC": "độ xê", "°": "độ"}
_WORD_UNIT_ALT = "|".join(re.escape(u) for u in sorted(_WORD_UNITS, key=len, reverse=True))
_SYMBOL_UNIT_ALT = "|".join(re.escape(u) for u in sorted(_SYMBOL_UNITS, key=len, reverse=True))
_MEASURE = re.compile(rf"({_NUMBER})\s?(?:({_WORD_UNIT_ALT})(?![\w²³])|({_SYMBOL_UNIT_ALT}))")
_PER = re.compile(rf"(?<=[0-9{_NUM_PH}])(\s*[^\W\d_]+(?:\s+[^\W\d_]+)?)?\s*/\s*(?=[^\W\d_])")
_FRACTION = re.compile(r"(?<=[0-9])\s*/\s*(?=[0-9])")
_ORDINAL = re.compile(r"(?<!\w)((?i:thứ|hạng))\s+([0-9]{1,2})(?![0-9]|[.,][0-9])")
_ROMAN_CONTEXT = re.compile(
    r"(?<!\w)((?i:quý|phần|chương|mục|khóa|khoá|đợt|giai đoạn|kỳ|nhiệm kỳ|thế kỷ|điều|tập"
    r"|phụ lục|lần|đại hội|thứ))\s+([IVX]+)(?!\w)"
)
_NUMBER_TOKEN = re.compile(_NUMBER)


def _measures(line: str, spans: _Spans) -> str:
    def replace(match: re.Match[str]) -> str:
        unit = _WORD_UNITS.get(match.group(2) or "") or _SYMBOL_UNITS[match.group(3)]
        return spans.put(f"{read_number(match.group(1))} {unit}", numeric=True)

    return _MEASURE.sub(replace, line)


def _ordinals(line: str) -> str:
    def arabic(match: re.Match[str]) -> str:
        return f"{match.group(1)} {read_ordinal(int(match.group(2)))}"

    def roman(match: re.Match[str]) -> str:
        value = roman_value(match.group(2))
        if not value:
            return match.group()
        word = match.group(1)
        spoken = read_ordinal(value) if word.lower() == "thứ" else read_integer(value)
        return f"{word} {spoken}"

    return _ROMAN_CONTEXT.sub(roman, _ORDINAL.sub(arabic, line))


def _numbers(line: str, spans: _Spans) -> str:
    return _NUMBER_TOKEN.sub(lambda m: spans.put(read_number(m.group()), numeric=True), line)


# --- punctuation --------------------------------------------------------------------------

_PUNCT_RANK = {"?": 5, "!": 5, ".": 4, ";": 3, ":": 2, ",": 1}
_ELLIPSIS = re.compile(r"…|\.{2,}")
_BRACKETS = re.compile(r"[()\[\]]")
_QUOTES = re.compile("[\"'`´‘’‚‛“”„‟«»‹›]")
_SPACED_DASH = re.compile(r"\s+[-–—]+\s*|\s*[-–—]+(?:\s+|$)|^[-–—]+")
_DOT_IN_WORD = re.compile(r"(?<=[^\W\d_])\.(?=[^\W\d_])")
_SYMBOLS = {"&": " và ", "%": " phần trăm ", "°": " độ ", "@": " a còng "}
_PUNCT_RUN = re.compile(r"\s*([.,;:!?](?:\s*[.,;:!?])*)\s*")
_LEADING_PUNCT = re.compile(r"^[\s.,;:!?]+")
_SPACES = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+(?=[.,;:!?])")


def _strongest(match: re.Match[str]) -> str:
    marks = [ch for ch in match.group(1) if not ch.isspace()]
    return max(marks, key=lambda ch: _PUNCT_RANK[ch]) + " "


def _punctuation(line: str) -> str:
    line = _ELLIPSIS.sub(",", line)
    line = _BRACKETS.sub(",", line)
    line = _QUOTES.sub("", line)
    line = _SPACED_DASH.sub(", ", line)
    line = _DOT_IN_WORD.sub(". ", line)
    return line.translate(_PUNCT)


def _punct_char(ch: str) -> str:
    if ch in _SYMBOLS:
        return _SYMBOLS[ch]
    if (
        ch.isspace()
        or ch in _PUNCT_RANK
        or _PLACEHOLDER.match(ch)
        or unicodedata.category(ch)[0] in "LM"  # stray superscripts, numerals: not read
    ):
        return ch
    return " "


_PUNCT = _CharTable(_punct_char)


def _tidy(line: str) -> str:
    line = _SPACES.sub(" ", line)
    line = _PUNCT_RUN.sub(_strongest, line)
    line = _LEADING_PUNCT.sub("", line)
    return _SPACE_BEFORE_PUNCT.sub("", line).strip()


# --- orchestration ------------------------------------------------------------------------


@dataclass(frozen=True)
class SpokenText:
    """The spoken form and the codes in it nobody said how to read (spelled in ``text``)."""

    text: str
    unread: tuple[str, ...] = ()


def _codes(line: str, spans: _Spans, options: NormaliseOptions, unread: list[str]) -> str:
    """The passes that read codes: addresses, document numbers, routes, weekdays, the table."""
    line = _headings(line)
    line = replace_addresses(line, spans.put)
    line = _document_numbers(line, spans, options)
    line = roads(line, spans.put)
    line = weekdays(line)
    line = options.abbreviations.expand(line)
    return mark_unread(line, options.abbreviations, spans.put, unread)


def _normalise_line(line: str, options: NormaliseOptions, unread: list[str]) -> str:
    spans = _Spans()
    line = _codes(line, spans, options, unread)
    line = _phones(line, spans)
    line = _dates(line, spans)
    line = _times(line, spans)
    line = _RANGE.sub(" đến ", line)
    line = _measures(line, spans)
    line = _PER.sub(lambda m: f"{m.group(1) or ''} mỗi ", line)
    line = _FRACTION.sub(" trên ", line)
    line = _ordinals(line)
    line = _numbers(line, spans)
    line = _tidy(_punctuation(line))
    return _tidy(spans.restore(line))


def _prepared_lines(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _clean_chars(text).split("\n")


def normalise_checked(text: str, options: NormaliseOptions | None = None) -> SpokenText:
    """:func:`normalise_vi`, with the unknown codes it spelled (each once, in order)."""
    options = options or NormaliseOptions()
    unread: list[str] = []
    lines = [_normalise_line(line, options, unread) for line in _prepared_lines(text)]
    spoken = unicodedata.normalize("NFC", "\n".join(lines))
    return SpokenText(spoken, tuple(dict.fromkeys(unread)))


def unread_codes(text: str, options: NormaliseOptions | None = None) -> tuple[str, ...]:
    """The codes of ``text`` the normaliser would spell unread (cheaper than normalising)."""
    options = options or NormaliseOptions()
    unread: list[str] = []
    for line in _prepared_lines(text):
        _codes(line, _Spans(), options, unread)
    return tuple(dict.fromkeys(unread))


def normalise_vi(text: str, options: NormaliseOptions | None = None) -> str:
    """Rewrite Vietnamese announcement text into the words a TTS engine should say.

    The result is NFC, has exactly as many lines as ``text`` and keeps pause punctuation
    (``. , ; : ! ?``). Never raises for any ``str``.
    """
    return normalise_checked(text, options).text
