"""The admin's campaigns (chiến dịch tuyên truyền): list, create, edit, pause/resume/end,
and a week calendar of the resulting slots per station.

A thin shell over :mod:`broadcaster.services.campaigns` (writes, audited there) and
:mod:`broadcaster.services.campaign_reads` / :mod:`broadcaster.services.slots`
(reads). As the CLI does, every change is re-planned in the same transaction
(:func:`broadcaster.planning.plan`), so the calendar shows the new slots at once and a
failure saves nothing. Approvers and admins manage campaigns inside their scope;
editors and auditors read; operators have no use for these pages (403). A campaign is
visible when one of its targets lies inside the user's scope or holds it.
"""

from __future__ import annotations

import logging
import threading

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from broadcaster.audio.engine_order import voice_groups
from broadcaster.errors import BroadcasterError, NotFound, PermissionDenied
from broadcaster.models import CampaignStatus, Role, Script, ScriptVersion
from broadcaster.services import campaigns as svc
from broadcaster.services import voices
from broadcaster.services.audio import render_pending
from broadcaster.services.campaign_reads import (
    approved_scripts,
    campaigns_in_scope,
    reaches_scope,
    relay_choices,
    target_paths,
)
from broadcaster.webapp.auth import signed_in
from broadcaster.webapp.campaigns_calendar import STATUS_LABELS, calendar_view
from broadcaster.webapp.campaigns_forms import (
    KIND_CHOICES,
    PREFERRED_CHOICES,
    PRIORITY_CHOICES,
    CampaignForm,
    changes_of,
    field_of,
    read_form,
    spec_of,
)
from broadcaster.webapp.common import (
    PAGE_SIZE,
    WEEKDAY_NAMES,
    Page,
    actor,
    db,
    done,
    error_text,
    field,
    offset,
    page_number,
    refused,
    renderer,
    settings,
)

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")

READERS = (Role.ADMIN, Role.APPROVER, Role.EDITOR, Role.AUDITOR)
log = logging.getLogger(__name__)
MANAGERS = (Role.ADMIN, Role.APPROVER)
CAMPAIGN_STATUS = {
    CampaignStatus.ACTIVE: _l("đang chạy"),
    CampaignStatus.PAUSED: _l("tạm dừng"),
    CampaignStatus.ENDED: _l("đã kết thúc"),
}
ACTIONS = {
    "pause": (svc.pause_campaign, _l("Đã tạm dừng chiến dịch “%(name)s”.")),
    "resume": (svc.resume_campaign, _l("Đã tiếp tục chiến dịch “%(name)s”.")),
    "end": (svc.end_campaign, _l("Đã kết thúc chiến dịch “%(name)s”.")),
}
PLAN_DAYS = 14  # the CLI's horizon after a change; the scheduler extends it


def _today():
    return settings().today()


def _replan(campaign_id: int) -> None:
    from broadcaster.planning import plan

    plan(db(), now=None, days=PLAN_DAYS, tz=settings().tz, campaign_ids=[campaign_id])


def _visible(campaign_id: int) -> tuple[svc.CampaignInfo, list[str]]:
    """The campaign when the user's scope reaches it: 404 unknown, 403 outside."""
    if campaign_id >= 2**31:
        abort(404)
    try:
        info = svc.get_campaign(db(), campaign_id)
    except NotFound:
        abort(404)
    paths = target_paths(db(), campaign_id)
    if not reaches_scope(paths, actor().scope_path):
        abort(403)
    return info, paths


def _manages(paths: list[str]) -> bool:
    """May the user change it (the service's rule: every target inside the scope)?"""
    return actor().role in MANAGERS and all(actor().covers(p) for p in paths)


def _form_page(form: CampaignForm, info: svc.CampaignInfo | None, status: int = 200):
    choices = approved_scripts(db(), actor().scope_path)
    return render_template(
        "campaigns/form.html",
        form=form,
        values=form.values,
        errors=form.errors,
        campaign=info,
        script_choices=choices,
        weekday_names=WEEKDAY_NAMES,
        preferred_choices=PREFERRED_CHOICES,
        priority_choices=PRIORITY_CHOICES,
        kind_choices=KIND_CHOICES,
        relay_choices=relay_choices(db(), actor().scope_path),
        voice_groups=voice_groups(settings().audio),
    ), status


@bp.get("/")
@signed_in(*READERS)
def index():
    status = request.args.get("status", "")
    if status not in ("", *(s.value for s in CampaignStatus)):
        status, error = "", _("Trạng thái không hợp lệ.")
    else:
        error = None
    number = page_number()
    rows = campaigns_in_scope(
        db(), actor().scope_path, status or None, limit=PAGE_SIZE + 1, offset=offset(number)
    )
    return render_template(
        "campaigns/index.html",
        page=Page.of(rows, number),
        status=status,
        status_error=error,
        statuses=CAMPAIGN_STATUS,
        can_create=actor().role in MANAGERS,
    ), (400 if error else 200)


@bp.route("/new", methods=["GET", "POST"])
@signed_in(*MANAGERS)
def new():
    if request.method == "GET":
        return _form_page(CampaignForm.blank(_today()), None)
    form, kwargs = read_form(request.form, _today())
    if form.errors:
        return _form_page(form, None, 400)
    session = db()
    try:
        info = svc.add_campaign(session, actor(), spec_of(kwargs), today=_today())
        voices.set_campaign_voice(session, actor(), settings().audio, info.id, form.values["voice"])
        _replan(info.id)
    except PermissionDenied as exc:
        session.rollback()
        refused(exc)
        raise
    except BroadcasterError as exc:
        session.rollback()
        form.errors[field_of(exc, form.error_mode)] = error_text(exc)
        return _form_page(form, None, 400)
    session.commit()
    _render_in_background(info.id)
    done(_("Đã tạo chiến dịch “%(name)s” và lập lịch phát.", name=info.name))
    return redirect(url_for("campaigns.show", campaign_id=info.id))


@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
@signed_in(*MANAGERS)
def edit(campaign_id: int):
    info, paths = _visible(campaign_id)
    if not _manages(paths):
        abort(403)
    if info.status is CampaignStatus.ENDED:
        abort(409, description=_("Chiến dịch đã kết thúc; không sửa được."))
    if request.method == "GET":
        form = CampaignForm.of(info)
        form.values["voice"] = voices.campaign_voice(db(), campaign_id) or ""
        return _form_page(form, info)
    form, kwargs = read_form(request.form, _today(), info)
    if form.errors:
        return _form_page(form, info, 400)
    session = db()
    try:
        updated = svc.edit_campaign(
            session, actor(), campaign_id, changes_of(kwargs), today=_today()
        )
        voice = form.values["voice"]
        voices.set_campaign_voice(session, actor(), settings().audio, campaign_id, voice)
        _replan(campaign_id)
    except PermissionDenied as exc:
        session.rollback()
        refused(exc)
        raise
    except BroadcasterError as exc:
        session.rollback()
        form.errors[field_of(exc, form.error_mode)] = error_text(exc)
        return _form_page(form, info, 400)
    session.commit()
    _render_in_background(campaign_id)
    done(_("Đã sửa chiến dịch “%(name)s” và lập lịch lại.", name=updated.name))
    return redirect(url_for("campaigns.show", campaign_id=campaign_id))


@bp.post("/<int:campaign_id>/<action>")
@signed_in(*MANAGERS)
def transition(campaign_id: int, action: str):
    if action not in ACTIONS:
        abort(404)
    info, paths = _visible(campaign_id)
    if not _manages(paths):
        abort(403)
    reason = field(request.form, "reason", max_length=500, errors=(errors := {}))
    if errors:
        abort(400, description=errors["reason"])
    apply, message = ACTIONS[action]
    session = db()
    try:
        if action == "end":
            apply(session, actor(), campaign_id, reason, today=_today())
        else:
            apply(session, actor(), campaign_id, reason)
        _replan(campaign_id)
    except PermissionDenied as exc:
        session.rollback()
        refused(exc)
        raise
    except BroadcasterError as exc:
        session.rollback()
        abort(409, description=error_text(exc))
    session.commit()
    if action == "resume":
        _render_in_background(campaign_id)
    done(message % {"name": info.name})
    return redirect(url_for("campaigns.show", campaign_id=campaign_id))


@bp.post("/<int:campaign_id>/render")
@signed_in(*MANAGERS)
def render_now(campaign_id: int):
    """Make the audio of this campaign's slots in the next 48 hours now, and say what
    happened (the scheduler's render job does the same every few minutes)."""
    _info, paths = _visible(campaign_id)
    if not _manages(paths):
        abort(403)
    result = render_pending(_sessions(), renderer(), campaign_id=campaign_id)
    if result.failed:
        refused_text = _(
            "Đã tạo âm thanh cho %(n)s lượt phát; %(k)s lượt lỗi, ví dụ: %(why)s",
            n=result.attached,
            k=len(result.failed),
            why=result.failed[0][1],
        )
        flash(refused_text, "error")
    elif result.attached:
        done(_("Đã tạo âm thanh cho %(n)s lượt phát trong 48 giờ tới.", n=result.attached))
    else:
        done(_("Mọi lượt phát trong 48 giờ tới đã có âm thanh."))
    return redirect(url_for("campaigns.show", campaign_id=campaign_id))


def _sessions():
    return current_app.extensions["broadcaster.sessionmaker"]


def _render_in_background(campaign_id: int) -> None:
    """A new, edited or resumed campaign's audio, made now rather than at the scheduler's
    next render run (``RENDER_AFTER_SAVE`` False turns it off; the tests join it)."""
    if not current_app.config.get("RENDER_AFTER_SAVE", True):
        return
    factory, made_by = _sessions(), renderer()

    def run() -> None:
        try:
            result = render_pending(factory, made_by, campaign_id=campaign_id)
            log.info("campaign %s: %s", campaign_id, result.say())
        except Exception:
            log.exception("campaign %s: making its audio failed", campaign_id)

    thread = threading.Thread(target=run, daemon=True, name=f"render-campaign-{campaign_id}")
    running = current_app.extensions.get("broadcaster.render_threads", [])
    current_app.extensions["broadcaster.render_threads"] = [
        *(t for t in running if t.is_alive()),  # the finished ones are let go
        thread,
    ]
    thread.start()


def _titles(slugs) -> dict[str, str]:
    """Each script's title as people know it: the approved version's, else the newest."""
    rows = (
        db()
        .execute(
            select(Script.slug, ScriptVersion.title)
            .join(ScriptVersion, ScriptVersion.script_id == Script.id)
            .where(Script.slug.in_(list(slugs)))
            .order_by(
                Script.slug, (ScriptVersion.id == Script.approved_version_id), ScriptVersion.id
            )
        )
        .all()
    )
    return {slug: title for slug, title in rows}  # the last row per slug wins


@bp.get("/<int:campaign_id>")
@signed_in(*READERS)
def show(campaign_id: int):
    info, paths = _visible(campaign_id)
    cal, status = calendar_view(campaign_id, paths, request.args, _today())
    return render_template(
        "campaigns/show.html",
        campaign=info,
        script_titles=_titles(info.scripts),
        statuses=CAMPAIGN_STATUS,
        slot_labels={k: str(v) for k, v in STATUS_LABELS.items()},
        can_manage=_manages(paths),
        **cal,
    ), status
