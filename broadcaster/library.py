"""The announcement script library: Vietnamese text files with a front-matter header.

A script file looks like::

    ---
    title: "Dịch vụ công trực tuyến là gì"
    tags: [dich-vu-cong, cchc]
    placeholders: [ten_xa]
    campaign: "Tuyên truyền dịch vụ công trực tuyến"
    ---
    Kính thưa toàn thể nhân dân {ten_xa}! …

This module only reads and checks files; storing them is
:mod:`broadcaster.services.scripts`' job. Every problem names the file and line.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from broadcaster.errors import InvalidInput, Words
from broadcaster.vntext import nfc, slugify

# Filled per station when audio is rendered. The value is how the name reads
# inside a sentence ("xã Cẩm Xuyên"), so a script never starts a sentence with one.
PLACEHOLDERS = {
    "ten_xa": "tên xã/phường/đặc khu, ví dụ 'xã Cẩm Xuyên'",
    "ten_tinh": "tên tỉnh/thành phố, ví dụ 'tỉnh Hà Tĩnh', 'thành phố Hà Nội'",
    "ten_dai": "tên đài, ví dụ 'Đài truyền thanh xã Cẩm Xuyên'",
}
HEADER_KEYS = ("title", "tags", "placeholders", "campaign", "slug")
SUFFIXES = (".md", ".txt")
MAX_TITLE = 300
_PLACEHOLDER = re.compile(r"\{([^{}\n]*)\}")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,119}$")
_TAG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@dataclass(frozen=True)
class ScriptText:
    """The content of one script version, as written by its author."""

    slug: str
    title: str
    body: str
    tags: tuple[str, ...] = ()
    placeholders: tuple[str, ...] = ()
    campaign: str | None = None
    source: str = ""
    # sha256 of a recording's source bytes (the body is then an optional transcript)
    recording_sha256: str | None = None

    @property
    def content_sha256(self) -> str:
        content = {
            "title": self.title,
            "body": self.body,
            "tags": list(self.tags),
            "campaign": self.campaign,
        }
        if self.recording_sha256:  # only then: a text version's hash stays what it was
            content["recording"] = self.recording_sha256
        canonical = json.dumps(
            content,
            ensure_ascii=False,
            sort_keys=True,
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class LibraryProblems(InvalidInput):
    """Every problem found in a library folder, each naming file and line.

    ``errors`` are the problems as errors (translated one by one when shown);
    ``problems`` their Vietnamese text."""

    def __init__(self, errors: list[InvalidInput]) -> None:
        super().__init__("\n".join(e.message for e in errors))
        self.errors = errors
        self.problems = [e.message for e in errors]

    def render(self, translate=lambda text: text) -> str:
        return "\n".join(e.render(translate) for e in self.errors)


def used_placeholders(body: str, where: str = "", first_line: int = 1) -> tuple[str, ...]:
    """Placeholder names in order of first use; unknown ones are an error.

    The error names the file ``where`` and its line, or (no ``where``: text typed in
    a form) the line of ``body``, about the field ``body``."""
    seen: list[str] = []
    for m in _PLACEHOLDER.finditer(body):
        name = m.group(1).strip()
        line = first_line + body.count("\n", 0, m.start())
        if name not in PLACEHOLDERS:
            raise _unknown_placeholder(name, where, line)
        if m.group(1) != name:
            said = {"field": "body", "where": where, "line": line, "written": m.group(1)}
            if where:
                raise InvalidInput("{where}:{line}: bỏ khoảng trắng trong '{{{written}}}'.", **said)
            raise InvalidInput("Dòng {line}: bỏ khoảng trắng trong '{{{written}}}'.", **said)
        if name not in seen:
            seen.append(name)
    return tuple(seen)


def _unknown_placeholder(name: str, where: str, line: int) -> InvalidInput:
    close = difflib.get_close_matches(name, list(PLACEHOLDERS), n=1)
    said = {
        "field": "body",
        "where": where,
        "line": line,
        "name": name,
        "close": close[0] if close else "",
        "allowed": ", ".join("{" + p + "}" for p in PLACEHOLDERS),
    }
    if where and close:
        return InvalidInput(
            "{where}:{line}: chỗ điền '{{{name}}}' không hợp lệ (có phải '{{{close}}}'?). "
            "Chỉ dùng: {allowed}.",
            **said,
        )
    if where:
        return InvalidInput(
            "{where}:{line}: chỗ điền '{{{name}}}' không hợp lệ. Chỉ dùng: {allowed}.", **said
        )
    if close:
        return InvalidInput(
            "Dòng {line}: chỗ điền '{{{name}}}' không hợp lệ (có phải '{{{close}}}'?). "
            "Chỉ dùng: {allowed}.",
            **said,
        )
    return InvalidInput(
        "Dòng {line}: chỗ điền '{{{name}}}' không hợp lệ. Chỉ dùng: {allowed}.", **said
    )


def _key_line(header_lines: list[str], key: str) -> int:
    """1-based line in the file where a header key is written (the header starts at line 2)."""
    for i, line in enumerate(header_lines):
        if line.split(":", 1)[0].strip() == key:
            return i + 2
    return 1


def _str_list(value: object, key: str, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise InvalidInput(
            "{where}: '{key}' phải là một danh sách, ví dụ [a, b].", where=where, key=key
        )
    return [nfc(str(v)).strip() for v in value if str(v).strip()]


def parse_script(raw: bytes, path: str, default_slug: str | None = None) -> ScriptText:
    """Check and parse one script file's bytes; ``path`` is used in messages."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            "{path}:{line}: tệp không phải UTF-8 (byte lỗi ở vị trí {position}). "
            "Hãy lưu lại tệp với bảng mã UTF-8.",
            path=path,
            line=line,
            position=exc.start,
        ) from None
    text = nfc(text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise InvalidInput(
            "{path}:1: thiếu phần đầu (front matter): tệp phải bắt đầu bằng dòng '---', "
            "sau đó là title, tags, placeholders và một dòng '---' nữa.",
            path=path,
        )
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise InvalidInput(
            "{path}:1: phần đầu mở bằng '---' nhưng không có dòng '---' đóng.", path=path
        ) from None
    header_lines = lines[1:end]
    try:
        header = yaml.safe_load("\n".join(header_lines)) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 2
        problem = getattr(exc, "problem", None) or Words("sai cú pháp")
        raise InvalidInput(
            "{path}:{line}: phần đầu sai cú pháp YAML: {problem}.",
            path=path,
            line=line,
            problem=problem,
        ) from None
    if not isinstance(header, dict):
        raise InvalidInput("{path}:2: phần đầu phải là các dòng 'khóa: giá trị'.", path=path)
    for key in header:
        if key not in HEADER_KEYS:
            close = difflib.get_close_matches(str(key), HEADER_KEYS, n=1)
            said = {
                "where": f"{path}:{_key_line(header_lines, str(key))}",
                "key": key,
                "close": close[0] if close else "",
                "keys": ", ".join(HEADER_KEYS),
            }
            if close:
                raise InvalidInput(
                    "{where}: khóa '{key}' không dùng được (có phải '{close}'?). Các khóa: {keys}.",
                    **said,
                )
            raise InvalidInput("{where}: khóa '{key}' không dùng được. Các khóa: {keys}.", **said)

    def where(key: str) -> str:
        return f"{path}:{_key_line(header_lines, key)}"

    title = header.get("title")
    if not isinstance(title, str) or not title.strip():
        raise InvalidInput("{where}: thiếu 'title' (tiêu đề tin bài).", where=where("title"))
    title = " ".join(nfc(title).split())
    if len(title) > MAX_TITLE:
        raise InvalidInput(
            "{where}: tiêu đề dài quá {limit} ký tự.", where=where("title"), limit=MAX_TITLE
        )

    tags = [t.lower() for t in _str_list(header.get("tags"), "tags", where("tags"))]
    for tag in tags:
        if not _TAG.match(tag):
            raise InvalidInput(
                "{where}: thẻ '{tag}' không hợp lệ; dùng chữ thường không dấu và '-'.",
                where=where("tags"),
                tag=tag,
            )
    declared = _str_list(header.get("placeholders"), "placeholders", where("placeholders"))
    campaign = header.get("campaign")
    if campaign is not None and not isinstance(campaign, str):
        raise InvalidInput("{where}: 'campaign' phải là một chuỗi.", where=where("campaign"))
    slug = header.get("slug") or default_slug or slugify(title)
    if not isinstance(slug, str) or not _SLUG.match(slug):
        raise InvalidInput(
            "{where}: mã tin bài '{slug}' không hợp lệ; dùng chữ thường không dấu, chữ số và '-'.",
            where=where("slug"),
            slug=slug,
        )

    body_first_line = end + 2
    body_lines = lines[end + 1 :]
    while body_lines and not body_lines[0].strip():
        body_lines.pop(0)
        body_first_line += 1
    body = "\n".join(line.rstrip() for line in body_lines).strip()
    if not body:
        raise InvalidInput(
            "{path}:{line}: nội dung tin bài rỗng (sau dòng '---').", path=path, line=end + 2
        )
    used = used_placeholders(body, path, body_first_line)
    if declared:
        unknown = [p for p in declared if p not in PLACEHOLDERS]
        if unknown:
            raise InvalidInput(
                "{where}: chỗ điền không hợp lệ: {unknown}. Chỉ dùng: {allowed}.",
                where=where("placeholders"),
                unknown=", ".join(unknown),
                allowed=", ".join(PLACEHOLDERS),
            )
        missing = [p for p in used if p not in declared]
        unused = [p for p in declared if p not in used]
        said = {"where": where("placeholders"), "missing": ", ".join(missing)}
        said["unused"] = ", ".join(unused)
        if missing and unused:
            raise InvalidInput(
                "{where}: placeholders: nội dung dùng {missing} nhưng chưa khai báo; "
                "khai báo {unused} nhưng nội dung không dùng.",
                **said,
            )
        if missing:
            raise InvalidInput(
                "{where}: placeholders: nội dung dùng {missing} nhưng chưa khai báo.", **said
            )
        if unused:
            raise InvalidInput(
                "{where}: placeholders: khai báo {unused} nhưng nội dung không dùng.", **said
            )
    return ScriptText(
        slug=slug,
        title=title,
        body=body,
        tags=tuple(dict.fromkeys(tags)),
        placeholders=used,
        campaign=" ".join(nfc(campaign).split()) if campaign else None,
        source=path,
    )


def library_files(folder: Path) -> list[Path]:
    """Script files below a folder, in a stable order (README files are skipped)."""
    if not folder.is_dir():
        raise InvalidInput("Không tìm thấy thư mục tin bài '{folder}'.", folder=str(folder))
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in SUFFIXES and not p.stem.upper().startswith("README")
    )


def read_library(folder: Path) -> list[ScriptText]:
    """Parse every script file; report all problems at once, or none."""
    parsed: list[ScriptText] = []
    problems: list[InvalidInput] = []
    seen: dict[str, str] = {}
    for path in library_files(folder):
        shown = str(path)
        try:
            script = parse_script(path.read_bytes(), shown, default_slug=slugify(path.stem))
        except InvalidInput as exc:
            problems.append(exc)
            continue
        except OSError as exc:
            problems.append(
                InvalidInput(
                    "{path}: không đọc được tệp: {reason}", path=shown, reason=exc.strerror
                )
            )
            continue
        if script.slug in seen:
            problems.append(
                InvalidInput(
                    "{path}:1: mã tin bài '{slug}' trùng với {other}.",
                    path=shown,
                    slug=script.slug,
                    other=seen[script.slug],
                )
            )
            continue
        seen[script.slug] = shown
        parsed.append(script)
    if problems:
        raise LibraryProblems(problems)
    return parsed
