"""The backup file of relays (tệp dự phòng của tiếp âm), made ahead like other audio.

A relay source may name a backup script: its approved version (normally a recording)
plays when both the main and the backup stream are down. The render job masters it
once per source and attaches it to the source's relay slots airing in the next 48
hours (a relay slot's ``audio_asset_id`` is its backup file, never the stream), so the
playlist lists it in the item's ``relay`` block and a station downloads it with its
own token like any other audio. A changed backup (another script, a new approved
version) is attached anew at the next run; a removed one is detached.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from broadcaster import clock
from broadcaster.db import transaction, utcnow
from broadcaster.errors import BroadcasterError
from broadcaster.models import AudioAsset, RelaySource, Slot, SlotStatus
from broadcaster.services.audio import common_request, record_rendered
from broadcaster.services.playlist import RENDER_AHEAD

if TYPE_CHECKING:  # the audio pipeline pulls in numpy and scipy
    from broadcaster.audio.render import AudioRenderer

log = logging.getLogger(__name__)


@dataclass
class BackupsAttached:
    """What :func:`attach_backups` did: relay slots given (or relieved of) a backup file."""

    changed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (source name, reason)


def backup_asset(session: Session, renderer: AudioRenderer, source: RelaySource):
    """The mastered backup file of ``source`` (made now when missing), or None without one."""
    script = source.backup_script
    if script is None or script.archived_at is not None or script.approved_version is None:
        return None
    version = script.approved_version
    if version.recording_sha256:
        from broadcaster.services.recordings import recording_asset

        return recording_asset(session, renderer, version)
    result = renderer.render(common_request(version))
    return record_rendered(session, renderer, result)


def attach_backups(factory, renderer: AudioRenderer, now: datetime | None = None):
    """Give every planned relay slot of the next 48 hours its source's backup file."""
    now = now or clock.utcnow()
    with factory() as s:
        rows = s.execute(
            select(Slot.relay_source_id, RelaySource.name)
            .join(RelaySource, RelaySource.id == Slot.relay_source_id)
            .where(
                Slot.status == SlotStatus.PLANNED,
                Slot.relay_source_id.is_not(None),
                Slot.planned_start >= now,
                Slot.planned_start < now + RENDER_AHEAD,
            )
            .distinct()
        ).all()
    sources = {source_id: name for source_id, name in rows}
    done = BackupsAttached()
    for source_id, name in sorted(sources.items()):
        try:
            with transaction(factory) as s:
                source = s.get(RelaySource, source_id)
                asset: AudioAsset | None = backup_asset(s, renderer, source)
                wanted = asset.id if asset is not None else None
                done.changed += s.execute(
                    update(Slot)
                    .where(
                        Slot.relay_source_id == source_id,
                        Slot.status == SlotStatus.PLANNED,
                        Slot.planned_start >= now,
                        Slot.planned_start < now + RENDER_AHEAD,
                        Slot.audio_asset_id.is_distinct_from(wanted),
                    )
                    .values(audio_asset_id=wanted, updated_at=utcnow())
                ).rowcount
        except BroadcasterError as exc:
            done.failed.append((name, exc.message))
        except Exception as exc:  # retried at the next run; the other sources go on
            log.exception("the backup file of relay source %s failed", source_id)
            done.failed.append((name, type(exc).__name__))
    return done
