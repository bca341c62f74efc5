"""Jinja filters: numbers, percentages, dates and times as Vietnamese readers write them."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask

from broadcaster.reports.fields import vn_number


def register_filters(app: Flask, tz: ZoneInfo) -> None:
    def vn(value) -> str:
        return "—" if value is None else vn_number(value)

    def pct(value) -> str:
        return "—" if value is None else f"{vn_number(value)}%"

    def vn_date(value) -> str:
        if not value:
            return ""
        day = date.fromisoformat(value) if isinstance(value, str) else value
        return day.strftime("%d/%m/%Y")

    def vn_time(value) -> str:
        if not value:
            return ""
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        if moment.tzinfo is not None:
            moment = moment.astimezone(tz)
        return moment.strftime("%d/%m/%Y %H:%M")

    app.jinja_env.filters.update(vn=vn, pct=pct, vn_date=vn_date, vn_time=vn_time)
