"""Hearing a script in the admin: render a preview MP3, then serve it for the page's player.

``POST /scripts/<slug>/listen`` renders one version (any state) through
:func:`broadcaster.services.script_preview.render_preview`; a browser without
JavaScript is sent back to the script's page with ``?listen=<sha>``, where an
``<audio>`` plays ``/scripts/audio/<sha>.mp3``; ``scripts.js`` asks for JSON
instead and puts the player in place. A render that fails (engine missing, a
station outside the script's area) is a message, never a server error.

The station whose names fill the placeholders is chosen by name with the station
picker (:mod:`broadcaster.webapp.pickers`), among the stations of the user's scope in
the script's area; none chosen is the first of them.
"""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _

from broadcaster.audio.engine_order import OFFLINE, speaker
from broadcaster.errors import BroadcasterError, NotFound, PermissionDenied
from broadcaster.models import AdminUnit
from broadcaster.services.script_list import ScriptPlace
from broadcaster.services.script_preview import Preview, asset_visible, render_preview
from broadcaster.webapp.auth import signed_in
from broadcaster.webapp.common import (
    actor,
    db,
    is_digits,
    renderer,
    scope_path,
    send_asset,
)
from broadcaster.webapp.pickers import StationPick, pick_station
from broadcaster.webapp.scripts import AUDIO_SHA, READERS, WRITERS, bp, visible_script


def _area(place: ScriptPlace) -> list:
    """The stations that may read a script of this place: those in its unit."""
    if place.unit_path is None:
        return []
    return [AdminUnit.path.startswith(place.unit_path, autoescape=True)]


@bp.context_processor
def _listen_helpers() -> dict:
    def listen_station_pick(place: ScriptPlace) -> StationPick:
        """The Listen form's station picker; the station of ``?station=`` chosen."""
        return pick_station(request.args, within=_area(place))

    return {"listen_station_pick": listen_station_pick}


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _failed(slug: str, message: str, status: int, version: int | None):
    if _wants_json():
        return jsonify(error=message), status
    flash(message, "error")
    return redirect(url_for("scripts.detail", slug=slug, version=version))


@bp.post("/<slug>/listen")
@signed_in(*WRITERS)
def listen(slug: str):
    info, _place = visible_script(slug)
    raw_version = (request.form.get("version") or "").strip()
    version = int(raw_version) if is_digits(raw_version) and len(raw_version) < 10 else None
    if raw_version and version is None:
        abort(404)
    pick = pick_station(request.form, within=_area(_place))  # 403 outside the scope
    if pick.error:
        return _failed(slug, pick.error, 400, version)
    station = pick.code
    if version is not None and all(v.number != version for v in info.versions):
        abort(404)
    try:
        preview = render_preview(
            db(),
            renderer(preview=True),
            actor(),
            slug,
            version=version,
            station_code=station or None,
        )
        db().commit()
    except PermissionDenied:
        db().rollback()
        abort(403)
    except NotFound:
        db().rollback()
        abort(404)
    except BroadcasterError as exc:
        db().rollback()
        return _failed(slug, _("Không tạo được âm thanh: %(why)s", why=exc.message), 422, version)
    except OSError as exc:  # the audio folder unwritable, the disk full
        db().rollback()
        why = exc.strerror or str(exc)
        return _failed(slug, _("Không tạo được âm thanh: %(why)s", why=why), 503, version)
    url = url_for("scripts.audio", sha=preview.sha256)
    said = said_by(preview)
    if _wants_json():
        return jsonify(
            sha256=preview.sha256,
            url=url,
            version=preview.version,
            station=preview.station_code,
            duration_ms=preview.duration_ms,
            warnings=list(preview.warnings),
            engine=preview.engine,
            voice=said,
        )
    flash(said, "info")
    return redirect(
        url_for(
            "scripts.detail",
            slug=slug,
            version=preview.version,
            listen=preview.sha256,
            station=preview.station_code or None,
        )
    )


def said_by(preview: Preview) -> str:
    """Which engine and voice spoke, why, and whose names it said — in the user's language."""
    who = speaker_of(preview.engine, getattr(preview, "voice", ""))
    said = _("Đọc bằng: %(speaker)s.", speaker=who)
    if preview.engine in OFFLINE and any("gtts" in w for w in preview.warnings):
        said += " " + _("Không kết nối được giọng Google; đang dùng giọng đọc ngoại tuyến.")
    elif preview.engine in OFFLINE:
        said += " " + _("Giọng đọc ngoại tuyến.")
    elif preview.warnings:
        said += " " + _("Bộ máy đọc đứng trước không trả lời; đã dùng bộ máy tiếp theo.")
    if preview.cached:
        said += " " + _("Âm thanh đã có sẵn, không phải tạo lại.")
    if preview.station_name:
        said += " " + _("Tên xã, tỉnh, đài đọc theo %(station)s.", station=preview.station_name)
    return said


def speaker_of(engine: str, voice: str | None) -> str:
    """ "FPT.AI — Ban Mai (nữ miền Bắc)", "piper — <voice>", "gTTS", "espeak-ng"."""
    try:
        built = renderer(preview=True).engine(engine) if engine else None
    except (ImportError, BroadcasterError):  # not installed here any more: the bare names
        built = None
    return speaker(built, engine, voice or "")


@bp.get("/audio/<sha>.mp3")
@signed_in(*READERS)
def audio(sha: str):
    """A rendered asset by its content address, when the user's scope may hear it."""
    if not AUDIO_SHA.fullmatch(sha):
        abort(404)
    if not asset_visible(db(), sha, scope_path()):
        abort(404)  # unknown, or another scope's: the same answer, so nothing is learnt
    return send_asset(sha)
