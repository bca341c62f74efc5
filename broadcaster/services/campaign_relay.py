"""Reading what people type about a relay campaign (chiến dịch tiếp âm).

A relay airs a live stream (:class:`~broadcaster.models.RelaySource`, named by the
admin: "VOV1", "Đài PT-TH Hà Tĩnh") from a fixed local start time for a number of
minutes on chosen weekdays (every day by default). The start and the end stay
inside one day: a relay crossing midnight is two campaigns.

The source is chosen by its name (diacritics and case optional), never a code; an
unknown or switched-off source, scripts given to a relay and N-a-week or pattern
cadence fields are refused with an :class:`InvalidInput` naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcaster.errors import InvalidInput, Words
from broadcaster.models import AdminUnit, Campaign, CampaignKind, RelaySource
from broadcaster.services.cadence import describe_weekdays, parse_time, parse_weekdays
from broadcaster.vntext import fold, nfc

EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)
MAX_MINUTES = 600  # ten hours: longer than any relay a commune station carries
_KINDS = {
    "announcement": CampaignKind.ANNOUNCEMENT,
    "tin bai": CampaignKind.ANNOUNCEMENT,
    "relay": CampaignKind.RELAY,
    "tiep am": CampaignKind.RELAY,
}
_START_LABEL = Words("Giờ tiếp âm")


@dataclass(frozen=True)
class Relay:
    """A relay's checked fields."""

    source: RelaySource
    start: time
    minutes: int
    weekdays: tuple[int, ...]


def parse_kind(value: str | CampaignKind | None) -> CampaignKind:
    if value is None or isinstance(value, CampaignKind):
        return value or CampaignKind.ANNOUNCEMENT
    found = _KINDS.get(fold(value))
    if found is None:
        raise InvalidInput(
            "Loại chiến dịch '{value}' không hợp lệ; chọn announcement (tin bài) "
            "hoặc relay (tiếp âm).",
            field="kind",
            value=value,
        )
    return found


def find_source(session: Session, name: str | None) -> RelaySource:
    """The relay source called ``name`` (with or without diacritics); it must be active."""
    typed = nfc((name or "").strip())
    if not typed:
        raise InvalidInput(
            "Chiến dịch tiếp âm cần nguồn tiếp âm (tên nguồn, ví dụ VOV1).", field="relay_source"
        )
    source = session.scalar(select(RelaySource).where(RelaySource.name == typed))
    if source is None:
        wanted = fold(typed)
        matches = [s for s in session.scalars(select(RelaySource)) if fold(s.name) == wanted]
        source = matches[0] if len(matches) == 1 else None
    if source is None:
        raise InvalidInput(
            "Không có nguồn tiếp âm tên '{name}'; quản trị thêm nguồn ở trang Nguồn tiếp âm.",
            field="relay_source",
            name=typed,
        )
    if not source.active:
        raise InvalidInput(
            "Nguồn tiếp âm '{name}' đang tắt; bật lại nguồn hoặc chọn nguồn khác.",
            field="relay_source",
            name=source.name,
        )
    return source


def parse_start(value: str | time | None) -> time:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    if value is None or not str(value).strip():
        raise InvalidInput(
            "Chiến dịch tiếp âm cần giờ bắt đầu (GIỜ:PHÚT, ví dụ 06:00).", field="relay_start"
        )
    return parse_time(str(value), _START_LABEL, "relay_start")


def parse_minutes(value: int | str | None) -> int:
    if value is None or str(value).strip() == "":
        raise InvalidInput(
            "Chiến dịch tiếp âm cần thời lượng (số phút, ví dụ 30).", field="relay_minutes"
        )
    try:
        minutes = int(str(value).strip())
    except ValueError:
        raise InvalidInput(
            "Thời lượng tiếp âm '{value}' phải là số phút.", field="relay_minutes", value=value
        ) from None
    if not 1 <= minutes <= MAX_MINUTES:
        raise InvalidInput(
            "Thời lượng tiếp âm phải từ 1 đến {most} phút (đã nhập {minutes}).",
            field="relay_minutes",
            most=MAX_MINUTES,
            minutes=minutes,
        )
    return minutes


def end_minute(start: time, minutes: int) -> int:
    """Minutes from midnight to the relay's end."""
    return start.hour * 60 + start.minute + minutes


def check_span(start: time, minutes: int) -> None:
    """Start plus length stays inside the day (ends at 24:00 at the latest)."""
    if end_minute(start, minutes) > 24 * 60:
        raise InvalidInput(
            "Tiếp âm từ {start:%H:%M} trong {minutes} phút sẽ qua nửa đêm; giờ kết thúc phải "
            "trong cùng ngày (muộn nhất 24:00).",
            field="relay_minutes",
            start=start,
            minutes=minutes,
        )


def check_source_reaches(source: RelaySource, units: Sequence[AdminUnit]) -> None:
    """A source owned by a unit serves only the stations below it (VOV1 has no unit)."""
    if source.unit is None:
        return
    for unit in units:
        if not unit.path.startswith(source.unit.path):
            raise InvalidInput(
                "Nguồn tiếp âm '{source}' thuộc {owner}; không dùng cho đơn vị nhận tin "
                "'{unit}' nằm ngoài đó.",
                field="targets",
                source=source.name,
                owner=source.unit.name,
                unit=unit.name,
            )


def refuse_announcement_fields(scripts, times_per_week, preferred, pattern) -> None:
    """A relay has no scripts and no N-a-week or pattern cadence."""
    if scripts:
        raise InvalidInput(
            "Chiến dịch tiếp âm không có tin bài; bỏ tin bài đã chọn (hoặc chọn loại Tin bài).",
            field="scripts",
        )
    for value, name in ((times_per_week, "times_per_week"), (preferred, "preferred")):
        if value is not None and str(value).strip() != "":
            raise InvalidInput(
                "Chiến dịch tiếp âm phát vào giờ cố định mỗi ngày được chọn; bỏ số lần/tuần "
                "và khung giờ ưu tiên.",
                field=name,
            )
    if pattern is not None and (not isinstance(pattern, str) or pattern.strip()):
        raise InvalidInput(
            "Chiến dịch tiếp âm phát vào giờ cố định mỗi ngày được chọn; bỏ lịch cố định.",
            field="pattern",
        )


def refuse_relay_fields(source, start, minutes) -> None:
    """An announcement campaign has no relay fields (its kind is fixed once created)."""
    for value, name in (
        (source, "relay_source"),
        (start, "relay_start"),
        (minutes, "relay_minutes"),
    ):
        if value is not None and str(value).strip() != "":
            raise InvalidInput(
                "Chiến dịch tin bài không có nguồn, giờ hay thời lượng tiếp âm; muốn tiếp âm "
                "hãy tạo chiến dịch loại Tiếp âm.",
                field=name,
            )


def merged(session: Session, c: Campaign, ch) -> Relay:
    """A relay's source, start, length and days after ``ch`` (stored values kept)."""
    new = c.id is None
    source = (
        find_source(session, ch.relay_source)
        if ch.relay_source is not None or new
        else c.relay_source
    )
    start = parse_start(ch.relay_start) if ch.relay_start is not None or new else None
    minutes = parse_minutes(ch.relay_minutes) if ch.relay_minutes is not None or new else None
    start, minutes = start or c.relay_start, minutes or c.relay_minutes
    check_span(start, minutes)
    weekdays = weekdays_of(ch.weekdays) if ch.weekdays is not None or new else None
    return Relay(source, start, minutes, weekdays or tuple(c.weekdays or EVERY_DAY))


def weekdays_of(value) -> tuple[int, ...]:
    return parse_weekdays(value) if value is not None else EVERY_DAY


def describe(source_name: str, start: time, minutes: int, weekdays: Sequence[int]) -> str:
    """The cadence of a relay as lists show it: Tiếp âm VOV1 06:00–06:30 (T2–CN)."""
    end = end_minute(start, minutes)
    ends = f"{end // 60:02d}:{end % 60:02d}"
    return f"Tiếp âm {source_name} {start:%H:%M}–{ends} ({describe_weekdays(weekdays)})"
