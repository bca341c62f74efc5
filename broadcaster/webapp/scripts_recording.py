"""Recordings in the admin: upload a file or record with the microphone, hear the master.

``/scripts/<slug>/recording`` adds a recording to a script as a new draft version
(an optional transcript becomes the version's body, the title stays unless
given); ``/scripts/new/recording`` makes a new script from one. Both take a plain
multipart form post (``recording`` is the file), so they work without JavaScript;
``recorder.js`` sends the same form with a progress bar, or the microphone's
recording (MediaRecorder's WebM/Ogg Opus), and asks for JSON. The recording is
stored, probed and mastered by :mod:`broadcaster.services.recordings` inside the
request's transaction: a refusal, a failed mastering or an upload cut off mid-way
keeps nothing.

The body's size is bounded by ``MAX_CONTENT_LENGTH`` (the app factory, from
``BROADCASTER_RECORDING_MAX_MB``); beyond it, and for a file over the limit, the
answer is 413 with the limit said in the reader's language. The page of a script
plays the mastered MP3 (``/scripts/<slug>/recording/<n>.mp3``, made once) beside
the transcript, with the warnings the measuring found.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass

from flask import abort, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from broadcaster.errors import BroadcasterError, NotFound, PermissionDenied
from broadcaster.library import MAX_TITLE
from broadcaster.models import ScriptVersion
from broadcaster.services import scripts as svc
from broadcaster.services.script_list import slug_taken
from broadcaster.services.script_text import MAX_BODY, MAX_SLUG, derived_slug
from broadcaster.vntext import slugify
from broadcaster.webapp.auth import signed_in
from broadcaster.webapp.common import (
    actor,
    beside,
    db,
    done,
    error_text,
    field,
    renderer,
    settings,
)
from broadcaster.webapp.scripts import READERS, SLUG, WRITERS, bp, visible_script
from broadcaster.webapp.scripts_edit import RESERVED_SLUGS, _free_slug, _unit

# what phones, chat apps and the page's own recorder produce (the services probe the bytes)
ACCEPT = (
    ".mp3,.m4a,.aac,.mp4,.wav,.ogg,.oga,.opus,.webm,.amr,.3gp,.3gpp,"
    "audio/mpeg,audio/mp4,audio/aac,audio/wav,audio/x-wav,audio/ogg,audio/opus,audio/webm,"
    "audio/amr,audio/3gpp,video/3gpp"
)
FIELDS = ("recording", "transcript", "title", "slug", "unit")
FORM_SLACK = 1024 * 1024  # the form's other fields and multipart framing


def max_bytes() -> int:
    return max_mb() * 1024 * 1024


def max_mb() -> int:
    return settings().audio.recording_max_mb


def body_limit(recording_max_mb: int) -> int:
    """``MAX_CONTENT_LENGTH`` for the app: a whole recording and its form fit."""
    return recording_max_mb * 1024 * 1024 + FORM_SLACK


def too_big_text() -> str:
    return _(
        "Tệp ghi âm quá lớn: tối đa %(mb)s MB. Hãy cắt bớt hoặc nén lại (MP3, M4A) rồi tải lên.",
        mb=max_mb(),
    )


def cut_off_text() -> str:
    return _(
        "Tệp tải lên bị ngắt giữa chừng (mất kết nối?); không có gì được lưu. Hãy tải lên lại."
    )


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _is_recording_post() -> bool:
    return request.method == "POST" and request.endpoint in (
        "scripts.add_recording",
        "scripts.new_recording",
    )


def _refused_upload(message: str, status: int):
    """A 413 or a cut-off upload: on the upload page when it was one, else the error page."""
    if _wants_json():
        return jsonify(error=message, errors={"recording": message}), status
    return (
        render_template("error.html", code=status, title=_("Không tải lên được"), message=message),
        status,
    )


def body_cut_off() -> bool:
    """A multipart body that could not be read to its end: Werkzeug then gives an empty
    form (a browser's or a proxy's connection dropped mid-upload)."""
    return (
        request.mimetype == "multipart/form-data"
        and (request.content_length or 0) > 0
        and not request.form
        and not request.files
    )


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc):
    # raised while the body is read (by the CSRF check, before any view)
    if _is_recording_post():
        return _refused_upload(too_big_text(), 413)
    from broadcaster.webapp import _error_page

    return _error_page(413, None)


@bp.errorhandler(ClientDisconnected)
def _disconnected(exc):
    return _refused_upload(cut_off_text(), 400)


@bp.errorhandler(CSRFError)
def _no_token(exc):
    # an upload cut off mid-way has no form left, so no CSRF token: say what happened
    expired = _("Biểu mẫu đã hết hạn hoặc thiếu mã bảo vệ (CSRF); tải lại trang.")
    if _is_recording_post():
        return _refused_upload(cut_off_text() if body_cut_off() else expired, 400)
    from broadcaster.webapp import _error_page

    return _error_page(400, expired)


@dataclass(frozen=True)
class RecordingView:
    """What the script's page shows of a version's recording."""

    number: int
    url: str
    duration: str | None
    details: str
    warnings: list[str]


def _duration(seconds) -> str | None:
    if not isinstance(seconds, int | float) or seconds < 0:
        return None
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def warning_texts(info: dict | None) -> list[str]:
    """The measuring's warnings in the reader's language (their message ids through Babel)."""
    texts = []
    for w in (info or {}).get("warnings") or []:  # {"code", "message", "params"}
        template = w.get("message") or w.get("code") or ""
        params = w.get("params") or {}
        try:
            texts.append(_(template).format(**params))
        except (KeyError, IndexError, ValueError):  # a translation with other placeholders
            texts.append(template.format_map(defaultdict(str, params)))
    return texts


def _details(info: dict) -> str:
    parts = []
    if isinstance(info.get("codec"), str):
        parts.append(info["codec"].upper())
    if isinstance(info.get("sample_rate"), int):
        khz = f"{info['sample_rate'] / 1000:g}"
        parts.append(_("%(khz)s kHz", khz=khz))
    channels = info.get("channels")
    if channels == 1:
        parts.append(_("một kênh"))
    elif isinstance(channels, int) and channels > 1:
        parts.append(_("%(n)s kênh", n=channels))
    if isinstance(info.get("size_bytes"), int):
        size = info["size_bytes"]
        if size < 1024 * 1024:
            kb = f"{max(1, round(size / 1024))}"
            parts.append(_("%(kb)s KB", kb=kb))
        else:
            mb = f"{size / 1024 / 1024:.1f}"
            parts.append(_("%(mb)s MB", mb=mb))
    return " · ".join(parts)


def recordings_of(info: svc.ScriptInfo) -> dict[int, RecordingView]:
    """The versions of a script that carry a recording, by number, as the page shows them."""
    return {
        v.number: RecordingView(
            number=v.number,
            url=url_for("scripts.recording_audio", slug=info.slug, number=v.number),
            duration=_duration((v.recording_info or {}).get("duration_s")),
            details=_details(v.recording_info or {}),
            warnings=warning_texts(v.recording_info),
        )
        for v in info.versions
        if v.is_recording
    }


@bp.context_processor
def _recording_helpers() -> dict:
    return {"script_recordings": recordings_of}


def has_recording(info: svc.ScriptInfo, number: int) -> bool:
    return any(v.number == number and v.is_recording for v in info.versions)


def _page(info, values: dict, errors: dict[str, str], status: int = 200, error: str | None = None):
    if _wants_json() and request.method == "POST":
        message = error or _("Chưa lưu: hãy sửa các ô được đánh dấu.")
        return jsonify(error=message, errors=errors), status
    return render_template(
        "scripts/recording.html",
        info=info,
        values=values,
        errors=errors,
        error=error,
        accept=ACCEPT,
        max_mb=max_mb(),
        max_bytes=max_bytes(),
        max_body=MAX_BODY,
        max_title=MAX_TITLE,
    ), status


def _values(form) -> dict[str, str]:
    return {
        k: (form.get(k) or "")[: MAX_BODY if k == "transcript" else 600]
        for k in FIELDS
        if k != "recording"
    }


def _read(form, *, new: bool) -> tuple[dict[str, str], dict[str, str]]:
    errors: dict[str, str] = {}
    got = {
        "transcript": field(form, "transcript", max_length=MAX_BODY, multiline=True, errors=errors),
        "title": field(form, "title", max_length=MAX_TITLE, errors=errors),
    }
    if new:
        got["slug"] = field(form, "slug", max_length=MAX_SLUG, errors=errors).lower()
        got["unit"] = field(form, "unit", max_length=64, errors=errors)
        if not got["title"] and "title" not in errors:
            errors["title"] = _("Nhập tiêu đề của tin bài.")
    return got, errors


def _the_file(errors: dict[str, str]):
    """The uploaded file (spooled to disk by Werkzeug past 500 KB), or None with its error."""
    upload = request.files.get("recording")
    if upload is None or not upload.filename:
        errors["recording"] = _("Chọn tệp ghi âm để tải lên (hoặc ghi âm bằng micrô).")
        return None
    stream = upload.stream
    try:
        stream.seek(0, os.SEEK_END)
        size = stream.tell()
        stream.seek(0)
    except (OSError, ValueError):
        size = None
    if size is not None and size > max_bytes():
        raise RequestEntityTooLarge()
    if size == 0:
        errors["recording"] = _("Tệp ghi âm trống (0 byte); hãy chọn lại tệp.")
        return None
    return upload


def _saved(slug: str, version: ScriptVersion, *, new: bool):
    if new:
        message = _(
            "Đã lưu tin bài mới từ bản ghi âm (bản nháp, phiên bản 1). Nghe lại rồi trình duyệt."
        )
    else:
        message = _(
            "Đã lưu bản ghi âm thành phiên bản %(n)s (bản nháp). Nghe lại rồi trình duyệt.",
            n=version.number,
        )
    url = url_for("scripts.detail", slug=slug)
    if _wants_json():
        done(message)
        return jsonify(url=url, version=version.number, message=message)
    done(message)
    return redirect(url)


def _rec():
    from broadcaster.services import recordings  # helper A's core (being written)

    return recordings


def _store(make, taken: dict[str, str]) -> tuple[ScriptVersion | None, dict[str, str]]:
    """Store, measure and master the recording in one transaction (the service does all
    three); its refusal as the form's errors, beside the field it is about. ``taken``:
    the errors when another writer's insert won (the same version number or slug)."""
    try:
        version = make().version
        db().commit()
    except IntegrityError:
        db().rollback()
        return None, taken
    except PermissionDenied:
        db().rollback()
        abort(403)
    except NotFound:
        db().rollback()
        abort(404)
    except BroadcasterError as exc:
        db().rollback()
        return None, beside(exc, FIELDS, "recording")
    except OSError as exc:  # the audio folder unwritable, the disk full
        db().rollback()
        why = exc.strerror or str(exc)
        return None, {"recording": _("Không lưu được bản ghi âm: %(why)s", why=why)}
    return version, {}


@bp.route("/<slug>/recording", methods=["GET", "POST"])
@signed_in(*WRITERS)
def add_recording(slug: str):
    info, place = visible_script(slug)
    if not actor().covers(place.unit_path):
        abort(403)
    if info.state == svc.ARCHIVED:
        abort(409, description=_("Tin bài đã lưu trữ, không sửa được nữa."))
    latest = info.latest
    if request.method == "GET":
        if latest.is_recording:  # to change the transcript or title, keeping the recording
            return _page(info, {"transcript": latest.body, "title": latest.title}, {})
        return _page(info, {"transcript": "", "title": ""}, {})
    if body_cut_off():
        return _refused_upload(cut_off_text(), 400)
    got, errors = _read(request.form, new=False)
    chosen = request.files.get("recording")
    keep = latest.is_recording and (chosen is None or not chosen.filename)
    upload = None if keep else _the_file(errors)
    values = _values(request.form)
    if errors:
        return _page(info, values, errors, 400)
    if keep:
        if got["transcript"] == latest.body and got["title"] in ("", latest.title):
            done(_("Không có thay đổi: nội dung giống hệt phiên bản %(n)s.", n=latest.number))
            if _wants_json():
                return jsonify(url=url_for("scripts.detail", slug=slug), version=latest.number)
            return redirect(url_for("scripts.detail", slug=slug))
        kept = db().scalar(
            select(ScriptVersion.recording_path).where(
                ScriptVersion.script_id == info.id, ScriptVersion.number == latest.number
            )
        )
        source, filename = settings().audio_dir / kept, kept.rsplit("/", 1)[-1]
    else:
        source, filename = upload.stream, upload.filename
    version, problems = _store(
        lambda: _rec().add_recording_full(
            db(),
            slug,
            source,
            filename=filename,
            audio_dir=settings().audio_dir,
            actor=actor(),
            transcript=got["transcript"] or None,
            title=got["title"] or None,
            audio=settings().audio,
            renderer=renderer(),
        ),
        {"recording": _("Vừa có người khác lưu tin bài này; tải lại trang rồi sửa tiếp.")},
    )
    if problems:
        return _page(info, values, problems, 400)
    return _saved(slug, version, new=False)


@bp.route("/new/recording", methods=["GET", "POST"])
@signed_in(*WRITERS)
def new_recording():
    if request.method == "GET":
        values = {"transcript": "", "title": "", "slug": "", "unit": current_user.scope_code or ""}
        return _page(None, values, {})
    if body_cut_off():
        return _refused_upload(cut_off_text(), 400)
    got, errors = _read(request.form, new=True)
    upload = _the_file(errors)
    values = _values(request.form)
    unit = _unit(got["unit"], errors) if "unit" not in errors else None
    slug = None
    if "slug" not in errors and "title" not in errors:
        if got["slug"]:
            if not SLUG.fullmatch(got["slug"]) or slugify(got["slug"]) != got["slug"]:
                errors["slug"] = _(
                    "Mã tin bài chỉ gồm chữ thường không dấu, chữ số và '-', bắt đầu bằng chữ "
                    "hoặc số."
                )
            elif got["slug"] in RESERVED_SLUGS or slug_taken(db(), got["slug"]):
                errors["slug"] = _("Mã %(slug)s đã có; chọn mã khác.", slug=got["slug"])
            slug = got["slug"]
        else:
            slug = _free_slug(derived_slug(got["title"]) or "ghi-am")
    if errors:
        return _page(None, values, errors, 400)
    version, problems = _store(
        lambda: _rec().create_recorded_script(
            db(),
            slug,
            upload.stream,
            filename=upload.filename,
            audio_dir=settings().audio_dir,
            actor=actor(),
            title=got["title"],
            unit=unit.code if unit else None,
            transcript=got["transcript"] or None,
            audio=settings().audio,
            renderer=renderer(),
        ),
        # someone took the slug between our look and our insert
        {"slug": _("Mã %(slug)s đã có; chọn mã khác.", slug=slug)},
    )
    if problems:
        return _page(None, values, problems, 400)
    return _saved(slug, version, new=True)


@bp.get("/<slug>/recording/<int:number>.mp3")
@signed_in(*READERS)
def recording_audio(slug: str, number: int):
    """The mastered recording of one version (made once, then served from the audio folder)."""
    info, _place = visible_script(slug)
    version = db().scalar(
        select(ScriptVersion).where(
            ScriptVersion.script_id == info.id,
            ScriptVersion.number == number,
            ScriptVersion.recording_sha256.is_not(None),
        )
    )
    if version is None:
        abort(404)
    try:
        asset = _rec().recording_asset(db(), renderer(), version)
        db().commit()
    except BroadcasterError as exc:
        db().rollback()
        abort(422, description=error_text(exc))
    path = settings().audio_dir / asset.path
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="audio/mpeg", conditional=True, max_age=3600)
