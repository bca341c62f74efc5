"""The reports pages' words for what a report holds as codes: airing results, period kinds,
and a period's name, in the reader's language.

The report itself keeps its Vietnamese labels (``periods.kind_label``,
``Period.label``) because the same body is stored and exported byte for byte;
these are for the pages only.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

STATUS_VI = {
    "aired": _l("đã phát"),
    "partial": _l("phát dở"),
    "failed": _l("lỗi"),
    "skipped": _l("bỏ qua"),
}
# the filter's choice of period; the same words as periods.kind_label, which the
# stored reports and exports keep in Vietnamese
KIND_LABELS = {
    "month": _l("Tháng"),
    "quarter": _l("Quý"),
    "half": _l("6 tháng"),
    "year": _l("Năm"),
    "custom": _l("Tùy chọn"),
}
_ROMAN = ("I", "II", "III", "IV")


def period_label(period: dict) -> str:
    """A report's period (``Period.as_dict()`` form) named in the reader's language.

    In Vietnamese it is the same text as ``Period.label``; a key of an unknown
    form falls back to the label stored with the report.
    """
    kind, key = period.get("kind"), str(period.get("key", ""))
    try:
        if kind == "month":
            year, month = key.split("-")
            return _("Tháng %(month)s/%(year)s", month=month, year=year)
        if kind == "quarter":
            year, quarter = key.split("-Q")
            if quarter in ("1", "2", "3", "4"):
                return _("Quý %(quarter)s/%(year)s", quarter=_ROMAN[int(quarter) - 1], year=year)
        elif kind == "half":
            year, half = key.split("-H")
            if half == "1":
                return _("6 tháng đầu năm %(year)s", year=year)
            if half == "2":
                return _("6 tháng cuối năm %(year)s", year=year)
        elif kind == "year":
            return _("Năm %(year)s", year=key)
        elif kind == "custom":
            start = date.fromisoformat(period["from"]).strftime("%d/%m/%Y")
            end = date.fromisoformat(period["to"]).strftime("%d/%m/%Y")
            return _("Từ %(start)s đến %(end)s", start=start, end=end)
    except (KeyError, TypeError, ValueError):
        pass
    return period.get("label", "")
