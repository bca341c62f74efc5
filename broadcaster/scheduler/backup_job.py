"""The scheduler's daily ``backup`` job: one backup file, then the retention.

Fired at ``backup_hour`` local time (BROADCASTER_BACKUP_HOUR, in the configured zone).
The run is recorded in ``job_runs`` by :func:`broadcaster.services.backups.run_recorded`
(job ``backup``; the same row ``broadcaster backup`` writes), which the admin's dashboard
reads; a failure is recorded there and logged, and tomorrow's run tries again.
"""

from __future__ import annotations

import logging

from broadcaster.config import load_settings
from broadcaster.scheduler.jobs import ARGS_VERSION

log = logging.getLogger(__name__)


def backup_job(v: int = ARGS_VERSION) -> None:
    """Take the daily backup into the backup folder and keep the newest ``backup_keep``."""
    if v != ARGS_VERSION:
        raise ValueError(f"job backup: unknown argument version {v} (this release knows 1)")
    from broadcaster.services.backups import run_recorded

    settings = load_settings()
    try:
        result = run_recorded(settings)
    except Exception:  # recorded in job_runs by run_recorded; retried tomorrow
        log.exception("job backup failed")
        return
    log.info("backup: %s (%d bytes, %.1f s)", result.path, result.size, result.seconds)
