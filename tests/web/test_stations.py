"""The stations pages: scoped list and detail, windows, quiet days and pull tokens.

Each test runs on SQLite and PostgreSQL (the ``web`` fixture).
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from broadcaster.db import transaction, utcnow
from broadcaster.library import ScriptText
from broadcaster.models import (
    AdminUnit,
    AuditEvent,
    Campaign,
    CampaignScript,
    CampaignTarget,
    Priority,
    Script,
    Slot,
    SlotStatus,
    Station,
    StationQuietDay,
    StationStatus,
    StationToken,
    StationWindow,
)
from broadcaster.planning.calendar import week_label
from broadcaster.services import scripts, users
from tests.web.conftest import OTHER_STATION, OWN_STATION, text


def _windows(web, code: str) -> list[str]:
    with transaction(web.factory) as s:
        rows = s.execute(
            select(StationWindow.starts_at, StationWindow.ends_at)
            .join(Station, Station.id == StationWindow.station_id)
            .where(Station.code == code)
            .order_by(StationWindow.starts_at)
        ).all()
    return [f"{a:%H:%M}-{b:%H:%M}" for a, b in rows]


def _count(web, model, *where) -> int:
    with transaction(web.factory) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def _local_today(web) -> date:
    return datetime.now(web.settings.tz).date()


def _campaign(web, starts_on: date, days: int = 30) -> int:
    """An approved script (bientap writes, duyet approves) and a 3-a-week campaign for 42."""
    from tests.web.conftest import PASSWORD

    body = " ".join(["Kính thưa bà con."] * 10)
    with web.factory() as s:
        editor = users.authenticate(s, "bientap", PASSWORD)
        approver = users.authenticate(s, "duyet", PASSWORD)
    with transaction(web.factory) as s:
        unit = s.scalar(select(AdminUnit).where(AdminUnit.code == "42"))
        scripts.save_text(s, editor, ScriptText(slug="tin-dai", title="Tin đài", body=body), unit)
        scripts.submit(s, editor, "tin-dai")
        scripts.approve(s, approver, "tin-dai")
        script_id = s.scalar(select(Script.id).where(Script.slug == "tin-dai"))
        c = Campaign(
            name="DVCTT",
            priority=Priority.NORMAL,
            times_per_week=3,
            weekdays=[0, 1, 2, 3, 4, 5, 6],
            preferred="any",
            pattern=[],
            starts_on=starts_on,
            ends_on=starts_on + timedelta(days=days),
        )
        c.scripts = [CampaignScript(script_id=script_id, position=0)]
        c.targets = [CampaignTarget(unit_id=unit.id)]
        s.add(c)
        s.flush()
        return c.id


# --- list and detail, scoped ---


def test_the_list_shows_stations_in_scope_with_their_heartbeat(web):
    with transaction(web.factory) as s:
        sid = s.scalar(select(Station.id).where(Station.code == OWN_STATION))
        s.add(
            StationStatus(
                station_id=sid,
                last_seen_at=utcnow() - timedelta(minutes=3),
                agent_version="agent-1.4.2",
                clock_drift_s=-1.5,
            )
        )
    page = web.client("duyet").get("/stations/")
    assert page.status_code == 200
    body = text(page)
    assert f'data-station="{OWN_STATION}"' in body and f'data-station="{OTHER_STATION}"' in body
    assert "agent-1.4.2" in body and "3 phút trước" in body and "-1.5" in body
    assert "05:30–06:30, 17:00–18:00" in body
    assert 'id="station-page-next"' in body  # 69 stations: more than one page
    page2 = text(web.client("duyet").get("/stations/?page=2"))
    assert 'id="station-page-prev"' in page2

    online = text(web.client("duyet").get("/stations/?state=online"))
    assert f'data-station="{OWN_STATION}"' in online
    assert f'data-station="{OTHER_STATION}"' not in online
    offline = text(web.client("duyet").get("/stations/?state=offline"))
    assert f'data-station="{OWN_STATION}"' not in offline
    assert f'data-station="{OTHER_STATION}"' in offline


def test_the_list_filters_by_unit_and_name(web):
    client = web.client("kiemtra")
    by_unit = text(client.get(f"/stations/?unit={OTHER_STATION}"))
    assert by_unit.count('<tr data-station="') == 1 and f'data-station="{OTHER_STATION}"' in by_unit
    by_name = text(client.get("/stations/?q=thanh sen"))  # without diacritics
    assert f'data-station="{OWN_STATION}"' in by_name
    assert f'data-station="{OTHER_STATION}"' not in by_name
    by_code = text(client.get(f"/stations/?q={OTHER_STATION}"))
    assert f'data-station="{OTHER_STATION}"' in by_code


def test_bad_list_filters_are_400_with_the_field_error(web):
    client = web.client("duyet")
    for query, field in [
        ("unit=99999", "unit"),
        ("unit=%00", "unit"),
        ("q=" + "x" * 10_000, "q"),
        ("state=maybe", "state"),
        ("unit=../../", "unit"),
    ]:
        page = client.get(f"/stations/?{query}")
        assert page.status_code == 400, query
        assert f'id="{field}-error"' in text(page), query
    assert client.get("/stations/?page=-4").status_code == 200
    assert client.get("/stations/?page=99999999999999").status_code == 200


def test_a_unit_outside_the_scope_is_403(web):
    with transaction(web.factory) as s:
        s.add(
            AdminUnit(
                code="99",
                name="Tỉnh Khác",
                kind="tỉnh",
                level=1,
                path="/99/",
                codename="tinh_khac",
                name_folded="tinh khac",
            )
        )
    assert web.client("duyet").get("/stations/?unit=99").status_code == 403
    assert web.client("quantri").get("/stations/?unit=99").status_code == 200
    # an operator always lands on their own station, whatever the filter asks
    answer = web.client("daixa").get(f"/stations/?unit={OTHER_STATION}")
    assert answer.headers["Location"].endswith(f"/stations/{OWN_STATION}")


def test_an_operator_goes_straight_to_their_station_and_no_other(web):
    client = web.client("daixa")
    page = client.get("/stations/")
    assert page.status_code == 302 and page.headers["Location"].endswith(f"/stations/{OWN_STATION}")
    own = client.get(f"/stations/{OWN_STATION}")
    assert own.status_code == 200
    assert own.headers["Cache-Control"] == "no-store"
    body = text(own)
    assert 'id="station-windows"' in body and 'id="station-health"' in body
    assert f"/airings/?station={OWN_STATION}" in body
    assert 'id="windows-form"' not in body and 'id="token-issue-form"' not in body
    assert 'id="quiet-day-form"' not in body
    assert client.get(f"/stations/{OTHER_STATION}").status_code == 403
    assert client.get("/stations/NOPE").status_code == 404
    assert client.get("/stations/%00").status_code == 404
    assert client.get("/stations/" + "9" * 200).status_code == 404


def test_anonymous_is_sent_to_sign_in(web):
    page = web.client().get(f"/stations/{OWN_STATION}")
    assert page.status_code == 302 and "/login" in page.headers["Location"]


def test_the_detail_lists_todays_slots(web):
    today = _local_today(web)
    campaign_id = _campaign(web, today)
    noon = datetime.combine(today, time(12), web.settings.tz)
    with transaction(web.factory) as s:
        sid = s.scalar(select(Station.id).where(Station.code == OWN_STATION))
        script_id = s.scalar(
            select(CampaignScript.script_id).where(CampaignScript.campaign_id == campaign_id)
        )
        s.add(
            Slot(
                station_id=sid,
                campaign_id=campaign_id,
                occurrence="T#1",
                script_version_id=s.get(Script, script_id).approved_version_id,
                week=week_label(today),
                planned_start=noon,
                window_end=noon + timedelta(minutes=30),
                position=0,
                duration_ms=20_000,
                status=SlotStatus.PLANNED,
            )
        )
    body = text(web.client("daixa").get(f"/stations/{OWN_STATION}"))
    assert 'id="today-slots"' in body and "DVCTT" in body
    assert f"Lịch phát hôm nay ({today:%d/%m/%Y})" in body
    assert "12:00</time>–<time>12:00:20</time>" in body and "20 giây" in body
    assert 'class="kind kind-speech" data-kind="speech">tin đọc máy<' in body
    # the state as the operator's page says it: not yet due, or due and not reported
    assert ("chờ phát" in body) != ("đến giờ, chưa báo" in body)


# --- windows ---


def test_an_admin_changes_windows_replans_and_is_audited(web):
    _campaign(web, _local_today(web))
    client = web.client("quantri")
    answer = web.post(
        client, f"/stations/{OWN_STATION}/windows", {"windows": "06:00-06:45, 18:00-18:30"}
    )
    assert answer.status_code == 302
    assert _windows(web, OWN_STATION) == ["06:00-06:45", "18:00-18:30"]
    page = text(client.get(answer.headers["Location"]))
    assert "Đã lập lịch lại" in page and "06:00–06:45" in page
    with transaction(web.factory) as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "station.windows")).one()
        assert event.after == {"windows": ["06:00–06:45", "18:00–18:30"]}
        sid = s.scalar(select(Station.id).where(Station.code == OWN_STATION))
        starts = s.scalars(
            select(Slot.planned_start).where(
                Slot.station_id == sid, Slot.planned_start.is_not(None)
            )
        ).all()
    assert starts, "the change re-planned: the station has slots"
    local = {t.astimezone(web.settings.tz).time() for t in starts}
    assert all(
        (t.hour == 6 and t.minute < 45) or (t.hour == 18 and t.minute < 30) for t in local
    ), local


def test_bad_windows_are_400_beside_the_field_and_change_nothing(web):
    client = web.client("quantri")
    before = _windows(web, OWN_STATION)
    for value in [
        "25:00-26:00",
        "abc",
        "06:00\x00-07:00",
        "",
        "x" * 10_000,
        "07:00-06:00",
        "06:00-07:00,06:30-07:30",
    ]:
        answer = web.post(client, f"/stations/{OWN_STATION}/windows", {"windows": value})
        assert answer.status_code == 400, value
        body = text(answer)
        assert 'id="windows-error"' in body and 'aria-invalid="true"' in body, value
        assert "\x00" not in body
    assert _windows(web, OWN_STATION) == before
    assert _count(web, AuditEvent, AuditEvent.action == "station.windows") == 0
    shown = text(web.post(client, f"/stations/{OWN_STATION}/windows", {"windows": "25:00-26:00"}))
    assert 'value="25:00-26:00"' in shown


def test_a_windows_error_is_in_the_readers_language(web):
    client = web.client("quantri")
    web.post(client, "/lang", {"lang": "en"})
    answer = web.post(client, f"/stations/{OWN_STATION}/windows", {"windows": "07:00-06:00"})
    assert answer.status_code == 400
    beside = re.search(r'id="windows-error"[^>]*>(.*?)</', text(answer), re.S)
    assert beside is not None
    assert "Window '07:00-06:00': the start must come before the end" in html.unescape(beside[1])


def test_only_an_admin_changes_windows(web):
    before = _windows(web, OWN_STATION)
    for user in ("daixa", "duyet", "kiemtra", "bientap"):
        answer = web.post(
            web.client(user), f"/stations/{OWN_STATION}/windows", {"windows": "06:00-07:00"}
        )
        assert answer.status_code == 403, user
    assert _windows(web, OWN_STATION) == before
    assert (
        web.post(
            web.client("quantri"), "/stations/NOPE/windows", {"windows": "06:00-07:00"}
        ).status_code
        == 404
    )


def test_a_post_without_csrf_is_refused(web):
    client = web.client("quantri")
    answer = client.post(f"/stations/{OWN_STATION}/windows", data={"windows": "06:00-07:00"})
    assert answer.status_code == 400
    assert _windows(web, OWN_STATION) == ["05:30-06:30", "17:00-18:00"]


# --- quiet days ---


def test_an_approver_adds_and_removes_a_quiet_day(web):
    day = _local_today(web) + timedelta(days=3)
    client = web.client("duyet")
    answer = web.post(client, f"/stations/{OWN_STATION}/quiet-days", {"day": day.isoformat()})
    assert answer.status_code == 302
    page = text(client.get(answer.headers["Location"]))
    assert f'data-day="{day.isoformat()}"' in page and f"{day:%d/%m/%Y}" in page
    assert _count(web, AuditEvent, AuditEvent.action == "station.quiet_day.add") == 1
    again = web.post(client, f"/stations/{OWN_STATION}/quiet-days", {"day": day.isoformat()})
    assert again.status_code == 400 and 'id="day-error"' in text(again)
    removed = web.post(client, f"/stations/{OWN_STATION}/quiet-days/{day.isoformat()}/remove")
    assert removed.status_code == 302
    assert _count(web, StationQuietDay) == 0
    assert _count(web, AuditEvent, AuditEvent.action == "station.quiet_day.remove") == 1
    gone = web.post(client, f"/stations/{OWN_STATION}/quiet-days/{day.isoformat()}/remove")
    assert gone.status_code == 404


def test_bad_quiet_days_are_400_or_404(web):
    client = web.client("quantri")
    yesterday = _local_today(web) - timedelta(days=1)
    for value in ["", "2026-13-45", "hôm nay", "\x00", "x" * 5000, yesterday.isoformat()]:
        answer = web.post(client, f"/stations/{OWN_STATION}/quiet-days", {"day": value})
        assert answer.status_code == 400, value
        assert 'id="day-error"' in text(answer), value
    for day in ["2026-13-45", "abc", "9999999999-01-01"]:
        assert (
            web.post(client, f"/stations/{OWN_STATION}/quiet-days/{day}/remove").status_code == 404
        )
    assert _count(web, StationQuietDay) == 0


def test_operators_and_auditors_cannot_set_quiet_days(web):
    day = (_local_today(web) + timedelta(days=2)).isoformat()
    for user in ("daixa", "kiemtra"):
        answer = web.post(web.client(user), f"/stations/{OWN_STATION}/quiet-days", {"day": day})
        assert answer.status_code == 403, user
    assert _count(web, StationQuietDay) == 0


# --- tokens ---


def _issue(web, client, data=None):
    """Issue a token as the station page's form does, with its one-time code."""
    page = text(client.get(f"/stations/{OWN_STATION}"))
    once = re.search(r'name="once" value="([^"]+)"', page).group(1)
    return web.post(client, f"/stations/{OWN_STATION}/token/issue", {**(data or {}), "once": once})


def test_reloading_the_new_token_page_issues_nothing_more(web):
    client = web.client("quantri")
    page = text(client.get(f"/stations/{OWN_STATION}"))
    once = re.search(r'name="once" value="([^"]+)"', page).group(1)
    form = {"once": once}
    assert web.post(client, f"/stations/{OWN_STATION}/token/issue", form).status_code == 200
    again = web.post(client, f"/stations/{OWN_STATION}/token/issue", form)  # the reload
    assert again.status_code == 409 and 'id="new-token-value"' not in text(again)
    assert _count(web, StationToken) == 1
    assert _count(web, StationToken, StationToken.revoked_at.is_(None)) == 1
    missing = web.post(client, f"/stations/{OWN_STATION}/token/issue")
    assert missing.status_code == 409 and _count(web, StationToken) == 1


def test_a_token_is_shown_once_works_and_revoking_makes_it_401(web):
    client = web.client("quantri")
    first = _issue(web, client)
    # shown in the answer itself, never kept: not in a URL, not in the session cookie
    assert first.status_code == 200 and "Location" not in first.headers
    assert first.headers["Cache-Control"] == "no-store"
    assert "bst_" not in (first.headers.get("Set-Cookie") or "")
    body = text(first)
    assert 'id="new-token-value"' in body
    token = body.split('id="new-token-value">', 1)[1].split("<", 1)[0].strip()
    assert token.startswith("bst_")
    second = text(client.get(f"/stations/{OWN_STATION}"))
    assert token not in second and 'id="new-token-value"' not in second
    assert token[:10] in second  # its prefix is listed

    api = web.app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert api.get(f"/api/v1/stations/{OWN_STATION}/playlist", headers=auth).status_code == 200
    assert api.get(f"/api/v1/stations/{OTHER_STATION}/playlist", headers=auth).status_code == 403

    revoked = web.post(client, f"/stations/{OWN_STATION}/token/revoke", {"prefix": ""})
    assert revoked.status_code == 302
    assert api.get(f"/api/v1/stations/{OWN_STATION}/playlist", headers=auth).status_code == 401
    with transaction(web.factory) as s:
        actions = s.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("station.token.%"))
        ).all()
        assert sorted(actions) == ["station.token.issue", "station.token.revoke"]
        assert all(t.revoked_at is not None for t in s.scalars(select(StationToken)))


def test_keep_old_and_revoke_by_prefix(web):
    client = web.client("quantri")
    _issue(web, client)
    _issue(web, client, {"keep_old": "1"})
    client.get(f"/stations/{OWN_STATION}")
    assert _count(web, StationToken, StationToken.revoked_at.is_(None)) == 2
    with transaction(web.factory) as s:
        prefix = s.scalars(select(StationToken.prefix).order_by(StationToken.id)).first()
    answer = web.post(client, f"/stations/{OWN_STATION}/token/revoke", {"prefix": prefix})
    assert answer.status_code == 302
    assert _count(web, StationToken, StationToken.revoked_at.is_(None)) == 1
    wrong = web.post(client, f"/stations/{OWN_STATION}/token/revoke", {"prefix": "bst_nope"})
    assert wrong.status_code == 400 and 'id="prefix-error"' in text(wrong)
    nul = web.post(client, f"/stations/{OWN_STATION}/token/revoke", {"prefix": "bst\x00"})
    assert nul.status_code == 400 and 'id="prefix-error"' in text(nul)
    assert _count(web, StationToken, StationToken.revoked_at.is_(None)) == 1


def test_only_an_admin_issues_or_revokes_tokens(web):
    for user in ("duyet", "daixa", "kiemtra"):
        client = web.client(user)
        assert web.post(client, f"/stations/{OWN_STATION}/token/issue").status_code == 403
        assert web.post(client, f"/stations/{OWN_STATION}/token/revoke").status_code == 403
    assert _count(web, StationToken) == 0


def test_a_token_issued_for_one_station_is_not_shown_on_another(web):
    client = web.client("quantri")
    assert 'id="new-token-value"' in text(_issue(web, client))
    other = text(client.get(f"/stations/{OTHER_STATION}"))
    assert 'id="new-token-value"' not in other
    own = text(client.get(f"/stations/{OWN_STATION}"))
    assert 'id="new-token-value"' not in own  # it was meant for one page view only


def test_a_playlist_link_is_issued_shown_once_counted_and_revoked_from_the_page(web):
    client = web.client("quantri")
    issued = _issue(web, client, {"kind": "link"})
    assert issued.status_code == 200 and issued.headers["Cache-Control"] == "no-store"
    body = text(issued)
    m3u8 = body.split('id="new-link-m3u8">', 1)[1].split("<", 1)[0].strip()
    assert re.fullmatch(r"http://localhost/api/v1/links/bsl_[\w-]{43}/playlist\.m3u8", m3u8)
    assert 'id="new-token-value"' not in body
    api = web.app.test_client()
    path = m3u8.removeprefix("http://localhost")
    assert api.get(path).status_code == 200 and api.get(path).status_code == 200
    listed = text(client.get(f"/stations/{OWN_STATION}"))
    link_row = r'<tr data-prefix="(bsl_[\w-]+)" data-kind="link"[^>]*>(.*?)</tr>'
    row = re.search(link_row, listed, re.S)
    assert row is not None and m3u8 not in listed  # listed by its prefix only
    assert '<td data-label="Số lần dùng">2</td>' in row.group(2)
    revoked = web.post(client, f"/stations/{OWN_STATION}/token/revoke", {"prefix": row.group(1)})
    assert revoked.status_code == 302
    assert api.get(path).status_code == 403


def test_a_station_holding_a_long_poll_is_shown_connected(web):
    from broadcaster.services import health

    client = web.client("quantri")
    assert 'data-connected="yes"' not in text(client.get("/stations/"))
    with transaction(web.factory) as s:
        health.note_waiting(s, [OWN_STATION])
    listed = text(client.get("/stations/"))
    row = listed.split(f'<tr data-station="{OWN_STATION}">', 1)[1].split("</tr>", 1)[0]
    assert 'data-connected="yes"' in row and listed.count('data-connected="yes"') == 1
    detail = text(client.get(f"/stations/{OWN_STATION}"))
    assert "đang kết nối: nhận được ngay" in detail


def test_a_mistyped_station_in_the_address_says_what_was_not_found(web):
    client = web.client("quantri")
    missing = client.get("/stations/18O73")  # a letter O for a zero
    assert missing.status_code == 404
    assert "Không có đài nào mã “18O73”" in text(missing)
    odd = client.get("/stations/a%00b")
    assert odd.status_code == 404 and "không trỏ tới đài nào" in text(odd)
