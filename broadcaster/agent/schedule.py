"""The agent's agenda (lịch của đài): what it should play, and which item is due now.

Two sources feed it: the playlist (pulled every poll, or the cached copy when the
server cannot be reached) and emergencies heard of through the long poll, which can
arrive before the next playlist does. The playlist is the authority: an emergency
heard of earlier but missing from a playlist asked for later was cancelled or has
expired, and is dropped.

Pure bookkeeping: no network, no files, no clock of its own (``now`` is passed in).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from broadcaster.logs import stamp

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
RELAY_TAIL = timedelta(seconds=1)


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


@dataclass(frozen=True)
class Relay:
    """A relay item's sources (the playlist's ``relay`` object)."""

    source_id: int
    name: str
    url: str
    backup_url: str | None = None
    backup_audio_sha256: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Relay:
        return cls(
            source_id=int(data.get("source_id") or 0),
            name=str(data.get("name") or ""),
            url=str(data["url"]),
            backup_url=data.get("backup_url") or None,
            backup_audio_sha256=data.get("backup_audio_sha256") or None,
        )


@dataclass(frozen=True)
class Item:
    """One playlist item (a slot), as the agent needs it."""

    slot_id: int
    kind: str  # campaign | emergency | relay
    title: str
    repeat: int
    planned_start: datetime | None
    window_end: datetime | None
    duration_ms: int
    status: str  # planned | aired | missed (the server's view)
    sha256: str | None
    size: int | None
    emergency_id: int | None = None
    relay: Relay | None = None

    @property
    def is_emergency(self) -> bool:
        return self.kind == "emergency"

    @property
    def is_relay(self) -> bool:
        return self.relay is not None

    @property
    def file_sha256(self) -> str | None:
        """The audio file this item needs on disk: its own, or a relay's backup recording."""
        if self.relay is not None:
            return self.relay.backup_audio_sha256
        return self.sha256

    @property
    def ends_at(self) -> datetime | None:
        """A relay ends with its slot (start + length); anything else with its window."""
        if self.relay is not None and self.planned_start is not None:
            return self.planned_start + timedelta(milliseconds=self.duration_ms)
        return self.window_end

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Item:
        audio = data.get("audio") or {}
        relay = data.get("relay") if data.get("kind") == "relay" else None
        return cls(
            slot_id=int(data["slot_id"]),
            kind=str(data.get("kind", "campaign")),
            title=" ".join(str(data.get("title", "")).split()),
            repeat=max(1, int(data.get("repeat") or 1)),
            planned_start=_parse(data.get("planned_start")),
            window_end=_parse(data.get("window_end")),
            duration_ms=int(data.get("duration_ms") or 0),
            status=str(data.get("status", "planned")),
            sha256=audio.get("sha256"),
            size=audio.get("size"),
            emergency_id=data.get("emergency_id"),
            relay=Relay.from_json(relay) if isinstance(relay, dict) and relay.get("url") else None,
        )

    def opens_at(self, lead_s: float = 0.0) -> datetime | None:
        """When the agent takes it up: the planned time, ``lead_s`` earlier for a relay
        (its stream is opened ahead)."""
        if self.planned_start is None or self.relay is None:
            return self.planned_start
        return self.planned_start - timedelta(seconds=lead_s)

    def open_at(self, now: datetime, lead_s: float = 0.0) -> bool:
        """Due and not past its window (a relay: its end)."""
        opens = self.opens_at(lead_s)
        if opens is None or opens > now:
            return False
        if self.relay is not None:  # not worth opening a stream for its last second
            return now < self.ends_at - RELAY_TAIL
        return not self.closed_at(now)

    def closed_at(self, now: datetime) -> bool:
        ends = self.ends_at
        return ends is not None and ends <= now


def items_of(document: dict[str, Any]) -> list[Item]:
    return [Item.from_json(i) for i in document.get("items", [])]


def _order(item: Item) -> tuple:
    # emergencies first, then by the planned time and the server's order
    return (not item.is_emergency, item.planned_start, item.slot_id)


def _due_order(item: Item) -> tuple:
    # a relay's time is fixed: it goes before any announcement still waiting to play
    return (not item.is_emergency, not item.is_relay, item.planned_start, item.slot_id)


class Agenda:
    """The items the agent knows of; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._playlist: dict[int, Item] = {}
        self._heard: dict[int, tuple[Item, float]] = {}  # emergencies: (item, when heard)
        self.day: str | None = None
        self.timezone = ZoneInfo(DEFAULT_TIMEZONE)

    def set_playlist(self, document: dict[str, Any], asked_at: float) -> list[Item]:
        """Take a playlist whose request started at ``asked_at`` (monotonic seconds).

        Returns emergencies that this playlist dropped (cancelled or expired).
        """
        items = items_of(document)
        with self._lock:
            self._playlist = {i.slot_id: i for i in items}
            self.day = document.get("date")
            with contextlib.suppress(KeyError, ValueError):  # keep the last good zone
                self.timezone = ZoneInfo(document.get("timezone") or DEFAULT_TIMEZONE)
            dropped = [
                item
                for slot_id, (item, heard_at) in self._heard.items()
                if slot_id not in self._playlist and heard_at < asked_at
            ]
            for item in dropped:
                del self._heard[item.slot_id]
            for slot_id in list(self._heard):
                if slot_id in self._playlist:  # the playlist now carries it
                    del self._heard[slot_id]
        return dropped

    def add_emergencies(self, items: Iterable[Item], heard_at: float) -> list[Item]:
        """Emergencies from the long poll; returns those not known before."""
        new = []
        with self._lock:
            for item in items:
                if item.slot_id not in self._playlist and item.slot_id not in self._heard:
                    new.append(item)
                if item.slot_id not in self._playlist:
                    self._heard[item.slot_id] = (item, heard_at)
        return new

    def items(self) -> list[Item]:
        with self._lock:
            merged = dict(self._playlist)
            merged.update({k: v for k, (v, _) in self._heard.items() if k not in merged})
        return sorted(merged.values(), key=_order)

    def get(self, slot_id: int) -> Item | None:
        return next((i for i in self.items() if i.slot_id == slot_id), None)

    def due(
        self,
        now: datetime,
        skip: Callable[[Item], bool],
        *,
        emergencies_only: bool = False,
        lead_s: float = 0.0,
    ) -> Item | None:
        """The item to play now: the first open one that ``skip`` does not rule out
        (emergencies, then relays, then by time). A relay is due ``lead_s`` early."""
        for item in sorted(self.items(), key=_due_order):
            if emergencies_only and not item.is_emergency:
                continue
            if item.open_at(now, lead_s) and not skip(item):
                return item
        return None

    def next_start(
        self, now: datetime, skip: Callable[[Item], bool], lead_s: float = 0.0
    ) -> datetime | None:
        """When the next item that is not yet due will be."""
        starts = [
            opens
            for i in self.items()
            if (opens := i.opens_at(lead_s)) is not None and opens > now and not skip(i)
        ]
        return min(starts, default=None)

    def local(self, value: datetime | None) -> str:
        """A time for the log, in the playlist's zone with its offset, as the log's own
        timestamps are: ``2026-03-03 06:58:00+07:00``."""
        if value is None:
            return "—"
        return stamp(value, self.timezone)
