"""A station world for the station-protocol benchmarks (bench/pull.py, bench/ingest.py).

``build_world`` writes, through the product's own services, what a province
server holds when its stations talk to it: the units and stations of Hà Tĩnh,
an editor and an approver, three approved scripts behind three campaigns (one
of them ``priority``), a pull token for each benchmarked station, and for each
of those stations nine slots a day (four in the morning window, five in the
evening one) on the days asked for, optionally with real audio (offline
engine, rendered once per script and shared, as the content-addressed store
does for scripts without placeholders).

The build is deterministic: the same arguments on two fresh databases give the
same ids, which is what lets bench/ingest.py insert rows read from one into
the other.

``pull_app`` is the WSGI factory gunicorn serves in bench/pull.py: the real
app from ``create_app`` plus one route answering a constant body of the size
of a real playlist, so the two differ only by the playlist's own work.
"""

from __future__ import annotations

import os
import re
import time as _time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask, Response
from sqlalchemy import Engine, select, update

from broadcaster.clock import local_today
from broadcaster.config import Settings, load_settings
from broadcaster.db import make_sessionmaker, migrate, transaction
from broadcaster.library import ScriptText, read_library
from broadcaster.models import (
    AdminUnit,
    AudioAsset,
    Campaign,
    CampaignScript,
    CampaignTarget,
    Priority,
    Script,
    Slot,
    SlotStatus,
    Station,
)
from broadcaster.planning.calendar import week_label
from broadcaster.services import scripts, stations, tokens, units, users
from broadcaster.services.audio import render_slot, renderer_for
from broadcaster.services.audit import system_actor

REPO = Path(__file__).resolve().parent.parent
PROVINCE = "Hà Tĩnh"
PROVINCE_CODE = "42"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# (window start, window end, slots in it): the stations' default windows
WINDOWS = ((time(5, 30), time(6, 30), 4), (time(17, 0), time(18, 0), 5))
SLOT_GAP = timedelta(minutes=3)
SCRIPT_WORDS = 45  # enough for a real announcement's opening, quick to render
CONSTANT_BODY_VAR = "BENCH_CONSTANT_BODY"
CONSTANT_PATH = "/bench/constant"
_NEUTRAL = {"ten_xa": "địa phương", "ten_tinh": "tỉnh", "ten_dai": "Đài truyền thanh"}


@dataclass
class World:
    """What a benchmark needs to talk to the stations it built."""

    codes: list[str]
    tokens: dict[str, str]  # station code -> bearer token
    station_ids: dict[str, int]
    # station code -> [(slot id, planned start, audio sha256 of the file or None)]
    slots: dict[str, list[tuple[int, datetime, str | None]]] = field(default_factory=dict)

    @property
    def slot_count(self) -> int:
        return sum(len(v) for v in self.slots.values())


def bench_settings(database_url: str, workdir: Path, audio_dir: Path | None = None) -> Settings:
    """Settings as a deployment would have them, everything under ``workdir``."""
    return load_settings(env=bench_env(database_url, workdir, audio_dir), cwd=workdir)


def bench_env(database_url: str, workdir: Path, audio_dir: Path | None = None) -> dict[str, str]:
    """The BROADCASTER_* variables behind :func:`bench_settings` (for a server process)."""
    return {
        "BROADCASTER_DATABASE_URL": database_url,
        "BROADCASTER_SECRET_KEY": "bench-secret-key",
        "BROADCASTER_INSTANCE_DIR": str(workdir / "instance"),
        "BROADCASTER_AUDIO_DIR": str(audio_dir or workdir / "audio"),
        "BROADCASTER_TTS_ENGINE": "espeak",
    }


def _library_texts(count: int) -> list[tuple[ScriptText, str]]:
    """The opening words of the first library scripts (placeholders read neutrally), and
    each one's campaign name."""
    texts = []
    for text in read_library(REPO / "scripts")[:count]:
        body = re.sub(r"\{(\w+)\}", lambda m: _NEUTRAL.get(m.group(1), ""), text.body)
        words = body.split()[:SCRIPT_WORDS]
        short = ScriptText(slug=f"bench-{text.slug}", title=text.title, body=" ".join(words) + ".")
        texts.append((short, text.campaign or text.title))
    return texts


def _campaigns(session, editor, approver, today: date) -> list[tuple[int, int]]:
    """Three approved scripts, one campaign each over the province: [(campaign, version)]."""
    province_id = session.scalar(select(AdminUnit.id).where(AdminUnit.code == PROVINCE_CODE))
    made = []
    for n, (text, campaign_name) in enumerate(_library_texts(3)):
        scripts.save_text(session, editor, text)
        scripts.submit(session, editor, text.slug)
        scripts.approve(session, approver, text.slug)
        script = session.scalar(select(Script).where(Script.slug == text.slug))
        campaign = Campaign(
            name=f"{campaign_name} năm {today.year} (đợt {n + 1})",
            priority=Priority.PRIORITY if n == 1 else Priority.NORMAL,
            times_per_week=3,
            weekdays=[0, 1, 2, 3, 4, 5, 6],
            preferred="any",
            pattern=[],
            starts_on=today - timedelta(days=60),
            ends_on=today + timedelta(days=60),
        )
        campaign.scripts = [CampaignScript(script_id=script.id, position=0)]
        campaign.targets = [CampaignTarget(unit_id=province_id)]
        session.add(campaign)
        session.flush()
        made.append((campaign.id, script.approved_version_id))
    return made


def _day_slots(station_id: int, day: date, campaigns: list[tuple[int, int]]) -> list[Slot]:
    slots, n = [], 0
    for starts, ends, count in WINDOWS:
        window_end = datetime.combine(day, ends, tzinfo=TZ).astimezone(UTC)
        first = datetime.combine(day, starts, tzinfo=TZ).astimezone(UTC)
        for position in range(count):
            campaign_id, version_id = campaigns[n % len(campaigns)]
            slots.append(
                Slot(
                    station_id=station_id,
                    campaign_id=campaign_id,
                    occurrence=f"{day.isoformat()}#{n}",
                    script_version_id=version_id,
                    week=week_label(day),
                    planned_start=first + position * SLOT_GAP,
                    window_end=window_end,
                    position=position,
                    duration_ms=20_000,
                    status=SlotStatus.PLANNED,
                )
            )
            n += 1
    return slots


def build_world(
    engine: Engine,
    settings: Settings,
    *,
    stations_wanted: int,
    days: list[date],
    audio: bool,
) -> World:
    """Migrate and fill a fresh database; see the module docstring."""
    migrate(engine)
    factory = make_sessionmaker(engine)
    actor = system_actor()
    today = local_today(TZ)
    with transaction(factory) as s:
        units.import_units(s, actor, PROVINCE)
        stations.import_stations(s, actor, PROVINCE)
        users.add_user(s, actor, "soan", "editor", "bench-password")
        users.add_user(s, actor, "duyet", "approver", "bench-password")
    with factory() as s:
        editor = users.authenticate(s, "soan", "bench-password")
        approver = users.authenticate(s, "duyet", "bench-password")
    with transaction(factory) as s:
        campaigns = _campaigns(s, editor, approver, today)
        picked = s.execute(
            select(Station.code, Station.id).order_by(Station.code).limit(stations_wanted)
        ).all()
        if len(picked) < stations_wanted:
            raise SystemExit(f"{PROVINCE} has only {len(picked)} stations")
        issued = {code: tokens.issue(s, actor, code).token for code, _ in picked}
        for _code, station_id in picked:
            for day in days:
                s.add_all(_day_slots(station_id, day, campaigns))
    if audio:
        _render(factory, settings)
    world = World(
        codes=[c for c, _ in picked], tokens=issued, station_ids={c: i for c, i in picked}
    )
    with factory() as s:
        rows = s.execute(
            select(Station.code, Slot.id, Slot.planned_start, AudioAsset.file_sha256)
            .join(Station, Station.id == Slot.station_id)
            .outerjoin(AudioAsset, AudioAsset.id == Slot.audio_asset_id)
            .order_by(Slot.id)
        )
        for code, slot_id, start, sha in rows:
            world.slots.setdefault(code, []).append((slot_id, start, sha))
    return world


def _render(factory, settings: Settings) -> None:
    """One real render per script version (a cache hit when the audio dir has it), shared."""
    renderer = renderer_for(settings)
    with factory() as s:
        versions = s.scalars(select(Slot.script_version_id).distinct()).all()
    for version_id in versions:
        with transaction(factory) as s:
            first = s.scalar(
                select(Slot.id).where(Slot.script_version_id == version_id).order_by(Slot.id)
            )
            render_slot(s, renderer, first)
            slot = s.get(Slot, first)
            s.execute(
                update(Slot)
                .where(Slot.script_version_id == version_id)
                .values(audio_asset_id=slot.audio_asset_id, duration_ms=slot.duration_ms)
            )


def machine_busy(seconds: float = 1.0) -> float | None:
    """Share of all CPU time spent busy over ``seconds``, from /proc/stat (None elsewhere).

    Taken while the benchmark itself idles, so it is what other work does to the box.
    """

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return idle, sum(fields[:8])

    try:
        idle0, total0 = sample()
        _time.sleep(seconds)
        idle1, total1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


def busy_note(busy: float | None) -> str:
    if busy is None:
        return "other load on the machine: unknown (no /proc/stat)"
    note = "; figures will be noisy" if busy > 0.15 else ""
    return f"other load on the machine just before: {busy:.0%} of all cores busy{note}"


# -- the server side of bench/pull.py ------------------------------------------------------


def constant_body(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes."""
    head, tail = b'{"bench":"constant","pad":"', b'"}'
    return head + b"x" * max(0, size - len(head) - len(tail)) + tail


def add_constant_route(app: Flask, body: bytes) -> None:
    """A route answering ``body`` with a playlist's headers, through the same app."""
    etag = '"' + "0" * 32 + '"'

    def constant() -> Response:
        response = Response(body, mimetype="application/json")
        response.headers["ETag"] = etag
        response.headers["Cache-Control"] = "private, no-cache"
        return response

    app.add_url_rule(CONSTANT_PATH, "bench_constant", constant)


def pull_app() -> Flask:
    """gunicorn's factory: ``bench._station_world:pull_app()``, configured by environment."""
    from broadcaster.webapp import create_app, freeze_startup_objects

    app = create_app(load_settings(), run_migrations=False)
    add_constant_route(app, Path(os.environ[CONSTANT_BODY_VAR]).read_bytes())
    freeze_startup_objects()  # as broadcaster serve and broadcaster.webapp.wsgi do
    return app
