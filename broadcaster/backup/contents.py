"""What a backup says about the database it holds, read on one connection.

The same functions read the live database (under the dump's snapshot) when a backup is
taken, and the restored copy when it is checked, so "the same rows" means the same
query on both sides.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, inspect, select, text

from broadcaster.models import AudioAsset, Installation, ScriptVersion

# The tables whose row counts the manifest carries (and a restore compares); a database
# with rows in none of them is "empty" (a fresh install, perhaps migrated, nothing else).
KEY_TABLES = (
    "admin_units",
    "stations",
    "users",
    "scripts",
    "script_versions",
    "campaigns",
    "slots",
    "airings",
    "airing_chain_heads",
    "audio_assets",
    "emergencies",
    "compliance_reports",
    "report_filings",
    "audit_events",
)
AUDIO_MANIFEST_VERSION = 1


def row_counts(conn: Connection) -> dict[str, int]:
    present = set(inspect(conn).get_table_names())
    return {
        table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        for table in KEY_TABLES
        if table in present
    }


def is_empty(conn: Connection) -> bool:
    return not any(row_counts(conn).values())


def installation_id(conn: Connection) -> str | None:
    if not inspect(conn).has_table("installation"):
        return None
    return conn.execute(select(Installation.id).order_by(Installation.created_at)).scalar()


def schema_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _file(audio_dir: Path, relative: str) -> tuple[bool, int | None]:
    try:
        stat = (audio_dir / relative).stat()
    except (OSError, ValueError):
        return False, None
    return True, stat.st_size


def audio_manifest(conn: Connection, audio_dir: Path) -> dict:
    """The audio files the database knows: rendered assets and uploaded recordings.

    ``sha256`` is what the file's bytes must hash to (from the database; not computed
    here: the audio folder is copied by its own means, this list is what to check it by).
    ``present`` and ``bytes_on_disk`` are what this host's audio folder holds now.
    """
    assets = []
    for row in conn.execute(
        select(
            AudioAsset.path, AudioAsset.sha256, AudioAsset.file_sha256, AudioAsset.size_bytes
        ).order_by(AudioAsset.id)
    ):
        present, on_disk = _file(audio_dir, row.path)
        assets.append(
            {
                "path": row.path,
                "key": row.sha256,
                "sha256": row.file_sha256,
                "bytes": row.size_bytes,
                "present": present,
                "bytes_on_disk": on_disk,
            }
        )
    recordings = []
    for row in conn.execute(
        select(ScriptVersion.recording_path, ScriptVersion.recording_sha256)
        .where(ScriptVersion.recording_path.is_not(None))
        .order_by(ScriptVersion.id)
    ):
        present, on_disk = _file(audio_dir, row.recording_path)
        recordings.append(
            {
                "path": row.recording_path,
                "sha256": row.recording_sha256,
                "present": present,
                "bytes_on_disk": on_disk,
            }
        )
    return {
        "version": AUDIO_MANIFEST_VERSION,
        "audio_dir": str(audio_dir),
        "assets": assets,
        "recordings": recordings,
        "missing": sum(not f["present"] for f in assets + recordings),
    }
