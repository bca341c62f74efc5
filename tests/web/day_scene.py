"""A station's day for the tests: a relay (tiếp âm) of VOV1, a province programme's
recording, a synthesised item and an emergency at daixa's station, written with the ORM
(no real audio: the recording's version only carries its hash, path and measures)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from broadcaster.db import transaction, utcnow
from broadcaster.models import (
    AdminUnit,
    Campaign,
    CampaignKind,
    CampaignScript,
    CampaignTarget,
    Emergency,
    Priority,
    RelaySource,
    Script,
    ScriptVersion,
    Slot,
    SlotStatus,
    Station,
    VersionStatus,
)
from broadcaster.planning.calendar import week_label
from tests.web.airing_scene import make_campaign
from tests.web.conftest import OWN_STATION

SPEECH_TITLE = "Tin Dịch vụ công trực tuyến"  # make_campaign's script
RECORDING_TITLE = "Chương trình phát thanh của tỉnh tuần này"
EMERGENCY_TITLE = "Bão số 3 sắp đổ bộ"


def local(web, day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=web.settings.tz)


def relay_campaign(s, unit: AdminUnit) -> tuple[Campaign, RelaySource]:
    source = RelaySource(name="VOV1", url="http://127.0.0.1:9/vov1.mp3")
    campaign = Campaign(
        name="Tiếp âm buổi sáng",
        kind=CampaignKind.RELAY,
        relay_source=source,
        relay_start=time(6),
        relay_minutes=30,
        priority=Priority.NORMAL,
        weekdays=list(range(7)),
        starts_on=date(2026, 1, 1),
        ends_on=date(2027, 12, 31),
    )
    campaign.targets = [CampaignTarget(unit_id=unit.id)]
    s.add(campaign)
    s.flush()
    return campaign, source


def _recording_campaign(s, unit: AdminUnit) -> tuple[Campaign, ScriptVersion]:
    """A province programme: an approved version carrying a recording (no real audio)."""
    script = Script(slug="chuong-trinh-tinh", unit=unit)
    sha = hashlib.sha256(b"chuong trinh tinh").hexdigest()
    version = ScriptVersion(
        script=script,
        number=1,
        title=RECORDING_TITLE,
        body="",
        content_sha256=sha,
        status=VersionStatus.APPROVED,
        recording_sha256=sha,
        recording_path=f"recordings/{sha[:2]}/{sha}.m4a",
        recording_info={"duration_s": 95.0, "codec": "aac"},
    )
    s.add_all([script, version])
    s.flush()
    script.approved_version = version
    campaign = Campaign(
        name="Chương trình tỉnh",
        priority=Priority.NORMAL,
        times_per_week=7,
        weekdays=list(range(7)),
        starts_on=date(2026, 1, 1),
        ends_on=date(2027, 12, 31),
    )
    campaign.scripts = [CampaignScript(script_id=script.id, position=0)]
    campaign.targets = [CampaignTarget(unit_id=unit.id)]
    s.add(campaign)
    s.flush()
    return campaign, version


def add_day(web, day: date) -> dict[str, int]:
    """The four kinds on ``day`` at daixa's station, written latest first (so that an
    order by id is not the airing order): a relay of VOV1 06:00–06:30, a recording
    06:30 (95 s), a synthesised item right after it (45 s), an emergency at 17:00 (62 s)."""
    speech_campaign = make_campaign(web)
    with transaction(web.factory) as s:
        station = s.scalar(select(Station).where(Station.code == OWN_STATION))
        unit = s.scalar(select(AdminUnit).where(AdminUnit.code == "42"))
        relay, source = relay_campaign(s, unit)
        recorded, recording = _recording_campaign(s, unit)
        script_id = s.scalar(
            select(CampaignScript.script_id).where(CampaignScript.campaign_id == speech_campaign)
        )
        speech = s.get(Script, script_id).approved_version_id
        emergency = Emergency(
            title=EMERGENCY_TITLE,
            script_version_id=speech,
            created_by="duyet",
            created_at=utcnow(),
            expires_at=utcnow() + timedelta(days=2),
        )
        s.add(emergency)
        s.flush()
        rows = {
            "emergency": dict(
                emergency_id=emergency.id,
                script_version_id=speech,
                start=local(web, day, 17),
                ms=62_000,
                position=-1,
            ),
            "speech": dict(
                campaign_id=speech_campaign,
                script_version_id=speech,
                start=local(web, day, 6, 31, 35),
                ms=45_000,
                position=1,
            ),
            "recording": dict(
                campaign_id=recorded.id,
                script_version_id=recording.id,
                start=local(web, day, 6, 30),
                ms=95_000,
                position=0,
            ),
            "relay": dict(
                campaign_id=relay.id,
                relay_source_id=source.id,
                start=local(web, day, 6),
                ms=30 * 60_000,
                position=0,
            ),
        }
        ids = {}
        for key, row in rows.items():
            start = row.pop("start")
            slot = Slot(
                station_id=station.id,
                occurrence=f"D{day:%j}-{key}",
                week=week_label(day),
                planned_start=start,
                window_end=start + timedelta(hours=1),
                duration_ms=row.pop("ms"),
                status=SlotStatus.PLANNED,
                **row,
            )
            s.add(slot)
            s.flush()
            ids[key] = slot.id
    return ids


ORDER = ("relay", "recording", "speech", "emergency")
# what each item's line says, tags stripped: times, length, kind, title
SHOWN = {
    "relay": ("06:00–06:30", "30 phút", "tiếp âm", "VOV1"),
    "recording": ("06:30–06:31:35", "1 phút 35 giây", "ghi âm", RECORDING_TITLE),
    "speech": ("06:31:35–06:32:20", "45 giây", "tin đọc máy", SPEECH_TITLE),
    "emergency": ("17:00–17:01:02", "1 phút 2 giây", "khẩn cấp", EMERGENCY_TITLE),
}
