"""A script text from the admin's editor, checked by the library's own rules.

A script written in the browser and one imported from a file must be refused
for the same things (unknown placeholder, bad tag or slug, empty body, an
over-long title), so this builds the same :class:`~broadcaster.library.ScriptText`
with the same checks as :func:`broadcaster.library.parse_script`; only the
messages name the form's fields instead of a file's lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from broadcaster.errors import InvalidInput
from broadcaster.library import _SLUG, _TAG, MAX_TITLE, PLACEHOLDERS, ScriptText, used_placeholders
from broadcaster.text import unread_codes
from broadcaster.vntext import nfc, slugify

MAX_BODY = 20_000  # a long bulletin is ~5,000 characters; room for four
MAX_CAMPAIGN = 300  # the column's width
MAX_SLUG = 120
SOURCE = "web"


class ScriptFormProblems(InvalidInput):
    """Every bad field of one script form, each with its error (``problems``)."""

    def __init__(self, problems: dict[str, InvalidInput]) -> None:
        super().__init__("; ".join(p.message for p in problems.values()))
        self.problems = problems

    def render(self, translate=lambda text: text) -> str:
        return "; ".join(p.render(translate) for p in self.problems.values())


@dataclass(frozen=True)
class ScriptDraft:
    """What the editor sent, before checking (strings as typed, already NFC)."""

    title: str
    body: str
    tags: str = ""
    campaign: str = ""
    slug: str = ""
    placeholders: tuple[str, ...] = field(default_factory=tuple)


def derived_slug(title: str) -> str:
    """The slug a title gives (folded, at most 120 characters, no trailing '-')."""
    return slugify(title)[:MAX_SLUG].strip("-")


def split_tags(raw: str) -> list[str]:
    return [t for t in re.split(r"[,\s]+", nfc(raw).lower()) if t]


def compose(draft: ScriptDraft, *, slug: str | None = None) -> ScriptText:
    """The checked script text; raises :class:`ScriptFormProblems` naming each bad field.

    ``slug`` fixes the slug (a new version of an existing script); otherwise the
    draft's slug, or one derived from the title.
    """
    problems: dict[str, InvalidInput] = {}
    title = " ".join(nfc(draft.title).split())
    if not title:
        problems["title"] = InvalidInput("Nhập tiêu đề tin bài.", field="title")
    elif len(title) > MAX_TITLE:
        problems["title"] = InvalidInput(
            "Tiêu đề dài quá {limit} ký tự.", field="title", limit=MAX_TITLE
        )

    body = "\n".join(line.rstrip() for line in nfc(draft.body).split("\n")).strip()
    used: tuple[str, ...] = ()
    if not body:
        problems["body"] = InvalidInput("Nhập nội dung tin bài.", field="body")
    elif len(body) > MAX_BODY:
        limit = format(MAX_BODY, ",").replace(",", ".")
        problems["body"] = InvalidInput(
            "Nội dung dài quá {limit} ký tự.", field="body", limit=limit
        )
    else:
        try:
            used = used_placeholders(body)  # no file: the error names the line ("Dòng 3")
        except InvalidInput as exc:
            problems["body"] = exc

    tags = split_tags(draft.tags)
    bad_tags = [t for t in tags if not _TAG.match(t)]
    if bad_tags:
        problems["tags"] = InvalidInput(
            "Thẻ không hợp lệ: {tags}; dùng chữ thường không dấu, chữ số và '-'.",
            field="tags",
            tags=", ".join(bad_tags),
        )

    declared = [p for p in draft.placeholders if p]
    unknown = [p for p in declared if p not in PLACEHOLDERS]
    if unknown:
        problems["placeholders"] = InvalidInput(
            "Chỗ điền không hợp lệ: {unknown}. Chỉ dùng: {allowed}.",
            field="placeholders",
            unknown=", ".join(unknown),
            allowed=", ".join(PLACEHOLDERS),
        )
    elif declared and "body" not in problems and (problem := _unmarked(used, declared)):
        problems["placeholders"] = problem

    campaign = " ".join(nfc(draft.campaign).split())
    if len(campaign) > MAX_CAMPAIGN:
        problems["campaign"] = InvalidInput(
            "Tên chiến dịch dài quá {limit} ký tự.", field="campaign", limit=MAX_CAMPAIGN
        )

    if slug is None:
        slug = draft.slug.strip().lower() or derived_slug(title)
        if not slug and "title" not in problems:
            problems["slug"] = InvalidInput(
                "Tiêu đề không cho ra mã tin bài; hãy nhập mã (chữ không dấu, '-').", field="slug"
            )
        elif slug and not _SLUG.match(slug):
            problems["slug"] = InvalidInput(
                "Mã tin bài '{slug}' không hợp lệ; dùng chữ thường không dấu, chữ số và '-'"
                " (tối đa {limit} ký tự).",
                field="slug",
                slug=slug[:40],
                limit=MAX_SLUG,
            )
    if problems:
        raise ScriptFormProblems(problems)
    return ScriptText(
        slug=slug,
        title=title,
        body=body,
        tags=tuple(dict.fromkeys(tags)),
        placeholders=used,
        campaign=campaign or None,
        source=SOURCE,
    )


def as_file(text: ScriptText) -> str:
    """The library file a composed text would be (front matter + body)."""
    import yaml

    header = {"title": text.title, "slug": text.slug}
    if text.tags:
        header["tags"] = list(text.tags)
    if text.placeholders:
        header["placeholders"] = list(text.placeholders)
    if text.campaign:
        header["campaign"] = text.campaign
    front = yaml.safe_dump(header, allow_unicode=True, sort_keys=False)
    return f"---\n{front}---\n{text.body}\n"


@dataclass(frozen=True)
class TextWarning:
    """Something in a body the voice will read, but probably should not: shown, not refused.

    ``kind``: ``no_such_day`` (a date the calendar lacks, read out as a division),
    ``markup`` (an HTML tag or entity, read out symbol by symbol), ``blank`` (a gap
    left to fill: ``[tên xã]``, ``……``, ``____``), ``unread`` (a code the normaliser does
    not know how to read, spelled letter by letter: ``XYZQ``). ``excerpt`` is what was found.
    """

    kind: str
    excerpt: str


# d/m/yyyy (or with '.' or '-'); a sentence's full stop may follow, another number may not
_NUMERIC_DAY = re.compile(
    r"(?<![\d/.-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?![\d/-])(?!\.\d)", re.ASCII
)
_MARKUP = re.compile(r"</?[A-Za-z][^<>]{0,200}>|&(?:[A-Za-z]{2,8}|#\d{1,6});")
_BLANK = re.compile(r"\[[^\]\n]{0,60}\]|\.{4,}|…{2,}|_{3,}")
_WARNINGS_SHOWN = 10


def text_warnings(body: str) -> list[TextWarning]:
    """What in ``body`` will be read out wrongly (at most ten), in the order it appears."""
    from datetime import date

    found: list[tuple[int, TextWarning]] = []
    for m in _NUMERIC_DAY.finditer(body):
        day, month, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
        try:
            date(year, month, day)
        except ValueError:
            found.append((m.start(), TextWarning("no_such_day", m.group(0))))
    found += [(m.start(), TextWarning("markup", m.group(0)[:60])) for m in _MARKUP.finditer(body)]
    found += [(m.start(), TextWarning("blank", m.group(0)[:60])) for m in _BLANK.finditer(body)]
    for code in unread_codes(body):
        at = re.search(rf"(?<!\w){re.escape(code)}(?!\w)", body)
        found.append((at.start() if at else len(body), TextWarning("unread", code)))
    return [w for _at, w in sorted(found, key=lambda f: f[0])][:_WARNINGS_SHOWN]


def _unmarked(used: tuple[str, ...], declared: list[str]) -> InvalidInput | None:
    """The placeholders the body uses but the form does not mark, or marks but does not use."""
    missing = ", ".join(p for p in used if p not in declared)
    unused = ", ".join(p for p in declared if p not in used)
    said = {"field": "placeholders", "missing": missing, "unused": unused}
    if missing and unused:
        return InvalidInput(
            "Chỗ điền: nội dung dùng {missing} nhưng chưa đánh dấu; "
            "đánh dấu {unused} nhưng nội dung không dùng.",
            **said,
        )
    if missing:
        return InvalidInput("Chỗ điền: nội dung dùng {missing} nhưng chưa đánh dấu.", **said)
    if unused:
        return InvalidInput("Chỗ điền: đánh dấu {unused} nhưng nội dung không dùng.", **said)
    return None
