"""Campaigns: validation (nothing saved on bad input), scope, audit, states, quiet days."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from broadcaster.db import transaction
from broadcaster.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from broadcaster.library import ScriptText
from broadcaster.models import (
    AuditEvent,
    Campaign,
    CampaignScript,
    CampaignStatus,
    CampaignTarget,
    Priority,
    Station,
    StationQuietDay,
    User,
)
from broadcaster.services import cadence, campaigns, quiet_days, scripts, stations, users
from broadcaster.services.campaigns import CampaignChanges, CampaignSpec
from broadcaster.services.units import get_unit

PASSWORD = "mat-khau-thu"
TODAY = date(2026, 1, 5)  # a Monday
APPROVED = ("dvc-truc-tuyen", "thanh-toan-truc-tuyen")


def _script(slug: str) -> ScriptText:
    return ScriptText(
        slug=slug,
        title=f"Tin bài {slug}",
        body="Kính thưa bà con, hãy nộp hồ sơ trực tuyến trên Cổng Dịch vụ công quốc gia.",
    )


@pytest.fixture
def people(factory, actor, ha_tinh):
    with transaction(factory) as s:
        users.add_user(s, actor, "editor", "editor", PASSWORD, scope="42")
        users.add_user(s, actor, "approver", "approver", PASSWORD, scope="42")
        users.add_user(s, actor, "commune.approver", "approver", PASSWORD, scope="18073")
        users.add_user(s, actor, "admin", "admin", PASSWORD)
    with factory() as s:
        return {
            u.username: users.actor_for(u)
            for u in s.scalars(select(User).options(selectinload(User.scope_unit)))
        }


@pytest.fixture
def library(factory, people):
    """Two approved scripts, one draft, one approved and then archived."""
    editor, approver = people["editor"], people["approver"]
    with transaction(factory) as s:
        province = get_unit(s, "42")
        for slug in (*APPROVED, "chi-nhap", "da-luu-tru"):
            scripts.save_text(s, editor, _script(slug), province)
        for slug in (*APPROVED, "da-luu-tru"):
            scripts.submit(s, editor, slug)
            scripts.approve(s, approver, slug)
        scripts.archive(s, approver, "da-luu-tru", "Hết đợt")


def _spec(**changes) -> CampaignSpec:
    base = CampaignSpec(
        name="Tuyên truyền dịch vụ công trực tuyến",
        scripts=list(APPROVED),
        targets=["42"],
        starts_on="2026-01-05",
        ends_on="31/03/2026",
        times_per_week="3",
        preferred="sáng",
    )
    return replace(base, **changes)


def _add(factory, who, spec: CampaignSpec) -> campaigns.CampaignInfo:
    with transaction(factory) as s:
        return campaigns.add_campaign(s, who, spec, today=TODAY)


def _rows(factory) -> tuple[int, int, int, int]:
    with factory() as s:
        count = lambda model: s.scalar(select(func.count()).select_from(model))  # noqa: E731
        events = s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("campaign.%"))
        )
        return count(Campaign), count(CampaignScript), count(CampaignTarget), events


def _events(factory, action: str) -> list[AuditEvent]:
    with factory() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- happy paths ----------------------------------------------------------------------------


def test_times_per_week_campaign(factory, actor, library):
    info = _add(factory, actor, _spec(priority="ưu tiên"))
    assert info.status is CampaignStatus.ACTIVE and info.priority is Priority.PRIORITY
    assert info.cadence == "3 lần/tuần (T2–T7, buổi sáng)"
    assert (info.times_per_week, info.weekdays, info.preferred) == (
        3,
        (0, 1, 2, 3, 4, 5),
        "morning",
    )
    assert info.pattern == ()
    assert info.scripts == APPROVED
    assert [t.code for t in info.targets] == ["42"]
    assert (info.starts_on, info.ends_on) == (date(2026, 1, 5), date(2026, 3, 31))
    assert info.station_count == 69
    with factory() as s:
        stored = s.get(Campaign, info.id)
        assert stored.weekdays == [0, 1, 2, 3, 4, 5] and stored.pattern == []
        assert [cs.position for cs in stored.scripts] == [0, 1]
        assert campaigns.get_campaign(s, info.id) == info
    (event,) = _events(factory, "campaign.create")
    assert event.after["scripts"] == list(APPROVED) and event.after["targets"] == ["42"]


def test_pattern_campaign_sorted_and_described(factory, actor, library):
    info = _add(
        factory,
        actor,
        _spec(
            times_per_week=None,
            preferred=None,
            pattern="T6 06:00; thứ 2 6h, wed 17h30",
            targets=["18073", "Phường Trần Phú"],
            starts_on=None,
        ),
    )
    assert info.pattern == ((0, "06:00"), (2, "17:30"), (4, "06:00"))
    assert info.cadence == "T2 06:00, T4 17:30, T6 06:00"
    assert info.times_per_week is None and info.station_count == 2
    assert info.starts_on == TODAY  # --from defaults to today
    with factory() as s:
        assert s.get(Campaign, info.id).pattern == [[0, "06:00"], [2, "17:30"], [4, "06:00"]]


def test_weekdays_and_window_limit_n(factory, actor, library):
    info = _add(factory, actor, _spec(times_per_week=6, weekdays="T2, T4, T6", preferred="any"))
    assert info.cadence == "6 lần/tuần (T2, T4, T6, mọi khung giờ)"
    with pytest.raises(InvalidInput, match=r"Số lần/tuần tối đa là 6: 3 ngày") as refused:
        _add(factory, actor, _spec(times_per_week=7, weekdays="T2, T4, T6", preferred="any"))
    assert refused.value.field == "times_per_week"


# --- bad input: a clear message naming the field, and nothing saved ------------------------

BAD_INPUT = [
    ({"scripts": ["chi-nhap"]}, Conflict, "Tin bài 'Tin bài chi-nhap' chưa được duyệt"),
    (
        {"scripts": ["dvc-truc-tuyen", "da-luu-tru"]},
        Conflict,
        "Tin bài 'Tin bài da-luu-tru' đã lưu trữ",
    ),
    ({"scripts": ["khong-co"]}, NotFound, "Không có tin bài 'khong-co'"),
    ({"scripts": []}, InvalidInput, r"^Cần ít nhất một tin bài đã duyệt\.$"),
    ({"targets": []}, InvalidInput, r"^Cần ít nhất một đơn vị nhận tin\.$"),
    ({"targets": ["99999"]}, NotFound, "Không tìm thấy đơn vị hành chính '99999'"),
    ({"targets": ["42", "18073"]}, InvalidInput, "'Phường Thành Sen' đã nằm trong 'Hà Tĩnh'"),
    ({"targets": ["18073", "phuong thanh sen"]}, InvalidInput, "được nêu hai lần"),
    ({"name": "  "}, InvalidInput, r"^Tên chiến dịch không được để trống\.$"),
    (
        {"starts_on": "2026-03-01", "ends_on": "2026-02-01"},
        InvalidInput,
        r"^Ngày kết thúc 01/02/2026 trước ngày bắt đầu 01/03/2026\.$",
    ),
    ({"ends_on": "2028-06-01"}, InvalidInput, "tối đa khoảng hai năm"),
    ({"ends_on": ""}, InvalidInput, r"^Thiếu ngày kết thúc\.$"),
    (
        {"ends_on": "31-03-2026"},
        InvalidInput,
        r"^Ngày kết thúc: ngày '31-03-2026' không hợp lệ",
    ),
    ({"ends_on": "30/02/2026"}, InvalidInput, "không tồn tại"),
    (
        {"starts_on": "2025-12-01", "ends_on": "2026-01-02"},
        InvalidInput,
        "đã qua; muốn dừng chiến dịch",
    ),
    ({"times_per_week": 7}, InvalidInput, r"^Số lần/tuần tối đa là 6: 6 ngày \(T2–T7\)"),
    ({"times_per_week": 0}, InvalidInput, r"^Số lần/tuần phải từ 1"),
    ({"times_per_week": "ba"}, InvalidInput, r"^Số lần/tuần 'ba' phải là một số"),
    ({"weekdays": "T2, T9"}, InvalidInput, r"^Ngày phát: không hiểu thứ 't9'"),
    ({"weekdays": "thứ 2, 8"}, InvalidInput, r"không hiểu thứ '8'.*Chủ nhật viết CN"),
    ({"preferred": "đêm"}, InvalidInput, r"^Khung giờ ưu tiên 'đêm' không hợp lệ"),
    ({"priority": "khẩn"}, InvalidInput, r"^Mức ưu tiên 'khẩn' không hợp lệ"),
    ({"pattern": "T2 06:00"}, InvalidInput, "không cả hai"),
    ({"times_per_week": None}, InvalidInput, "thiếu số lần/tuần"),
    (
        {"times_per_week": None, "preferred": None, "pattern": "T2 06:00, T4 12:00"},
        InvalidInput,
        r"^Lịch cố định: mục 'T4 12:00' nằm ngoài khung giờ phát của 69/69 đài",
    ),
    (
        {"times_per_week": None, "preferred": None, "pattern": "T2 06:00, T9 06:00"},
        InvalidInput,
        "không hiểu thứ 't9'",
    ),
    (
        {"times_per_week": None, "preferred": None, "pattern": "T2"},
        InvalidInput,
        "mục 'T2' thiếu giờ",
    ),
    (
        {"times_per_week": None, "preferred": None, "pattern": "T2 06:00, thứ 2 6h"},
        InvalidInput,
        "mục 'T2 06:00' bị lặp lại",
    ),
    (
        {"times_per_week": None, "pattern": "T2 06:00"},
        InvalidInput,
        "bỏ ngày phát và khung giờ ưu tiên",
    ),
]
# The field each refusal names, by the first key of its changes (what a form marks red)
FIELD_OF = {
    "scripts": "scripts",
    "targets": "targets",
    "name": "name",
    "starts_on": "ends_on",
    "ends_on": "ends_on",
    "times_per_week": "times_per_week",
    "weekdays": "weekdays",
    "preferred": "preferred",
    "priority": "priority",
}


@pytest.mark.parametrize(("changes", "error", "message"), BAD_INPUT)
def test_bad_input_is_named_and_nothing_saved(factory, actor, library, changes, error, message):
    with pytest.raises(error, match=message) as refused:
        _add(factory, actor, _spec(**changes))
    assert "--" not in refused.value.message  # no command-line flag in what the web shows
    field = refused.value.field
    if error is InvalidInput and "pattern" in changes:
        assert field == "pattern"
    elif error is InvalidInput:
        assert field == FIELD_OF[next(iter(changes))], refused.value.message
    assert _rows(factory) == (0, 0, 0, 0)


def test_a_target_without_active_stations_is_refused(factory, actor, library):
    with transaction(factory) as s:
        s.execute(update(Station).where(Station.code == "18100").values(active=False))
    with pytest.raises(InvalidInput, match=r"'Phường Trần Phú' không có đài"):
        _add(factory, actor, _spec(targets=["18073", "18100"]))
    assert _rows(factory) == (0, 0, 0, 0)
    info = _add(factory, actor, _spec(targets=["42"]))
    assert info.station_count == 68  # the inactive station is not counted


def test_a_station_lacking_the_preferred_window(factory, actor, library):
    with transaction(factory) as s:
        stations.add_station(s, actor, "18073", code="18073-sang", windows="05:00-05:30")
    with pytest.raises(InvalidInput, match=r"^Khung giờ ưu tiên: 1/2 đài không có khung giờ buổi"):
        _add(factory, actor, _spec(targets=["18073"], preferred="chiều"))
    info = _add(factory, actor, _spec(targets=["18073"], preferred="sáng"))
    assert info.station_count == 2


# --- who may ---------------------------------------------------------------------------------


def test_only_approvers_and_admins_within_scope(factory, people, library):
    with pytest.raises(PermissionDenied, match="'editor' không được tạo chiến dịch"):
        _add(factory, people["editor"], _spec())
    with pytest.raises(PermissionDenied, match=r"Đơn vị 'Hà Tĩnh' nằm ngoài phạm vi"):
        _add(factory, people["commune.approver"], _spec())
    assert _rows(factory) == (0, 0, 0, 0)

    own = _add(factory, people["commune.approver"], _spec(targets=["18073"]))
    province = _add(factory, people["approver"], _spec())
    assert _add(factory, people["admin"], _spec()).station_count == 69
    with pytest.raises(PermissionDenied, match="ngoài phạm vi"), transaction(factory) as s:
        campaigns.pause_campaign(s, people["commune.approver"], province.id)
    with pytest.raises(PermissionDenied, match="ngoài phạm vi"), transaction(factory) as s:
        changes = CampaignChanges(targets=["42"])
        campaigns.edit_campaign(s, people["commune.approver"], own.id, changes, today=TODAY)
    with pytest.raises(PermissionDenied), transaction(factory) as s:
        campaigns.end_campaign(s, people["editor"], own.id, today=TODAY)
    with transaction(factory) as s:
        assert campaigns.pause_campaign(s, people["commune.approver"], own.id).status.value == (
            "paused"
        )


# --- edit -------------------------------------------------------------------------------------


def _edit(factory, who, campaign_id, **changes):
    with transaction(factory) as s:
        return campaigns.edit_campaign(s, who, campaign_id, CampaignChanges(**changes), today=TODAY)


def test_edit_changes_only_what_is_given_and_audits_it(factory, people, library):
    info = _add(factory, people["approver"], _spec())
    edited = _edit(factory, people["approver"], info.id, times_per_week="2", weekdays="T2-T4")
    assert edited.cadence == "2 lần/tuần (T2–T4, buổi sáng)"  # the window is kept
    assert (edited.name, edited.ends_on, edited.scripts) == (info.name, info.ends_on, info.scripts)
    (event,) = _events(factory, "campaign.edit")
    assert event.actor == "approver"
    assert event.before == {"times_per_week": 3, "weekdays": [0, 1, 2, 3, 4, 5]}
    assert event.after == {"times_per_week": 2, "weekdays": [0, 1, 2]}

    # re-ordering the same scripts keeps their rows (the unique key is not tripped)
    swapped = _edit(factory, people["approver"], info.id, scripts=list(reversed(APPROVED)))
    assert swapped.scripts == tuple(reversed(APPROVED))
    retarget = _edit(factory, people["approver"], info.id, targets=["18073", "18100"])
    assert retarget.station_count == 2
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(CampaignTarget)) == 2


def test_edit_switches_cadence_kind(factory, actor, library):
    info = _add(factory, actor, _spec())
    to_pattern = _edit(factory, actor, info.id, pattern="T3 17:15")
    assert (to_pattern.pattern, to_pattern.times_per_week) == (((1, "17:15"),), None)
    with pytest.raises(InvalidInput, match="đang theo lịch cố định"):
        _edit(factory, actor, info.id, weekdays="T2-T6")
    back = _edit(factory, actor, info.id, times_per_week=4)
    assert back.cadence == "4 lần/tuần (T2–T7, mọi khung giờ)"  # defaults, not the old pattern
    assert back.pattern == ()


def test_a_refused_edit_changes_nothing(factory, actor, library):
    info = _add(factory, actor, _spec())
    for changes, message in [
        ({"times_per_week": 9}, "tối đa là 6"),
        ({"scripts": ["chi-nhap"]}, "chưa được duyệt"),
        ({"ends_on": "2026-01-01"}, "trước ngày bắt đầu"),
        ({"pattern": "CN 12:00"}, "'CN 12:00' nằm ngoài khung giờ"),
        ({}, "Không có gì để sửa"),
    ]:
        with pytest.raises((InvalidInput, Conflict), match=message):
            _edit(factory, actor, info.id, **changes)
    with factory() as s:
        assert campaigns.get_campaign(s, info.id) == info
    assert _events(factory, "campaign.edit") == []


# --- states -----------------------------------------------------------------------------------


def test_pause_resume_end_and_their_conflicts(factory, people, library):
    who = people["approver"]
    info = _add(factory, who, _spec())

    def run(fn, *args, **kwargs):
        with transaction(factory) as s:
            return fn(s, who, info.id, *args, **kwargs)

    assert run(campaigns.pause_campaign, "Tạm hoãn vì bão").status is CampaignStatus.PAUSED
    with pytest.raises(Conflict, match="đang tạm dừng; chỉ chiến dịch đang chạy mới tạm dừng"):
        run(campaigns.pause_campaign)
    assert run(campaigns.resume_campaign).status is CampaignStatus.ACTIVE
    with pytest.raises(Conflict, match="đang chạy; chỉ chiến dịch đang tạm dừng mới tiếp tục"):
        run(campaigns.resume_campaign)
    ended = run(campaigns.end_campaign, "Hoàn thành", today=date(2026, 2, 10))
    assert (ended.status, ended.ends_on) == (CampaignStatus.ENDED, date(2026, 2, 10))
    with pytest.raises(Conflict, match="đã kết thúc; chỉ chiến dịch đang chạy hoặc đang tạm"):
        run(campaigns.end_campaign, today=TODAY)
    with pytest.raises(Conflict, match="đã kết thúc"):
        run(campaigns.resume_campaign)
    with pytest.raises(Conflict, match="không sửa được"):
        _edit(factory, who, info.id, name="Tên mới")

    (pause,) = _events(factory, "campaign.pause")
    assert (pause.before["status"], pause.after["status"]) == ("active", "paused")
    assert pause.note == "Tạm hoãn vì bão" and pause.actor == "approver"
    (resume,) = _events(factory, "campaign.resume")
    assert (resume.before["status"], resume.after["status"]) == ("paused", "active")
    (end,) = _events(factory, "campaign.end")
    assert end.before == {"status": "active", "ends_on": "2026-03-31"}
    assert end.after == {"status": "ended", "ends_on": "2026-02-10"}


def test_ending_after_the_end_date_keeps_it(factory, actor, library):
    info = _add(factory, actor, _spec())
    with transaction(factory) as s:
        ended = campaigns.end_campaign(s, actor, info.id, today=date(2026, 6, 1))
    assert ended.ends_on == date(2026, 3, 31)


def test_get_list_and_unknown(factory, actor, library):
    first = _add(factory, actor, _spec(name="Một"))
    second = _add(factory, actor, _spec(name="Hai"))
    with transaction(factory) as s:
        campaigns.pause_campaign(s, actor, second.id)
    with factory() as s:
        assert [c.name for c in campaigns.list_campaigns(s)] == ["Một", "Hai"]
        assert [c.id for c in campaigns.list_campaigns(s, "tạm dừng")] == [second.id]
        assert [c.id for c in campaigns.list_campaigns(s, "active")] == [first.id]
        with pytest.raises(InvalidInput, match="Trạng thái 'xoá' không hợp lệ") as refused:
            campaigns.list_campaigns(s, "xoá")
        assert refused.value.field == "status"
        with pytest.raises(NotFound, match="Không có chiến dịch số 99"):
            campaigns.get_campaign(s, 99)


# --- quiet days -------------------------------------------------------------------------------


def test_quiet_days_add_list_remove(factory, people, ha_tinh):
    who = people["commune.approver"]
    with transaction(factory) as s:
        added = quiet_days.add_quiet_day(s, who, "18073", "17/02/2026", today=TODAY)
        quiet_days.add_quiet_day(s, who, "18073", "2026-02-16", today=TODAY)
    assert (added.station_code, added.day) == ("18073", date(2026, 2, 17))
    with (
        pytest.raises(Conflict, match="đã có ngày nghỉ phát 17/02/2026"),
        transaction(factory) as s,
    ):
        quiet_days.add_quiet_day(s, who, "18073", "2026-02-17", today=TODAY)
    with pytest.raises(InvalidInput, match="đã qua"), transaction(factory) as s:
        quiet_days.add_quiet_day(s, who, "18073", "2026-01-04", today=TODAY)
    with pytest.raises(PermissionDenied, match="ngoài phạm vi"), transaction(factory) as s:
        quiet_days.add_quiet_day(s, who, "18100", "2026-02-17", today=TODAY)
    with pytest.raises(PermissionDenied, match="editor"), transaction(factory) as s:
        quiet_days.add_quiet_day(s, people["editor"], "18073", "2026-02-18", today=TODAY)
    with pytest.raises(NotFound, match="Không có đài nào mã 'x'"), transaction(factory) as s:
        quiet_days.add_quiet_day(s, who, "x", "2026-02-18", today=TODAY)
    with factory() as s:
        days = quiet_days.list_quiet_days(s, "18073")
        assert [d.day for d in days] == [date(2026, 2, 16), date(2026, 2, 17)]
        assert [d.day for d in quiet_days.list_quiet_days(s, since="17/02/2026")] == [
            date(2026, 2, 17)
        ]
    with transaction(factory) as s:
        quiet_days.remove_quiet_day(s, who, "18073", "2026-02-16")
    with (
        pytest.raises(NotFound, match="không có ngày nghỉ phát 16/02/2026"),
        transaction(factory) as s,
    ):
        quiet_days.remove_quiet_day(s, who, "18073", "2026-02-16")
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(StationQuietDay)) == 1
    assert [e.after for e in _events(factory, "station.quiet_day.add")] == [
        {"day": "2026-02-17"},
        {"day": "2026-02-16"},
    ]
    assert [e.before for e in _events(factory, "station.quiet_day.remove")] == [
        {"day": "2026-02-16"}
    ]


# --- reading what people type (no database) ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("T2-T7", (0, 1, 2, 3, 4, 5)),
        ("T2–T6", (0, 1, 2, 3, 4)),
        ("t2, T4; t6", (0, 2, 4)),
        ("thứ 2, thứ tư, Thứ Sáu", (0, 2, 4)),
        ("thu 3 thu 5", (1, 3)),
        ("CN", (6,)),
        ("Chủ nhật, thứ bảy", (5, 6)),
        ("2-7", (0, 1, 2, 3, 4, 5)),
        ("mon-fri", (0, 1, 2, 3, 4)),
        ("Mon, Wed, thu, sunday", (0, 2, 3, 6)),
        ("T7-T2", (0, 5, 6)),  # a range may wrap over the weekend
        ("T2, T2, t2", (0,)),
        ([4, 0, 2], (0, 2, 4)),
    ],
)
def test_weekday_notation(text, expected):
    assert cadence.parse_weekdays(text) == expected


@pytest.mark.parametrize("text", ["T8", "1", "thứ 9", "moon", "", "T2-X"])
def test_unknown_weekdays_are_named(text):
    with pytest.raises(InvalidInput, match=r"^Ngày phát: ") as refused:
        cadence.parse_weekdays(text)
    assert refused.value.field == "weekdays"


def test_pattern_notation():
    assert cadence.parse_pattern("mon 06:00; wed 17:30") == ((0, "06:00"), (2, "17:30"))
    assert cadence.parse_pattern("T2-T4 5h45, CN 17h") == (
        (0, "05:45"),
        (1, "05:45"),
        (2, "05:45"),
        (6, "17:00"),
    )
    assert cadence.parse_pattern("thu 6:00") == ((3, "06:00"),)  # English Thursday
    assert cadence.parse_pattern("thứ 6 6:00") == ((4, "06:00"),)  # Vietnamese Friday
    assert cadence.parse_pattern([[2, "17:30"], [0, "6:00"]]) == ((0, "06:00"), (2, "17:30"))
    with pytest.raises(InvalidInput, match="giờ '25:00' không hợp lệ"):
        cadence.parse_pattern("T2 25:00")
    with pytest.raises(InvalidInput, match="thiếu thứ"):
        cadence.parse_pattern("06:00")


def test_dates_priorities_windows_and_descriptions():
    assert cadence.parse_date("2026-02-17", "x") == date(2026, 2, 17)
    assert cadence.parse_date("17/2/2026", "x") == date(2026, 2, 17)
    assert cadence.parse_date("17.02.2026", "x") == date(2026, 2, 17)
    for value in ("thường", "thong thuong", "normal"):
        assert cadence.parse_priority(value) is Priority.NORMAL
    for value in ("uu-tien", "Ưu tiên", "priority"):
        assert cadence.parse_priority(value) is Priority.PRIORITY
    assert [cadence.parse_preferred(v) for v in ("sáng", "Chiều", "any")] == [
        "morning",
        "evening",
        "any",
    ]
    assert cadence.describe_weekdays((0, 1, 2, 3, 4, 5, 6)) == "T2–CN"
    assert cadence.describe_weekdays((0, 1, 3, 5, 6)) == "T2, T3, T5, T7, CN"
