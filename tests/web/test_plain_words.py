"""Every page speaks to people: no command-line flag, no raw action code, no repository
path, no 500 — checked by walking the admin as each role, following the links a person
can click, over a lived-in demo (the screenshots' scene: campaigns, airings, an
emergency, an audit trail)."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from broadcaster.webapp.audit_labels import ACTIONS
from tests.browser import demo
from tests.web.conftest import USERS

REPO = Path(__file__).resolve().parents[2]

MAX_PAGES = 120  # per role; enough to reach every kind of page at least once
PER_PATH = 3  # the same page with other filters adds little
# Not pages: what they answer is a file, a redirect after an action, or the way out
NOT_PAGES = re.compile(
    r"^/(static/|logout|lang)|\.(mp3|pdf|csv|xlsx|json|m3u8|xspf)$|/(export|download)"
)
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
READ_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")


class _Page(HTMLParser):
    """What a person reads on a page (text and the attributes shown), and its links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.words: list[str] = []
        self.links: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style", "template"):
            self._hidden += 1
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        self.words.extend(attrs[name] for name in READ_ATTRIBUTES if attrs.get(name))

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.words.append(data.strip())


def _walk(client, start: str = "/dashboard"):
    """(path, status, page) for every page reachable by links from ``start``."""
    seen: set[str] = set()
    per_path: Counter = Counter()
    queue = [start]
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        parts = urlsplit(url)
        if url in seen or per_path[parts.path] >= PER_PATH or NOT_PAGES.search(parts.path):
            continue
        seen.add(url)
        per_path[parts.path] += 1
        response = client.get(url)
        if response.status_code in (301, 302, 303):
            queue.append(urljoin(url, response.headers["Location"]))
            continue
        if not response.mimetype.startswith("text/html"):
            continue
        page = _Page()
        page.feed(response.get_data(as_text=True))
        yield url, response.status_code, page
        for href in page.links:
            target = urlsplit(urljoin(url, href))
            if not target.netloc or target.netloc == "localhost":
                queue.append(target.path + (f"?{target.query}" if target.query else ""))


@pytest.fixture
def lived_in(web):
    demo.build(web.factory, web.settings.tz)
    return web


# The pages' words do not depend on the backend (both are walked by the other web tests)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("username", sorted(USERS))
def test_no_page_shows_a_flag_a_code_or_a_path(lived_in, username):
    client = lived_in.client(username)
    codes = tuple(ACTIONS)
    problems, pages = [], 0
    for url, status, page in _walk(client):
        pages += 1
        if status >= 500:
            problems.append(f"{url}: HTTP {status}")
        for words in page.words:
            if FLAG.search(words):
                problems.append(f"{url}: a command-line flag in {words!r}")
            if any(code in words for code in codes):
                problems.append(f"{url}: a raw action code in {words!r}")
            if "docs/" in words or ".md" in words:
                problems.append(f"{url}: a repository path in {words!r}")
    assert pages >= 5, f"{username} reached only {pages} pages"
    assert not problems, "\n".join(sorted(set(problems)))


def test_no_message_a_page_can_show_names_a_flag():
    """The message ids of the services' errors and of the admin hold no command-line flag
    (the CLI adds its flag itself, from the error's field)."""
    from babel.messages.extract import extract_from_dir

    from broadcaster.errors import MESSAGE_KEYWORDS

    keywords = {name: None for name in (*MESSAGE_KEYWORDS, "_", "_l", "gettext")}
    found = []
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(REPO / "broadcaster"), [("cli/**.py", "ignore"), ("**.py", "python")], keywords
    ):
        ids = message if isinstance(message, tuple) else (message,)
        if any(FLAG.search(msgid or "") for msgid in ids):
            found.append(f"broadcaster/{filename}:{lineno}: {ids[0]!r}")
    assert not found, "\n".join(found)
