"""A station's playlist for a day (danh sách phát): what to play, when, and where the audio is.

Built from the materialised slots (never planned at pull time). Active
emergencies come first, then the day's slots in airing order. The same values
are written as JSON (the agent's format), extended M3U and XSPF (for players).

Every item says its ``content``: ``speech`` (synthesised), ``recording`` (a person's
recording, mastered) or ``relay`` (tiếp âm: a live stream at a fixed time). A relay
item has no audio of its own; its ``relay`` block names the stream, the backup
stream, and the backup file (the backup script's approved version, mastered, which
the render job attaches to the relay slot: it downloads like any other audio).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time as _time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from broadcaster import metrics
from broadcaster.db import utcnow
from broadcaster.errors import NotFound
from broadcaster.files import file_digest
from broadcaster.models import (
    AudioAsset,
    Campaign,
    Emergency,
    Priority,
    RelaySource,
    ScriptVersion,
    Slot,
    SlotStatus,
    Station,
    StationWindow,
)

FORMAT_VERSION = 1
RENDER_AHEAD = timedelta(hours=48)  # a slot this close to airing gets its audio made
SHOWN = (SlotStatus.PLANNED, SlotStatus.AIRED, SlotStatus.MISSED)
PRIORITY_LABELS = {"emergency": "khẩn cấp", "priority": "ưu tiên", "normal": "thông thường"}
XSPF_NS = "http://xspf.org/ns/0/"
META_BASE = "https://broadcaster.invalid/xspf/"  # names our <meta> fields; never fetched


@dataclass(frozen=True)
class RelayStream:
    """What a player needs to relay a live stream (tiếp âm), and its backups."""

    source_id: int
    name: str
    url: str
    backup_url: str | None
    backup_audio_sha256: str | None  # the backup file (file sha256), None until made
    backup_audio_size: int | None


@dataclass(frozen=True)
class PlaylistItem:
    slot_id: int
    kind: str  # campaign | emergency | relay
    priority: str  # emergency | priority | normal
    priority_label: str
    title: str
    campaign_id: int | None
    campaign: str | None
    emergency_id: int | None
    repeat: int
    planned_start: datetime | None
    window_start: datetime | None
    window_end: datetime | None
    duration_ms: int
    status: str
    audio_sha256: str | None
    audio_size: int | None
    content: str = "speech"  # speech | recording | relay
    relay: RelayStream | None = None


@dataclass(frozen=True)
class Playlist:
    station_code: str
    station_name: str
    day: date
    timezone: str
    items: tuple[PlaylistItem, ...]


def _local_window_starts(session: Session, station_id: int) -> dict[time, time]:
    windows = session.execute(
        select(StationWindow.starts_at, StationWindow.ends_at).where(
            StationWindow.station_id == station_id
        )
    )
    return {end: start for start, end in windows}


def build(
    session: Session,
    station_id: int,
    day: date,
    tz: ZoneInfo,
    audio_root: Path,
    *,
    now: datetime | None = None,
) -> Playlist:
    now = now or utcnow()
    station = session.get(Station, station_id)
    if station is None:
        raise NotFound("Không có đài id {station_id}.", station_id=station_id)
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = start + timedelta(days=1)
    emergency_now = and_(
        Slot.emergency_id.is_not(None),
        Slot.status == SlotStatus.PLANNED,
        Slot.window_end > now,
        Emergency.cancelled_at.is_(None),
    )
    rows = session.execute(
        select(
            Slot,
            Campaign.name,
            Campaign.priority,
            ScriptVersion.title,
            ScriptVersion.recording_sha256,
            Emergency.repeat,
            AudioAsset,
            RelaySource,
        )
        .outerjoin(ScriptVersion, ScriptVersion.id == Slot.script_version_id)
        .outerjoin(RelaySource, RelaySource.id == Slot.relay_source_id)
        .outerjoin(Campaign, Campaign.id == Slot.campaign_id)
        .outerjoin(Emergency, Emergency.id == Slot.emergency_id)
        .outerjoin(AudioAsset, AudioAsset.id == Slot.audio_asset_id)
        .where(
            Slot.station_id == station_id,
            or_(
                emergency_now,
                and_(
                    Slot.planned_start >= start,
                    Slot.planned_start < end,
                    Slot.status.in_(SHOWN),
                ),
            ),
        )
        .order_by(Slot.emergency_id.is_(None), Slot.planned_start, Slot.position, Slot.id)
    ).all()
    window_starts = _local_window_starts(session, station_id)
    items = []
    for slot, campaign, priority, title, recorded, repeat, asset, source in rows:
        if asset is not None and asset.file_sha256 is None:
            asset.file_sha256 = file_digest(audio_root / asset.path)  # rows from before 0004
        if slot.emergency_id is not None:
            level = "emergency"
        else:
            level = "priority" if priority is Priority.PRIORITY else "normal"
        window_start = None
        if slot.window_end is not None and slot.emergency_id is None:
            local_end = slot.window_end.astimezone(tz)
            starts = window_starts.get(local_end.time().replace(tzinfo=None))
            if starts is not None:
                window_start = datetime.combine(local_end.date(), starts, tzinfo=tz)
        stream = _relay(slot, source, asset)
        if stream is not None:
            asset = None  # the relay's file is its backup, not its audio
        kind = "emergency" if slot.emergency_id is not None else "campaign"
        items.append(
            PlaylistItem(
                slot_id=slot.id,
                kind="relay" if stream is not None else kind,
                priority=level,
                priority_label=PRIORITY_LABELS[level],
                title=source.name if stream is not None else title,
                campaign_id=slot.campaign_id,
                campaign=campaign,
                emergency_id=slot.emergency_id,
                repeat=repeat or 1,
                planned_start=slot.planned_start,
                window_start=window_start,
                window_end=slot.window_end,
                duration_ms=slot.duration_ms,
                status=slot.status.value,
                audio_sha256=asset.file_sha256 if asset is not None else None,
                audio_size=asset.size_bytes if asset is not None else None,
                content=_content(stream, recorded),
                relay=stream,
            )
        )
    return Playlist(
        station_code=station.code,
        station_name=station.name,
        day=day,
        timezone=tz.key,
        items=tuple(items),
    )


def _relay(slot: Slot, source: RelaySource | None, backup) -> RelayStream | None:
    if slot.relay_source_id is None or source is None:
        return None
    return RelayStream(
        source_id=source.id,
        name=source.name,
        url=source.url,
        backup_url=source.backup_url,
        backup_audio_sha256=backup.file_sha256 if backup is not None else None,
        backup_audio_size=backup.size_bytes if backup is not None else None,
    )


def _content(stream: RelayStream | None, recording_sha256: str | None) -> str:
    if stream is not None:
        return "relay"
    return "recording" if recording_sha256 else "speech"


def emergency_slots(playlist: Playlist) -> tuple[int, ...]:
    return tuple(i.slot_id for i in playlist.items if i.kind == "emergency")


def mark_picked_up(session: Session, ids: Sequence[int], now: datetime | None = None) -> int:
    """Note when a station first saw its emergency items (the admin watches this), and
    how long after the sending it did (the fan-out histogram, :mod:`broadcaster.metrics`)."""
    if not ids:
        return 0
    now = now or utcnow()
    marked = session.execute(
        update(Slot)
        .where(Slot.id.in_(ids), Slot.picked_up_at.is_(None))
        .values(picked_up_at=now)
        .returning(Slot.emergency_id)
    ).all()
    if marked:  # a first pick-up: rare beside the pulls that find it marked already
        sent = dict(
            session.execute(
                select(Emergency.id, Emergency.created_at).where(
                    Emergency.id.in_({e for (e,) in marked if e is not None})
                )
            ).all()
        )
        metrics.emergency_picked_up((now - sent[e]).total_seconds() for (e,) in marked if e in sent)
    return len(marked)


# -- answering many pulls cheaply ----------------------------------------------------------


def fingerprint(conn: Connection, station_id: int, day: date, tz: ZoneInfo) -> tuple:
    """What a day's playlist is built from, in one small indexed query.

    Any write to the slots of the day or of the day before (a new slot, a status,
    audio attached, an emergency sent, picked up or cancelled) moves their count,
    newest id or ``updated_at``. The day before is in because an emergency sent
    late yesterday can still be due today; that an emergency expires changes no row,
    so an answer holding one is valid only until it expires (:attr:`Answer.valid_until`).
    """
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    row = conn.execute(
        _FINGERPRINT,
        {
            "station_id": station_id,
            "start": start - timedelta(days=1),
            "end": start + timedelta(days=1),
        },
    ).one()
    return tuple(row)


# built once: constructing the statement cost as much as running it
_FINGERPRINT = select(func.count(), func.max(Slot.updated_at), func.max(Slot.id)).where(
    Slot.station_id == bindparam("station_id"),
    Slot.planned_start >= bindparam("start"),
    Slot.planned_start < bindparam("end"),
)


@dataclass(frozen=True)
class Answer:
    """One built playlist response."""

    etag: str
    body: bytes
    content_type: str
    emergency_slots: tuple[int, ...]
    valid_until: datetime | None = None  # when its first emergency expires


class AnswerCache:
    """Built answers per process, reused while their fingerprint holds.

    Slots change rarely next to how often stations poll; rebuilding and serialising
    a playlist costs ten times what checking its fingerprint does. Changes that do
    not touch slots (a campaign renamed, a station renamed) show within ``max_age``.
    """

    def __init__(self, max_age: float = 60.0, max_entries: int = 20_000) -> None:
        self.max_age = max_age
        self.max_entries = max_entries
        self._entries: dict[tuple, tuple[tuple, float, Answer]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple, fp: tuple, now: datetime) -> Answer | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry[0] != fp or entry[1] < _time.monotonic():
            return None
        answer = entry[2]
        if answer.valid_until is not None and now >= answer.valid_until:
            return None
        return answer

    def put(self, key: tuple, fp: tuple, answer: Answer) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (fp, _time.monotonic() + self.max_age, answer)


# -- formats -----------------------------------------------------------------------------


def _iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).isoformat() if value is not None else None


def item_document(i: PlaylistItem, audio_url: str, tz: ZoneInfo) -> dict:
    """One item as the JSON playlist writes it (``audio_url`` has a ``{sha256}`` field)."""
    item = dict(vars(i))  # flat fields: asdict's deep copy costs a quarter of a pull
    for key in ("planned_start", "window_start", "window_end"):
        item[key] = _iso(getattr(i, key), tz)
    sha, size = item.pop("audio_sha256"), item.pop("audio_size")
    item["audio"] = (
        {"url": audio_url.format(sha256=sha), "sha256": sha, "size": size} if sha else None
    )
    if i.relay is not None:
        item["relay"] = relay_document(i.relay, audio_url)
        item["audio_state"], item["audio_note"] = None, None  # a stream: no file to make
    else:
        item["audio_state"], item["audio_note"] = _audio_state(i, sha)
    return item


def relay_document(r: RelayStream, audio_url: str) -> dict:
    """A relay item's ``relay`` block (``audio_url`` has a ``{sha256}`` field)."""
    backup = r.backup_audio_sha256
    return {
        "source_id": r.source_id,
        "name": r.name,
        "url": r.url,
        "backup_url": r.backup_url,
        "backup_audio_url": audio_url.format(sha256=backup) if backup else None,
        "backup_audio_sha256": backup,
    }


def _audio_state(i: PlaylistItem, sha: str | None) -> tuple[str, str | None]:
    """Whether the item's audio is ready, and if not, why not (for the station's operator)."""
    if sha:
        return "ready", None
    if i.planned_start is not None and i.planned_start - utcnow() > RENDER_AHEAD:
        return "scheduled", AUDIO_LATER
    return "rendering", AUDIO_SOON


AUDIO_LATER = "Âm thanh được tạo trong vòng 48 giờ trước giờ phát."
AUDIO_SOON = "Âm thanh đang được tạo; tải lại danh sách phát sau ít phút."


def to_json(playlist: Playlist, audio_url: str, generated_at: datetime) -> dict:
    """The JSON document (``audio_url`` has a ``{sha256}`` field to fill)."""
    tz = ZoneInfo(playlist.timezone)
    items = [item_document(i, audio_url, tz) for i in playlist.items]
    return {
        "version": FORMAT_VERSION,
        "station": playlist.station_code,
        "station_name": playlist.station_name,
        "date": playlist.day.isoformat(),
        "timezone": playlist.timezone,
        "generated_at": generated_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "items": items,
    }


def body_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def dumps(document: dict) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _label(item: dict) -> str:
    title = " ".join(item["title"].split())
    return f"{item['campaign']} - {title}" if item["campaign"] else title


def to_m3u8(document: dict) -> str:
    """Extended M3U: ``#EXTM3U``, then ``#EXTINF:seconds,label`` before each URL."""
    lines = ["#EXTM3U", f"#PLAYLIST:{document['station_name']} {document['date']}"]
    for item, _n, per_play_ms, url in _plays(document):
        seconds = max(1, round(per_play_ms / 1000))
        lines.append(f"#EXTINF:{seconds},{_label(item)}")
        lines.append(url)
    return "\n".join(lines) + "\n"


def _plays(document: dict):
    """Each entry with audio as many times as it is to be played (an emergency's repeat),
    and each relay once, as its stream for the slot's length: (item, n, ms, url)."""
    for item in document["items"]:
        if item.get("relay") is not None:
            yield item, 0, item["duration_ms"], item["relay"]["url"]
            continue
        if item["audio"] is None:
            continue
        plays = max(1, item["repeat"])
        for n in range(plays):
            yield item, n, item["duration_ms"] // plays, item["audio"]["url"]


def to_xspf(document: dict) -> bytes:
    """XSPF 1 (http://xspf.org/ns/0/), one <track> per item with audio."""
    ET.register_namespace("", XSPF_NS)
    q = lambda tag: f"{{{XSPF_NS}}}{tag}"  # noqa: E731
    root = ET.Element(q("playlist"), version="1")
    ET.SubElement(root, q("title")).text = f"{document['station_name']} {document['date']}"
    ET.SubElement(root, q("creator")).text = "broadcaster"
    ET.SubElement(root, q("date")).text = document["generated_at"]
    tracks = ET.SubElement(root, q("trackList"))
    for item, n, per_play_ms, url in _plays(document):
        track = ET.SubElement(tracks, q("track"))
        ET.SubElement(track, q("location")).text = url
        identifier = f"urn:broadcaster:slot:{item['slot_id']}" + (f":{n + 1}" if n else "")
        ET.SubElement(track, q("identifier")).text = identifier
        ET.SubElement(track, q("title")).text = item["title"]
        if item["campaign"]:
            ET.SubElement(track, q("creator")).text = item["campaign"]
        ET.SubElement(
            track, q("annotation")
        ).text = f"{item['priority_label']}; dự kiến {item['planned_start'] or '-'}"
        ET.SubElement(track, q("duration")).text = str(per_play_ms)
        for key in ("planned_start", "priority", "content", "sha256"):
            value = (item["audio"] or {}).get("sha256") if key == "sha256" else item.get(key)
            if value is not None:
                ET.SubElement(track, q("meta"), rel=META_BASE + key).text = str(value)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def audio_path_for(
    session: Session, station_id: int, file_sha256: str, audio_root: Path
) -> Path | None:
    """The file behind a sha256, if any slot of this station uses it (else None)."""
    relative = session.scalar(
        select(AudioAsset.path)
        .join(Slot, Slot.audio_asset_id == AudioAsset.id)
        .where(AudioAsset.file_sha256 == file_sha256, Slot.station_id == station_id)
        .limit(1)
    )
    return audio_root / relative if relative is not None else None


@dataclass(frozen=True)
class StationEmergencies:
    """What one station is to hear of new emergencies, and where their audio lies."""

    station_code: str
    items: tuple[PlaylistItem, ...]
    audio_paths: dict[str, Path]  # file sha256 → the file


def emergency_deliveries(
    session: Session, emergency_ids: Sequence[int], audio_root: Path, now: datetime | None = None
) -> dict[str, StationEmergencies]:
    """The live items of these emergencies for every station they reach, in one query.

    The items are the ones :func:`build` lists for each station (same fields), so a
    server answering many waiting stations at once builds none of their playlists.
    """
    now = now or utcnow()
    if not emergency_ids:
        return {}
    rows = session.execute(
        select(
            Slot,
            Station.code,
            ScriptVersion.title,
            ScriptVersion.recording_sha256,
            Emergency.repeat,
            AudioAsset,
        )
        .join(Station, Station.id == Slot.station_id)
        .join(ScriptVersion, ScriptVersion.id == Slot.script_version_id)
        .join(Emergency, Emergency.id == Slot.emergency_id)
        .outerjoin(AudioAsset, AudioAsset.id == Slot.audio_asset_id)
        .where(
            Slot.emergency_id.in_(list(emergency_ids)),
            Slot.status == SlotStatus.PLANNED,
            Slot.window_end > now,
            Emergency.cancelled_at.is_(None),
        )
        .order_by(Station.code, Slot.planned_start, Slot.position, Slot.id)
    ).all()
    out: dict[str, StationEmergencies] = {}
    for slot, code, title, recorded, repeat, asset in rows:
        delivery = out.setdefault(code, StationEmergencies(code, (), {}))
        sha = asset.file_sha256 if asset is not None else None
        item = PlaylistItem(
            slot_id=slot.id,
            kind="emergency",
            priority="emergency",
            priority_label=PRIORITY_LABELS["emergency"],
            title=title,
            campaign_id=None,
            campaign=None,
            emergency_id=slot.emergency_id,
            repeat=repeat or 1,
            planned_start=slot.planned_start,
            window_start=None,
            window_end=slot.window_end,
            duration_ms=slot.duration_ms,
            status=slot.status.value,
            audio_sha256=sha,
            audio_size=asset.size_bytes if asset is not None else None,
            content=_content(None, recorded),
        )
        paths = dict(delivery.audio_paths)
        if sha is not None:
            paths[sha] = audio_root / asset.path
        out[code] = StationEmergencies(code, (*delivery.items, item), paths)
    return out
