"""The serif of the official PDF: metric-compatible with Times New Roman when one is here.

Nghị định 30/2020/NĐ-CP asks for Times New Roman. The PDF embeds a subset of a
free serif instead, found in this order on the machine that builds it:

1. Liberation Serif (Debian ``fonts-liberation2`` or ``fonts-liberation``,
   Fedora ``liberation-serif-fonts``) — the same width for every letter as Times
   New Roman, so lines and pages break where Word breaks them;
2. Tinos (Debian ``fonts-croscore``), the same metrics under another name;
3. Times New Roman itself (Windows, macOS, ``ttf-mscorefonts-installer``);
4. DejaVu Serif, shipped by matplotlib (a dependency, so always here with a
   plain ``pip install``). It covers Vietnamese too but is wider than Times: the
   document reads the same, its lines break earlier and it may run a little
   longer. :attr:`Serif.metric_compatible` says which case the PDF is in.

A font is taken only if its four faces (regular, bold, italic, bold italic) are
all there and every one has every Vietnamese letter (checked with fontTools,
fpdf2's own dependency); otherwise the next one is tried.
"""

from __future__ import annotations

import functools
import os
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import matplotlib
from fontTools.ttLib import TTFont

FACES = ("regular", "bold", "italic", "bold_italic")


@dataclass(frozen=True)
class Serif:
    """A serif family's four faces, as fpdf2 embeds them."""

    family: str  # "Liberation Serif", "Tinos", "Times New Roman", "DejaVu Serif"
    regular: Path
    bold: Path
    italic: Path
    bold_italic: Path
    metric_compatible: bool  # the widths of Times New Roman (the decree's font)

    def paths(self) -> dict[str, Path]:
        """fpdf2's style ("", "B", "I", "BI") → the face's file."""
        return {"": self.regular, "B": self.bold, "I": self.italic, "BI": self.bold_italic}


def _vietnamese() -> frozenset[str]:
    """Every letter of Vietnamese, upper and lower case, precomposed (NFC)."""
    tones = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")
    vowels = "aăâeêioôơuưy"
    letters = {unicodedata.normalize("NFC", v + t) for v in vowels for t in tones}
    letters |= set("bcdđghklmnpqrstvx")
    return frozenset(letters | {c.upper() for c in letters})


VIETNAMESE = _vietnamese()

# (family, metric-compatible, file names of regular, bold, italic, bold italic)
_FAMILIES: tuple[tuple[str, bool, tuple[str, str, str, str]], ...] = (
    (
        "Liberation Serif",
        True,
        (
            "LiberationSerif-Regular.ttf",
            "LiberationSerif-Bold.ttf",
            "LiberationSerif-Italic.ttf",
            "LiberationSerif-BoldItalic.ttf",
        ),
    ),
    (
        "Tinos",
        True,
        ("Tinos-Regular.ttf", "Tinos-Bold.ttf", "Tinos-Italic.ttf", "Tinos-BoldItalic.ttf"),
    ),
    ("Times New Roman", True, ("times.ttf", "timesbd.ttf", "timesi.ttf", "timesbi.ttf")),
    (
        "Times New Roman",
        True,
        (
            "Times New Roman.ttf",
            "Times New Roman Bold.ttf",
            "Times New Roman Italic.ttf",
            "Times New Roman Bold Italic.ttf",
        ),
    ),
    (
        "Times New Roman",
        True,
        (
            "Times_New_Roman.ttf",
            "Times_New_Roman_Bold.ttf",
            "Times_New_Roman_Italic.ttf",
            "Times_New_Roman_Bold_Italic.ttf",
        ),
    ),
)


def system_folders() -> list[Path]:
    """Where operating systems keep fonts (searched with their sub-folders)."""
    folders = [
        Path("/usr/share/fonts"),
        Path("/usr/local/share/fonts"),
        Path.home() / ".local" / "share" / "fonts",
        Path.home() / ".fonts",
        Path("/Library/Fonts"),
        Path("/System/Library/Fonts"),
        Path.home() / "Library" / "Fonts",
    ]
    windir = os.environ.get("WINDIR") or os.environ.get("SYSTEMROOT") or "C:/Windows"
    folders.append(Path(windir) / "Fonts")
    return folders


def _index(folders: Iterable[Path]) -> dict[str, Path]:
    """Font file name → the first file of that name under the folders (case-insensitive)."""
    found: dict[str, Path] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                if name.lower().endswith(".ttf"):
                    found.setdefault(name.lower(), Path(root) / name)
    return found


def covers_vietnamese(path: Path) -> bool:
    """Whether the font at ``path`` has a glyph for every Vietnamese letter."""
    try:
        with TTFont(path, lazy=True, fontNumber=0) as font:
            cmap = font.getBestCmap() or {}
    except Exception:  # an unreadable or broken file: not a font we can embed
        return False
    return all(ord(letter) in cmap for letter in VIETNAMESE)


def dejavu_serif() -> Serif:
    """DejaVu Serif from matplotlib's own fonts: always here, not Times-metric."""
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return Serif(
        family="DejaVu Serif",
        regular=folder / "DejaVuSerif.ttf",
        bold=folder / "DejaVuSerif-Bold.ttf",
        italic=folder / "DejaVuSerif-Italic.ttf",
        bold_italic=folder / "DejaVuSerif-BoldItalic.ttf",
        metric_compatible=False,
    )


def find_serif(folders: Iterable[Path] | None = None) -> Serif:
    """The first metric-compatible family with all four faces covering Vietnamese under
    ``folders`` (the system's font folders by default), else DejaVu Serif."""
    found = _index(system_folders() if folders is None else folders)
    for family, metric, names in _FAMILIES:
        paths = [found.get(name.lower()) for name in names]
        if all(paths) and all(covers_vietnamese(path) for path in paths):
            return Serif(family, *paths, metric_compatible=metric)  # type: ignore[arg-type]
    return dejavu_serif()


@functools.cache
def serif() -> Serif:
    """:func:`find_serif` over the system's folders, searched once per process
    (``serif.cache_clear()`` after installing a font)."""
    return find_serif()
