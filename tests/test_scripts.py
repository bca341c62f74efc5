"""Script review: idempotent import, versions, four-eyes and scope rules."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from broadcaster.db import transaction
from broadcaster.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from broadcaster.library import LibraryProblems
from broadcaster.models import AuditEvent, Script, ScriptVersion, User, VersionStatus
from broadcaster.services import scripts, users
from tests.conftest import REPO

SLUG = "01-dich-vu-cong-truc-tuyen"
PASSWORD = "mat-khau-thu"


@pytest.fixture
def library(tmp_path):
    folder = tmp_path / "library"
    shutil.copytree(REPO / "scripts", folder)
    return folder


@pytest.fixture
def people(factory, actor, ha_tinh):
    """An editor and two approvers of Hà Tĩnh, a commune approver, a national approver."""
    with transaction(factory) as s:
        users.add_user(s, actor, "editor", "editor", PASSWORD, scope="42")
        users.add_user(s, actor, "approver", "approver", PASSWORD, scope="42")
        users.add_user(s, actor, "approver2", "approver", PASSWORD, scope="42")
        users.add_user(s, actor, "commune.approver", "approver", PASSWORD, scope="18073")
        users.add_user(s, actor, "national", "approver", PASSWORD)
        users.add_user(s, actor, "auditor", "auditor", PASSWORD, scope="42")
    # Passwords are checked in test_users; here the actors are built from the rows
    # directly, which saves a deliberately slow scrypt verification per person.
    with factory() as s:
        return {
            u.username: users.actor_for(u)
            for u in s.scalars(select(User).options(selectinload(User.scope_unit)))
        }


def _counts(factory):
    with factory() as s:
        return (
            s.scalar(select(func.count()).select_from(Script)),
            s.scalar(select(func.count()).select_from(ScriptVersion)),
            s.scalar(select(func.count()).select_from(AuditEvent)),
        )


def _import(factory, who, folder, unit="42"):
    with transaction(factory) as s:
        return scripts.import_library(s, who, folder, unit)


def test_reimporting_the_library_changes_nothing(factory, people, library):
    first = _import(factory, people["editor"], library)
    assert len(first.created) >= 8 and not first.versioned
    before = _counts(factory)
    again = _import(factory, people["editor"], library)
    assert again.created == [] and again.versioned == []
    assert sorted(again.unchanged) == sorted(first.created)
    assert _counts(factory) == before


def test_a_changed_file_adds_a_version_and_the_approved_one_keeps_airing(factory, people, library):
    _import(factory, people["editor"], library)
    with transaction(factory) as s:
        scripts.submit(s, people["editor"], SLUG)
    with transaction(factory) as s:
        info = scripts.approve(s, people["approver"], SLUG, note="Đồng ý phát")
    assert (info.state, info.approved_version) == ("approved", 1)

    path = next(library.glob(f"{SLUG}.md"))
    path.write_text(path.read_text("utf-8") + "\nXin trân trọng thông báo.\n", "utf-8")
    result = _import(factory, people["editor"], library)
    assert result.versioned == [SLUG]
    with factory() as s:
        info = scripts.get_script(s, SLUG)
    assert (info.state, info.latest_version, info.approved_version) == ("draft", 2, 1)
    assert info.versions[0].status is VersionStatus.APPROVED

    with transaction(factory) as s:
        scripts.submit(s, people["editor"], SLUG)
    with transaction(factory) as s:
        info = scripts.approve(s, people["approver2"], SLUG)
    assert (info.state, info.approved_version) == ("approved", 2)


def test_editor_cannot_approve(factory, people, library):
    _import(factory, people["editor"], library)
    with transaction(factory) as s:
        scripts.submit(s, people["editor"], SLUG)
    with pytest.raises(PermissionDenied, match="approver"), transaction(factory) as s:
        scripts.approve(s, people["editor"], SLUG)
    with pytest.raises(PermissionDenied), transaction(factory) as s:
        scripts.approve(s, people["auditor"], SLUG)
    with factory() as s:
        assert scripts.get_script(s, SLUG).state == "submitted"


def test_four_eyes_no_approving_what_you_wrote_or_submitted(factory, people, library):
    _import(factory, people["approver"], library)  # the approver is the author here
    with transaction(factory) as s:
        scripts.submit(s, people["editor"], SLUG)
    with pytest.raises(PermissionDenied, match="bốn mắt"), transaction(factory) as s:
        scripts.approve(s, people["approver"], SLUG)

    other = "02-dang-ky-va-nop-ho-so-tren-cong-quoc-gia"
    with transaction(factory) as s:
        scripts.submit(s, people["approver2"], other)  # submitted by approver2
    with pytest.raises(PermissionDenied, match="bốn mắt"), transaction(factory) as s:
        scripts.approve(s, people["approver2"], other)
    with transaction(factory) as s:
        scripts.approve(s, people["national"], other)
    with factory() as s:
        assert scripts.get_script(s, SLUG).state == "submitted"
        assert scripts.get_script(s, other).state == "approved"


def test_approver_outside_the_scripts_unit_cannot_review(factory, people, library):
    _import(factory, people["editor"], library)
    with transaction(factory) as s:
        scripts.submit(s, people["editor"], SLUG)
    with pytest.raises(PermissionDenied, match="ngoài phạm vi"), transaction(factory) as s:
        scripts.approve(s, people["commune.approver"], SLUG)
    with pytest.raises(PermissionDenied, match="ngoài phạm vi"), transaction(factory) as s:
        scripts.reject(s, people["commune.approver"], SLUG, "không phù hợp")
    with transaction(factory) as s:
        assert scripts.approve(s, people["national"], SLUG).state == "approved"


def test_nation_wide_scripts_need_a_nation_wide_approver(factory, people, library):
    _import(factory, people["national"], library, unit=None)
    with transaction(factory) as s:
        scripts.submit(s, people["national"], SLUG)
    with pytest.raises(PermissionDenied, match="toàn quốc"), transaction(factory) as s:
        scripts.approve(s, people["approver"], SLUG)
    with pytest.raises(PermissionDenied, match="ngoài phạm vi"), transaction(factory) as s:
        scripts.submit(s, people["editor"], "02-dang-ky-va-nop-ho-so-tren-cong-quoc-gia")


def test_reject_needs_a_reason_and_a_new_version_starts_over(factory, people, library):
    _import(factory, people["editor"], library)
    with transaction(factory) as s:
        scripts.submit(s, people["editor"], SLUG)
    with pytest.raises(InvalidInput, match="lý do"), transaction(factory) as s:
        scripts.reject(s, people["approver"], SLUG, "   ")
    with transaction(factory) as s:
        info = scripts.reject(s, people["approver"], SLUG, "Sai số điện thoại đường dây nóng")
    assert info.state == "rejected"
    assert info.latest.review_reason == "Sai số điện thoại đường dây nóng"
    assert info.latest.reviewed_by == "approver"
    with pytest.raises(Conflict, match="trạng thái"), transaction(factory) as s:
        scripts.submit(s, people["editor"], SLUG)
    with pytest.raises(Conflict), transaction(factory) as s:
        scripts.approve(s, people["approver2"], SLUG)


def test_submit_needs_a_person_and_a_draft(factory, actor, people, library):
    _import(factory, people["editor"], library)
    with (
        pytest.raises(PermissionDenied, match="cần một người dùng") as refused,
        transaction(factory) as s,
    ):
        scripts.submit(s, actor, SLUG)
    assert refused.value.field == "user"  # the command adds its flag, --user
    with transaction(factory) as s:
        scripts.submit(s, people["editor"], SLUG)
    with pytest.raises(Conflict, match="submitted"), transaction(factory) as s:
        scripts.submit(s, people["editor"], SLUG)


def test_archive_keeps_history_and_import_skips_it(factory, people, library):
    _import(factory, people["editor"], library)
    with pytest.raises(PermissionDenied), transaction(factory) as s:
        scripts.archive(s, people["editor"], SLUG)
    with transaction(factory) as s:
        assert scripts.archive(s, people["approver"], SLUG, "Hết đợt").state == "archived"
    path = next(library.glob(f"{SLUG}.md"))
    path.write_text(path.read_text("utf-8") + "\nThêm.\n", "utf-8")
    assert _import(factory, people["editor"], library).skipped == [SLUG]
    with factory() as s:
        info = scripts.get_script(s, SLUG)
        assert info.latest_version == 1 and info.state == "archived"
        assert [i.slug for i in scripts.list_scripts(s, "archived")] == [SLUG]


def test_one_bad_file_means_nothing_is_written(factory, people, library):
    (library / "99-hong.md").write_text("---\ntitle: [không đóng\n---\nNội dung", "utf-8")
    with pytest.raises(LibraryProblems, match=r"99-hong\.md:2"):
        _import(factory, people["editor"], library)
    assert _counts(factory)[:2] == (0, 0)


def test_every_review_step_is_audited(factory, people, library):
    _import(factory, people["editor"], library)
    with transaction(factory) as s:
        scripts.submit(s, people["editor"], SLUG)
    with transaction(factory) as s:
        scripts.approve(s, people["approver"], SLUG)
    with factory() as s:
        events = s.execute(
            select(AuditEvent.action, AuditEvent.actor, AuditEvent.before, AuditEvent.after)
            .where(AuditEvent.action.in_(["script.submit", "script.approve"]))
            .order_by(AuditEvent.id)
        ).all()
    assert [(e.action, e.actor) for e in events] == [
        ("script.submit", "editor"),
        ("script.approve", "approver"),
    ]
    assert events[1].before["status"] == "submitted"
    assert events[1].after == {"version": 1, "status": "approved", "approved_version": 1}


def test_versions_are_immutable(factory, people, library):
    _import(factory, people["editor"], library)
    with factory() as s:
        version = s.scalar(select(ScriptVersion).limit(1))
        version.body = "đã sửa lén"
        with pytest.raises(ValueError, match="immutable"):
            s.commit()


def test_naming_a_version_in_the_wrong_state(factory, people, library):
    _import(factory, people["editor"], library)
    expected = "chỉ bản 'submitted' mới duyệt được"
    with pytest.raises(Conflict, match=expected), transaction(factory) as s:
        scripts.approve(s, people["approver"], SLUG, version=1)
    with pytest.raises(NotFound, match="không có phiên bản 9"), transaction(factory) as s:
        scripts.submit(s, people["editor"], SLUG, version=9)
