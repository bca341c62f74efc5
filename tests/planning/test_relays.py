"""Relays (tiếp âm) in the planner: fixed slots that take window time first, with every
other item laid around them; outside the windows, quiet days, an edited time."""

from __future__ import annotations

import itertools
import subprocess
from collections import defaultdict
from datetime import date, time, timedelta

from sqlalchemy import delete, select, update

from broadcaster.db import transaction
from broadcaster.models import (
    AdminUnit,
    Campaign,
    CampaignScript,
    CampaignTarget,
    Priority,
    RelaySource,
    Script,
    Slot,
    SlotStatus,
    Station,
    StationQuietDay,
    StationWindow,
)
from broadcaster.planning import plan
from broadcaster.planning.fixed import OUTSIDE_WINDOWS, OVER_A_RELAY
from broadcaster.services import campaigns as svc
from broadcaster.services import scripts, users
from broadcaster.services.audit import system_actor
from tests.planning.fixtures import MONDAY, TZ, local

TWENTY_MINUTES = 3000  # words: about twenty minutes at 2.5 words a second
WINDOWS = ((time(5, 30), time(6, 30)), (time(17), time(18)))


def run(factory, now=MONDAY, days=7, **kw):
    with transaction(factory) as s:
        return plan(s, now=now, days=days, tz=TZ, **kw)


def station_id(factory, code="18073") -> int:
    with factory() as s:
        return s.scalar(select(Station.id).where(Station.code == code))


def planned(factory, station=None, status=SlotStatus.PLANNED) -> list[Slot]:
    with factory() as s:
        stmt = select(Slot).where(Slot.status == status)
        if station is not None:
            stmt = stmt.where(Slot.station_id == station_id(factory, station))
        return list(s.scalars(stmt.order_by(Slot.station_id, Slot.planned_start)))


def end_of(slot: Slot):
    return slot.planned_start + timedelta(milliseconds=slot.duration_ms)


def assert_no_overlap_inside_windows(slots: list[Slot]) -> None:
    by_station = defaultdict(list)
    for slot in slots:
        by_station[slot.station_id].append(slot)
    for mine in by_station.values():
        mine.sort(key=lambda x: x.planned_start)
        for a, b in itertools.pairwise(mine):
            assert end_of(a) <= b.planned_start, (a.occurrence, b.occurrence)
        for slot in mine:
            start = slot.planned_start.astimezone(TZ).time()
            assert any(w0 <= start < w1 for w0, w1 in WINDOWS), slot.occurrence
            assert end_of(slot) <= slot.window_end, slot.occurrence


def one_window(factory, code="18073", start=time(5, 30), end=time(6, 30)) -> None:
    with transaction(factory) as s:
        sid = s.scalar(select(Station.id).where(Station.code == code))
        s.execute(delete(StationWindow).where(StationWindow.station_id == sid))
        s.add(StationWindow(station_id=sid, starts_at=start, ends_at=end))


def test_a_daily_relay_is_fixed_and_a_three_a_week_campaign_goes_around_it(
    factory, campaign, relay_campaign
):
    relay = relay_campaign("VOV1", time(6), 30)
    other = campaign("DVCTT", times_per_week=3)
    report = run(factory)
    assert not report.unplaced
    mine = planned(factory, "18073")
    relays = [s for s in mine if s.campaign_id == relay]
    monday = date(2026, 11, 2)
    assert [s.planned_start for s in relays] == [
        local(monday + timedelta(days=d), time(6)) for d in range(7)
    ]
    with factory() as s:
        source_id = s.scalar(select(RelaySource.id))
    for slot in relays:
        assert slot.duration_ms == 30 * 60_000
        assert slot.script_version_id is None and slot.relay_source_id == source_id
        assert slot.window_end == local(slot.planned_start.astimezone(TZ).date(), time(6, 30))
        assert slot.occurrence == f"2026-W45@{slot.planned_start.astimezone(TZ).weekday()}-0600"
    assert sum(1 for s in mine if s.campaign_id == other) == 3
    everything = planned(factory)
    assert len(everything) == 69 * (7 + 3)
    assert_no_overlap_inside_windows(everything)


def test_the_relay_takes_window_time_first_then_spill_and_unplaced(
    factory, campaign, relay_campaign
):
    one_window(factory)  # 05:30-06:30 only: the relay leaves 30 minutes a day
    relay_campaign("VOV1", time(6), 30)
    a = campaign("A", times_per_week=6, priority=Priority.PRIORITY, words=TWENTY_MINUTES)
    b = campaign("B", times_per_week=2, weekdays=range(7), words=TWENTY_MINUTES)
    report = run(factory)
    mine = planned(factory, "18073")
    assert_no_overlap_inside_windows(mine)
    a_days = sorted(s.planned_start.astimezone(TZ).weekday() for s in mine if s.campaign_id == a)
    assert a_days == [0, 1, 2, 3, 4, 5]
    # every A item before the relay, from the window's start
    assert all(
        s.planned_start.astimezone(TZ).time() == time(5, 30) for s in mine if s.campaign_id == a
    )
    (b_placed,) = [s for s in mine if s.campaign_id == b]
    assert b_placed.planned_start.astimezone(TZ).weekday() == 6  # spilled to the free Sunday
    (b_left,) = planned(factory, "18073", SlotStatus.UNPLACED)
    assert b_left.campaign_id == b and "không còn chỗ" in b_left.note
    assert [u.reason for u in report.unplaced if u.station_code == "18073"] == [b_left.note]


def test_without_the_relay_the_same_items_fit(factory, campaign):
    # the counter-check of the test above: the relay's half hour is what was missing
    one_window(factory)
    campaign("A", times_per_week=6, priority=Priority.PRIORITY, words=TWENTY_MINUTES)
    campaign("B", times_per_week=2, weekdays=range(7), words=TWENTY_MINUTES)
    report = run(factory)
    assert not [u for u in report.unplaced if u.station_code == "18073"]


def _province_programme(factory, tmp_path) -> int:
    """A script owned by the province (its recorded programme when recordings exist)."""
    with transaction(factory) as s:
        actor = system_actor()
        users.add_user(s, actor, "tinh", "editor", "password1")
        users.add_user(s, actor, "lanhdao", "approver", "password1")
    with factory() as s:
        editor = users.authenticate(s, "tinh", "password1")
        approver = users.authenticate(s, "lanhdao", "password1")
    recorded = False
    try:
        from broadcaster.audio._ffmpeg import ffmpeg_exe
        from broadcaster.services.recordings import create_recorded_script

        source = tmp_path / "chuong-trinh.m4a"
        subprocess.run(
            [
                ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=6",
                "-ac", "2", "-c:a", "aac", str(source),
            ],
            check=True,
        )  # fmt: skip
        with transaction(factory) as s:
            create_recorded_script(
                s,
                "chuong-trinh-tinh",
                source,
                filename=source.name,
                audio_dir=tmp_path / "audio",
                actor=editor,
                title="Chương trình phát thanh của tỉnh",
                unit="42",
            )
        recorded = True
    except ImportError:  # before recordings: the province's programme as text
        from broadcaster.library import ScriptText

        body = " ".join(["Chương trình phát thanh của tỉnh."] * 60)
        with transaction(factory) as s:
            scripts.save_text(
                s,
                editor,
                ScriptText(slug="chuong-trinh-tinh", title="Chương trình của tỉnh", body=body),
                s.scalar(select(AdminUnit).where(AdminUnit.code == "42")),
            )
    with transaction(factory) as s:
        scripts.submit(s, editor, "chuong-trinh-tinh")
        scripts.approve(s, approver, "chuong-trinh-tinh")
        script = s.scalar(select(Script).where(Script.slug == "chuong-trinh-tinh"))
        assert script.unit is not None and script.unit.code == "42"
        assert (script.approved_version.recording_sha256 is not None) == recorded
        return script.id


def test_a_province_programme_and_a_daily_relay_with_a_three_a_week_campaign(
    factory, campaign, relay_campaign, tmp_path
):
    script_id = _province_programme(factory, tmp_path)
    with transaction(factory) as s:  # the province's programme, to every commune twice a week
        province = s.scalar(select(AdminUnit.id).where(AdminUnit.code == "42"))
        programme = Campaign(
            name="Chương trình của tỉnh",
            priority=Priority.NORMAL,
            times_per_week=2,
            weekdays=[0, 1, 2, 3, 4, 5],
            preferred="any",
            pattern=[],
            starts_on=date(2026, 11, 2),
            ends_on=date(2026, 12, 31),
        )
        programme.scripts = [CampaignScript(script_id=script_id, position=0)]
        programme.targets = [CampaignTarget(unit_id=province)]
        s.add(programme)
        s.flush()
        programme_id = programme.id
    relay = relay_campaign("VOV1", time(6), 30)
    other = campaign("DVCTT", times_per_week=3)
    report = run(factory, days=14)
    assert not report.unplaced
    everything = planned(factory)
    assert_no_overlap_inside_windows(everything)
    per_station = defaultdict(lambda: defaultdict(int))
    for slot in everything:
        per_station[slot.station_id][slot.campaign_id] += 1
        if slot.campaign_id == relay:
            assert slot.planned_start.astimezone(TZ).time() == time(6)
    assert len(per_station) == 69
    for counts in per_station.values():
        assert counts == {relay: 14, programme_id: 4, other: 6}


def test_a_relay_outside_every_window_is_unplaced_with_its_reason(factory, relay_campaign):
    relay_campaign("VOV1", time(8), 30)  # no window at eight
    relay_campaign("Đài tỉnh", time(6, 15), 30)  # starts inside, ends after 06:30
    report = run(factory)
    assert not planned(factory)
    assert len(report.unplaced) == 2 * 7 * 69
    assert {u.reason for u in report.unplaced} == {OUTSIDE_WINDOWS}
    assert {s.note for s in planned(factory, status=SlotStatus.UNPLACED)} == {OUTSIDE_WINDOWS}


def test_a_relay_on_a_quiet_day_is_not_aired_that_day(factory, relay_campaign):
    relay_campaign("VOV1", time(17, 30), 30)
    wednesday = date(2026, 11, 4)
    with transaction(factory) as s:
        s.add(StationQuietDay(station_id=station_id(factory), day=wednesday))
    run(factory)
    days = [s.planned_start.astimezone(TZ).date() for s in planned(factory, "18073")]
    assert len(days) == 6 and wednesday not in days
    (quiet,) = planned(factory, "18073", SlotStatus.UNPLACED)
    assert quiet.note == "ngày nghỉ phát" and quiet.occurrence == "2026-W45@2-1730"


def test_a_pattern_item_over_a_relay_is_unplaced(factory, campaign, relay_campaign):
    relay_campaign("VOV1", time(6), 30)
    campaign("Lịch", pattern=[(0, "06:10"), (1, "05:40")])
    report = run(factory)
    mine = planned(factory, "18073")
    assert_no_overlap_inside_windows(mine)
    assert [s.planned_start for s in mine if s.relay_source_id is None] == [
        local(date(2026, 11, 3), time(5, 40))
    ]
    reasons = {u.occurrence: u.reason for u in report.unplaced if u.station_code == "18073"}
    assert reasons == {"2026-W45@0-0610": OVER_A_RELAY}


def test_editing_the_relays_time_replans_it_and_what_was_around_it(
    factory, campaign, relay_campaign
):
    relay = relay_campaign("VOV1", time(6), 30)
    other = campaign("DVCTT", times_per_week=6, preferred="evening")
    run(factory)
    evening = [s for s in planned(factory, "18073") if s.campaign_id == other]
    assert all(s.planned_start.astimezone(TZ).time() == time(17) for s in evening)
    with transaction(factory) as s:
        svc.edit_campaign(
            s,
            system_actor(),
            relay,
            svc.CampaignChanges(relay_start="17:00", relay_minutes=45),
            today=date(2026, 11, 2),
        )
        report = plan(s, now=MONDAY, days=7, tz=TZ, campaign_ids=[relay])
    assert report.cancelled == 7 * 69  # the 06:00 relays: their keys named the old time
    mine = planned(factory, "18073")
    assert_no_overlap_inside_windows(mine)
    relays = [s for s in mine if s.campaign_id == relay]
    assert len(relays) == 7
    assert {(s.planned_start.astimezone(TZ).time(), s.duration_ms) for s in relays} == {
        (time(17), 45 * 60_000)
    }
    # the evening items moved after the relay: the cursor skipped it
    moved = [s for s in mine if s.campaign_id == other]
    assert len(moved) == 6
    assert all(s.planned_start.astimezone(TZ).time() == time(17, 45) for s in moved)
    assert all(s.occurrence.endswith("-1700") for s in relays)


def test_a_switched_off_source_cancels_its_relays(factory, relay_campaign):
    relay_campaign("VOV1", time(6), 30)
    run(factory)
    assert len(planned(factory, "18073")) == 7
    with transaction(factory) as s:
        s.execute(update(RelaySource).values(active=False))
    report = run(factory)
    assert report.cancelled == 7 * 69 and not planned(factory)


def test_the_digest_holds_the_relays_fields_and_a_new_length_is_taken(
    factory, relay_campaign, approved_script
):
    relay = relay_campaign("VOV1", time(6), 30)
    run(factory)
    assert run(factory).skipped
    backup = approved_script("du-phong", 12)
    with transaction(factory) as s:  # a backup file attached by the render job
        asset = _an_asset(s)
        s.execute(update(Slot).values(audio_asset_id=asset))
        s.execute(update(RelaySource).values(backup_script_id=backup))
    assert not run(factory).skipped  # slots changed
    with transaction(factory) as s:
        s.execute(update(Campaign).where(Campaign.id == relay).values(relay_minutes=20))
    report = run(factory)
    assert not report.skipped and report.updated == 7 * 69
    assert {s.duration_ms for s in planned(factory)} == {20 * 60_000}


def _an_asset(s) -> int:
    from broadcaster.models import AudioAsset

    row = AudioAsset(
        sha256="a" * 64, path="x.mp3", engine="recording", requested_engine="recording",
        voice="", speed=1.0, text="", title="dự phòng", duration_ms=5000, loudness_lufs=-16.0,
        true_peak_db=-1.5, size_bytes=1000, bitrate_kbps=64, sample_rate=44100, settings={},
        format_version=1, file_sha256="b" * 64,
    )  # fmt: skip
    s.add(row)
    s.flush()
    return row.id


def test_a_pattern_planned_alone_keeps_off_a_relay_it_does_not_move(
    factory, campaign, relay_campaign
):
    relay_campaign("VOV1", time(6), 30)
    other = campaign("Lịch", pattern=[(1, "05:40")])
    run(factory)
    with transaction(factory) as s:  # moved onto the relay; only this campaign is planned
        s.execute(update(Campaign).where(Campaign.id == other).values(pattern=[[1, "06:05"]]))
    report = run(factory, campaign_ids=[other])
    assert {u.reason for u in report.unplaced} == {OVER_A_RELAY}
    assert_no_overlap_inside_windows(planned(factory))


def test_pausing_a_relay_cancels_it_and_frees_its_time(factory, campaign, relay_campaign):
    relay = relay_campaign("VOV1", time(17), 45)
    other = campaign("DVCTT", times_per_week=6, preferred="evening")
    run(factory)
    assert {
        s.planned_start.astimezone(TZ).time() for s in planned(factory) if s.campaign_id == other
    } == {time(17, 45)}
    with transaction(factory) as s:
        svc.pause_campaign(s, system_actor(), relay, "VOV1 nghỉ bảo trì")
        report = plan(s, now=MONDAY, days=7, tz=TZ, campaign_ids=[relay])
    assert report.cancelled == 7 * 69
    assert not [s for s in planned(factory) if s.campaign_id == relay]
    # the announcements move back to the window's start
    assert {
        s.planned_start.astimezone(TZ).time() for s in planned(factory) if s.campaign_id == other
    } == {time(17)}
