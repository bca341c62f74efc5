"""Spoken Vietnamese for numbers: cardinals, decimals, digit strings, ordinals, Roman numerals.

Reading choices (the same everywhere in the product, so one announcement never mixes them):

- thousands are "nghìn" (northern, official), never "ngàn";
- a zero tens digit after hundreds is "linh" (208 → "hai trăm linh tám"), never "lẻ";
- a group after a higher group is read in full: 2019 → "hai nghìn không trăm mười chín";
- unit digits after "mươi": 1 → "mốt", 4 → "tư", 5 → "lăm" (21, 24, 25); after "mười"
  only 5 changes (15 → "mười lăm", 14 → "mười bốn");
- the decimal comma is "phẩy"; up to three fractional digits are read as a number with
  their leading zeros spoken (3,25 → "ba phẩy hai mươi lăm", 0,05 → "không phẩy không
  năm"); longer fractions are read digit by digit;
- scales above "tỷ" repeat it: 2 000 000 000 000 → "hai nghìn tỷ".

This module knows nothing about where numbers sit in a sentence; :mod:`.normalise` decides
whether "113" is a quantity or a phone number.
"""

from __future__ import annotations

import re

DIGIT_WORDS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")

_BILLION = 10**9
# Beyond this many integer digits a figure is a code, not a quantity.
MAX_CARDINAL_DIGITS = 15

_GROUPED = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?")
_PLAIN = re.compile(r"[0-9]+(?:,[0-9]+)?")
_DOT_DECIMAL = re.compile(r"[0-9]+\.[0-9]{1,2}")
_ROMAN = re.compile(r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def _unit_after_tens(unit: int, tens: int) -> str:
    # "mốt" and "tư" only follow "mươi"; "lăm" follows both "mười" and "mươi".
    if unit == 5:
        return "lăm"
    if tens >= 2 and unit == 1:
        return "mốt"
    if tens >= 2 and unit == 4:
        return "tư"
    return DIGIT_WORDS[unit]


def _read_triple(n: int, padded: bool) -> list[str]:
    """Read 0 < n < 1000; ``padded`` when a higher group precedes ("không trăm mười chín")."""
    hundreds, tens, unit = n // 100, n // 10 % 10, n % 10
    words: list[str] = []
    if hundreds or padded:
        words += [DIGIT_WORDS[hundreds], "trăm"]
    if tens == 0:
        if unit:
            if words:
                words.append("linh")
            words.append(DIGIT_WORDS[unit])
    elif tens == 1:
        words.append("mười")
        if unit:
            words.append(_unit_after_tens(unit, tens))
    else:
        words += [DIGIT_WORDS[tens], "mươi"]
        if unit:
            words.append(_unit_after_tens(unit, tens))
    return words


def _read_below_billion(n: int, padded: bool) -> list[str]:
    words: list[str] = []
    for value, scale in ((n // 10**6, "triệu"), (n // 1000 % 1000, "nghìn"), (n % 1000, "")):
        if value == 0:
            continue
        words += _read_triple(value, padded)
        if scale:
            words.append(scale)
        padded = True
    return words


def read_integer(n: int) -> str:
    """Cardinal reading of a non-negative int: 2023 → "hai nghìn không trăm hai mươi ba"."""
    if n < 0:
        return "âm " + read_integer(-n)
    if n == 0:
        return "không"
    if n >= _BILLION:
        high, low = divmod(n, _BILLION)
        text = read_integer(high) + " tỷ"
        if low:
            text += " " + " ".join(_read_below_billion(low, padded=True))
        return text
    return " ".join(_read_below_billion(n, padded=False))


def read_digits(digits: str) -> str:
    """Digit by digit: "0912" → "không chín một hai"; non-digits are ignored."""
    return " ".join(DIGIT_WORDS[int(ch)] for ch in digits if "0" <= ch <= "9")


def read_fraction(digits: str) -> str:
    """The part after "phẩy": leading zeros spoken, then the rest as a number (see module doc)."""
    if len(digits) > 3:
        return read_digits(digits)
    stripped = digits.lstrip("0")
    zeros = ["không"] * (len(digits) - len(stripped))
    return " ".join([*zeros, read_integer(int(stripped))] if stripped else zeros)


def read_whole(digits: str) -> str:
    """An unsigned digit run as written in text: long runs and zero-led codes digit by digit.

    Two-digit zero-led values are days and months ("04" → "bốn"); "0123" is a code.
    """
    if len(digits) > MAX_CARDINAL_DIGITS or (len(digits) > 2 and digits.startswith("0")):
        return read_digits(digits)
    return read_integer(int(digits))


def read_number(digits: str) -> str:
    """Read a number written the Vietnamese way.

    Accepts ``"2023"``, ``"1.234.567"`` (dot groups thousands), ``"7,5"`` (decimal comma),
    ``"3.5"`` (a dot followed by one or two digits is taken as a decimal point) and a
    leading minus (``"-5"`` → "âm năm"). Raises ``ValueError`` for anything else.
    """
    text = digits.strip()
    sign = ""
    if text[:1] in ("-", "−"):
        sign, text = "âm ", text[1:]
    if _GROUPED.fullmatch(text):
        whole, _, frac = text.replace(".", "").partition(",")
    elif _PLAIN.fullmatch(text):
        whole, _, frac = text.partition(",")
    elif _DOT_DECIMAL.fullmatch(text):
        whole, _, frac = text.partition(".")
    else:
        raise ValueError(f"not a number: {digits!r}")
    spoken = read_whole(whole)
    if frac:
        spoken += " phẩy " + read_fraction(frac)
    return sign + spoken


def read_ordinal(n: int) -> str:
    """After "thứ" / "hạng": 1 → "nhất", 4 → "tư", otherwise the cardinal."""
    if n == 1:
        return "nhất"
    if n == 4:
        return "tư"
    return read_integer(n)


def read_month(n: int) -> str:
    """Month names: "tháng tư" for April; January is "tháng một" (not "tháng giêng",
    which belongs to the lunar calendar and would confuse a dated directive)."""
    return "tư" if n == 4 else read_integer(n)


def roman_value(numeral: str) -> int | None:
    """Value of a well-formed Roman numeral in capitals, or None ("IIII", "IC", "" → None)."""
    if not numeral or not _ROMAN.fullmatch(numeral):
        return None
    total = 0
    for i, ch in enumerate(numeral):
        value = _ROMAN_VALUES[ch]
        following = _ROMAN_VALUES[numeral[i + 1]] if i + 1 < len(numeral) else 0
        total += -value if value < following else value
    return total
