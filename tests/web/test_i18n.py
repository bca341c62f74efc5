"""The admin's languages: no untranslated text in templates, a complete English catalog,
and a compiled catalog that matches its source (docs/i18n.md says how to update them)."""

from __future__ import annotations

import io
import re
import string
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment

from broadcaster.errors import MESSAGE_KEYWORDS
from broadcaster.webapp import web_dir
from broadcaster.webapp.i18n import TRANSLATIONS

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = web_dir() / "templates"
CATALOG = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
COMPILED = CATALOG.with_suffix(".mo")
# Words a page may show as they are, in every language: the product's name, the
# language switch (each language named in itself), file formats, units
AS_IS = {
    "broadcaster",
    "English",
    "Tiếng Việt",
    "PDF",
    "CSV",
    "JSON",
    "XLSX",
    "Excel",
    "MP3",
    "M3U8",
    "XSPF",
    "sha256",
    "ID",
    "UTC",
}
_TAG = re.compile(r"<[^>]*>", re.S)
_ATTRIBUTE = re.compile(r'\b(alt|title|placeholder|aria-label)="([^"]*)"')
_ENTITY = re.compile(r"&[#a-zA-Z0-9]+;")
_PAIR = re.compile(r'[\w-]+="[^"]*"')
_WORD = re.compile(r"[^\W\d_]{2,}")


_GETTEXT = {"_": None, "_l": None, "gettext": None}


def _extract() -> dict[str, tuple[str, int]]:
    """Every message id in the admin's Python and templates, and every service error's
    message id (the error classes' names are the keywords, as for ``pybabel extract``),
    with where it is used."""
    found: dict[str, tuple[str, int]] = {}
    sources = [
        (REPO / "broadcaster" / "webapp", [("**.py", "python")], _GETTEXT),
        (TEMPLATES, [("**.html", "jinja2")], _GETTEXT),
        (REPO / "broadcaster", [("**.py", "python")], dict.fromkeys(MESSAGE_KEYWORDS)),
    ]
    for folder, method_map, keywords in sources:
        for filename, lineno, message, _comments, _context in extract_from_dir(
            str(folder), method_map, keywords=keywords
        ):
            ids = message if isinstance(message, tuple) else (message,)
            for msgid in ids:
                if msgid:
                    found.setdefault(msgid, (f"{folder.name}/{filename}", lineno))
    return found


@cache
def _service_ids() -> frozenset[str]:
    """The message ids of the services' errors: ``{name}`` placeholders, str.format's."""
    keywords = dict.fromkeys(MESSAGE_KEYWORDS)
    folder = str(REPO / "broadcaster")
    found = extract_from_dir(folder, [("**.py", "python")], keywords=keywords)
    return frozenset(message for _f, _l, message, _c, _x in found if isinstance(message, str))


def _format_names(text: str) -> set[str] | None:
    """The ``{name}`` fields of ``text`` (with their format specs), None if it is malformed."""
    try:
        return {
            f"{name}:{spec}"
            for _lit, name, spec, _conv in string.Formatter().parse(text)
            if name is not None
        }
    except ValueError:
        return None


def _catalog():
    with CATALOG.open("rb") as handle:
        return read_po(handle, locale="en")


def _literal_words(text: str) -> str:
    # markup: whole tags, and attribute pairs a macro writes into someone else's tag
    text = _PAIR.sub(" ", _ENTITY.sub(" ", _TAG.sub(" ", text)))
    for word in AS_IS:
        text = text.replace(word, " ")
    # what is left with a word in it is text a person reads ("T2 06:00" is a format)
    return " ".join(tok for tok in text.split() if _WORD.search(tok))


def _template_text(source: str) -> str:
    """The template with every Jinja tag, expression and ``{% trans %}`` block blanked out,
    so HTML tags split by an expression still read as one tag."""
    env = Environment(extensions=["jinja2.ext.i18n"])
    parts, in_trans, after_begin = [], False, False
    for _lineno, kind, value in env.lex(source):
        if kind == "whitespace":
            continue
        if kind == "block_begin":
            after_begin = True
            continue
        if after_begin and kind == "name":
            in_trans = {"trans": True, "endtrans": False}.get(value, in_trans)
        after_begin = False
        if kind == "data" and not in_trans:
            parts.append(value)
        elif kind in ("variable_begin", "block_end"):
            parts.append("\x00")  # a value: neither text nor the end of a tag
    return "".join(parts)


@pytest.mark.parametrize(
    "template", sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html"))
)
def test_templates_hold_no_untranslated_text(template):
    text = _template_text((TEMPLATES / template).read_text("utf-8"))
    literal = []
    for _name, attr in _ATTRIBUTE.findall(text):
        if _literal_words(attr.replace("\x00", " ")):
            literal.append(f"attribute {attr!r}")
    if words := _literal_words(text.replace("\x00", " ")):
        literal.append(words)
    assert not literal, f"{template} has text outside _():\n" + "\n".join(literal)


def test_every_message_has_an_english_translation():
    catalog = _catalog()
    missing = []
    for msgid, (where, lineno) in sorted(_extract().items()):
        message = catalog.get(msgid)
        if message is None or not message.string or message.fuzzy:
            missing.append(f"{where}:{lineno}: {msgid!r}")
    assert not missing, f"{len(missing)} messages without English:\n" + "\n".join(missing)


def test_english_keeps_every_placeholder():
    names = re.compile(r"%\((\w+)\)s")
    wrong = []
    for message in _catalog():
        if message.id and message.string:
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if set(names.findall(ids[0])) != set(names.findall(strings[0])):
                wrong.append(repr(ids[0]))
            elif ids[0] in _service_ids():  # a service error: str.format's {name}
                if None in (expected := _format_names(ids[0]), _format_names(strings[0])):
                    wrong.append(f"{ids[0]!r} (malformed braces)")
                elif expected != _format_names(strings[0]):
                    wrong.append(repr(ids[0]))
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


def test_compiled_catalog_matches_its_source():
    buffer = io.BytesIO()
    write_mo(buffer, _catalog())
    assert COMPILED.read_bytes() == buffer.getvalue(), (
        "messages.mo is stale: run `pybabel compile -d broadcaster/webapp/translations`"
    )
