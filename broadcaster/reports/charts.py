"""Charts for compliance reports (biểu đồ báo cáo), drawn from the report's JSON dict.

Built on ``matplotlib.figure.Figure`` with the Agg canvas, never pyplot: pyplot keeps
global figure state that is not safe in a web worker. Every text uses DejaVu Sans
from matplotlib's own data folder, which covers Vietnamese, so the output does not
depend on the fonts installed on the server.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from broadcaster.reports.fields import vn_number

_FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT_REGULAR = _FONT_DIR / "DejaVuSans.ttf"
FONT_BOLD = _FONT_DIR / "DejaVuSans-Bold.ttf"

NO_DATA = "Không có số liệu"
WEEKLY_TITLE = "Tỷ lệ thực hiện theo tuần"
BEHIND_TITLE = "Các đài chậm nhất"

_BLUE = "#2a6fb0"
_ORANGE = "#d9822b"
_RED = "#c0392b"
_DPI = 150
_MAX_LABELLED_WEEKS = 16  # beyond this, per-bar numbers overlap


def _font(size: float = 9, bold: bool = False) -> FontProperties:
    return FontProperties(fname=FONT_BOLD if bold else FONT_REGULAR, size=size)


def _placeholder(title: str) -> Figure:
    fig = Figure(figsize=(8, 2.2), dpi=_DPI)
    fig.text(0.5, 0.62, title, ha="center", va="center", fontproperties=_font(11, True))
    fig.text(0.5, 0.38, NO_DATA, ha="center", va="center", fontproperties=_font(10), color="#666")
    return fig


def _style_ticks(ax) -> None:
    for label in (*ax.get_xticklabels(), *ax.get_yticklabels()):
        label.set_fontproperties(_font(8))
    ax.spines[["top", "right"]].set_visible(False)


def _week_ticks(weeks: list[str]) -> list[str]:
    """``2026-W44`` → ``T44``; the year is added only when the weeks span two years."""
    years = {week.split("-W")[0] for week in weeks}
    if len(years) <= 1:
        return [f"T{week.split('-W')[-1]}" for week in weeks]
    return [f"T{week.split('-W')[-1]}\n{week.split('-W')[0]}" for week in weeks]


def weekly_figure(report: dict) -> Figure:
    """Bars of ``compliance_pct`` per ISO week, with ``on_time_pct`` as a line."""
    weeks = report.get("weeks") or []
    if not any(week.get("compliance_pct") is not None for week in weeks):
        return _placeholder(WEEKLY_TITLE)
    fig = Figure(figsize=(8, 3.4), dpi=_DPI, layout="constrained")
    ax = fig.add_subplot()
    xs = list(range(len(weeks)))
    compliance = [week.get("compliance_pct") for week in weeks]
    on_time = [week.get("on_time_pct") for week in weeks]
    ax.bar(xs, [v or 0 for v in compliance], color=_BLUE, label="Tỷ lệ thực hiện")
    ax.plot(
        xs,
        [math.nan if v is None else v for v in on_time],
        color=_ORANGE,
        marker="o",
        markersize=3,
        label="Tỷ lệ đúng giờ",
    )
    if len(weeks) <= _MAX_LABELLED_WEEKS:
        for x, value in zip(xs, compliance, strict=True):
            # a week with nothing due has no bar: say so instead of drawing 0
            text = "–" if value is None else vn_number(value)
            ax.annotate(
                text,
                (x, value or 0),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontproperties=_font(7),
            )
    ax.set_xticks(xs, _week_ticks([week["week"] for week in weeks]))
    ax.set_ylim(0, 110)
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel("Tỷ lệ (%)", fontproperties=_font(9))
    ax.set_xlabel("Tuần", fontproperties=_font(9))
    ax.set_title(WEEKLY_TITLE, fontproperties=_font(11, True))
    # above the plot: with a year of weeks every corner of the axes has bars
    fig.legend(prop=_font(8), loc="outside upper right", ncols=2, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    _style_ticks(ax)
    if len(weeks) > _MAX_LABELLED_WEEKS:
        for label in ax.get_xticklabels():
            label.set_rotation(90)
    return fig


def _shorten(text: str, limit: int = 42) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def behind_figure(report: dict) -> Figure:
    """Horizontal bars of the slots still missing at the stations most behind."""
    rows = report.get("behind") or []
    if not rows:
        return _placeholder(BEHIND_TITLE)
    fig = Figure(figsize=(8, 1.2 + 0.32 * len(rows)), dpi=_DPI, layout="constrained")
    ax = fig.add_subplot()
    ys = list(range(len(rows)))
    missing = [row.get("missing") or 0 for row in rows]
    labels = [
        _shorten(
            " – ".join(part for part in (row.get("station_name"), row.get("unit_name")) if part)
        )
        for row in rows
    ]
    ax.barh(ys, missing, color=_RED)
    ax.set_yticks(ys, labels)
    ax.invert_yaxis()  # the most behind on top, as in the list
    for y, value, row in zip(ys, missing, rows, strict=True):
        pct = row.get("compliance_pct")
        text = vn_number(value) + ("" if pct is None else f" ({vn_number(pct)}%)")
        ax.annotate(
            text,
            (value, y),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontproperties=_font(7),
        )
    ax.set_xlim(0, max(max(missing), 1) * 1.25)
    ax.set_xlabel(
        "Số lượt bỏ lỡ, phát dở hoặc lỗi (trong ngoặc: tỷ lệ thực hiện)", fontproperties=_font(9)
    )
    ax.set_title(BEHIND_TITLE, fontproperties=_font(11, True))
    ax.grid(axis="x", alpha=0.3)
    _style_ticks(ax)
    return fig


def _render(fig: Figure, fmt: str) -> bytes:
    FigureCanvasAgg(fig)  # attach a canvas: a bare Figure cannot be saved without pyplot
    buf = io.BytesIO()
    # no creation date or software in the file: the same report gives the same bytes
    metadata = {"Software": None} if fmt == "png" else {"Date": None}
    fig.savefig(buf, format=fmt, metadata=metadata)
    return buf.getvalue()


def weekly_compliance_png(report: dict) -> bytes:
    return _render(weekly_figure(report), "png")


def weekly_compliance_svg(report: dict) -> str:
    return _render(weekly_figure(report), "svg").decode("utf-8")


def behind_png(report: dict) -> bytes:
    return _render(behind_figure(report), "png")


def behind_svg(report: dict) -> str:
    return _render(behind_figure(report), "svg").decode("utf-8")
