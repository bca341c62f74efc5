"""ORM models (SQLAlchemy 2.0, typed). Rows stay in the data layer.

Vietnamese terms: ``AdminUnit`` đơn vị hành chính, ``Station`` đài truyền
thanh, ``Script`` tin bài / kịch bản, ``AuditEvent`` nhật ký thao tác.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    Time,
    Unicode,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from broadcaster.db import UTCDateTime, utcnow


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: ClassVar = {datetime: UTCDateTime()}


def _str_enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


class Role(enum.StrEnum):
    """What a user may do; always limited to the user's scope."""

    ADMIN = "admin"  # quản trị
    EDITOR = "editor"  # công chức Văn hóa - Xã hội
    APPROVER = "approver"  # lãnh đạo / Phòng Văn hóa - Thông tin
    OPERATOR = "operator"  # cán bộ đài truyền thanh xã
    AUDITOR = "auditor"  # kiểm tra, thi đua


class VersionStatus(enum.StrEnum):
    DRAFT = "draft"  # bản nháp
    SUBMITTED = "submitted"  # đã trình duyệt
    APPROVED = "approved"  # đã duyệt
    REJECTED = "rejected"  # bị từ chối


class AdminUnit(Base):
    """An administrative unit (đơn vị hành chính): a node of the unit tree.

    ``path`` is the materialised path of codes from the root (``/42/18754/``),
    so "every unit below X" is one indexed prefix query.
    """

    __tablename__ = "admin_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))  # tỉnh, thành phố trung ương, xã, phường…
    level: Mapped[int] = mapped_column(SmallInteger)  # 1 province, 2 commune, 3 …
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"), index=True)
    path: Mapped[str] = mapped_column(String(255), index=True)
    codename: Mapped[str] = mapped_column(String(120))
    name_folded: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    parent: Mapped[AdminUnit | None] = relationship(remote_side=[id])

    def contains(self, other: AdminUnit) -> bool:
        return other.path.startswith(self.path)


class Station(Base):
    """A commune radio station (đài truyền thanh), one per commune by default."""

    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # the voice its listeners hear, "engine:voice" (wins over the campaign's); None: default
    voice: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    unit: Mapped[AdminUnit] = relationship()
    windows: Mapped[list[StationWindow]] = relationship(
        back_populates="station",
        cascade="all, delete-orphan",
        order_by="StationWindow.starts_at",
    )


class StationWindow(Base):
    """A daily broadcast window (khung giờ phát), in the instance's local time."""

    __tablename__ = "station_windows"
    __table_args__ = (
        UniqueConstraint("station_id", "starts_at"),
        CheckConstraint("starts_at < ends_at", name="window_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    starts_at: Mapped[time] = mapped_column(Time)
    ends_at: Mapped[time] = mapped_column(Time)

    station: Mapped[Station] = relationship(back_populates="windows")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_str_enum(Role, "role"))
    # None means the whole country; otherwise the subtree below this unit.
    scope_unit_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    scope_unit: Mapped[AdminUnit | None] = relationship()


class WebSession(Base):
    """A signed-in admin session, held on the server so that it can end.

    The browser's signed cookie carries a random key whose SHA-256 is ``key_sha256``; a
    session is valid while it has no ``ended_at`` and is neither idle nor too old.
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    # signed_out | password | locked | idle | expired
    end_reason: Mapped[str | None] = mapped_column(String(16), default=None)
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")


class Script(Base):
    """An announcement script (tin bài / kịch bản) and its review history.

    Content lives in immutable :class:`ScriptVersion` rows; ``approved_version``
    is what airs, and stays so while a newer version waits for review.
    """

    __tablename__ = "scripts"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    # The unit whose approvers review it; None for a nation-wide script.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"), index=True)
    approved_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("script_versions.id", use_alter=True)
    )
    archived_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    unit: Mapped[AdminUnit | None] = relationship()
    versions: Mapped[list[ScriptVersion]] = relationship(
        back_populates="script",
        order_by="ScriptVersion.number",
        foreign_keys="ScriptVersion.script_id",
    )
    approved_version: Mapped[ScriptVersion | None] = relationship(
        foreign_keys=[approved_version_id], post_update=True
    )

    @property
    def latest(self) -> ScriptVersion:
        return self.versions[-1]


class ScriptVersion(Base):
    """One immutable text of a script, with its own review state."""

    __tablename__ = "script_versions"
    __table_args__ = (UniqueConstraint("script_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    script_id: Mapped[int] = mapped_column(ForeignKey("scripts.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    placeholders: Mapped[list[str]] = mapped_column(JSON, default=list)
    campaign: Mapped[str | None] = mapped_column(String(300))
    content_sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[VersionStatus] = mapped_column(
        _str_enum(VersionStatus, "version_status"), default=VersionStatus.DRAFT
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    review_reason: Mapped[str | None] = mapped_column(Text)
    # A recording (bản ghi âm) read by a person, instead of or beside the text (then a
    # transcript): the uploaded bytes are kept under ``recording_path`` (relative to the
    # audio folder), addressed by their sha256; ``recording_info`` holds what was measured
    # of them and the warnings shown to the editor and the approver.
    recording_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    recording_path: Mapped[str | None] = mapped_column(String(255))
    recording_info: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    script: Mapped[Script] = relationship(back_populates="versions", foreign_keys=[script_id])
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])


IMMUTABLE_VERSION_FIELDS = (
    "script_id",
    "number",
    "title",
    "body",
    "tags",
    "placeholders",
    "recording_sha256",
    "recording_path",
)


@event.listens_for(ScriptVersion, "before_update")
def _refuse_content_change(_mapper, _connection, target: ScriptVersion) -> None:
    state = inspect(target)
    for name in IMMUTABLE_VERSION_FIELDS:
        if state.attrs[name].history.has_changes():
            raise ValueError(f"ScriptVersion.{name} is immutable; add a new version instead")


class AuditEvent(Base):
    """One recorded change: who, when, what, before and after."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    # the client's address for an action taken in the admin; None for the CLI and scheduler
    address: Mapped[str | None] = mapped_column(String(64), default=None)


class Installation(Base):
    """This installation's identity (one row, made by migration 0015): a backup names it,
    and a restore refuses a backup of another installation."""

    __tablename__ = "installation"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AudioAsset(Base):
    """One rendered, broadcast-ready audio file, addressed by the sha256 of what made it.

    The key covers the normalised text, the engine actually used, voice, speed,
    mastering settings, tags and the format version, so the same content is
    one file however many stations and slots use it.
    """

    __tablename__ = "audio_assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(255))  # relative to the audio folder
    engine: Mapped[str] = mapped_column(String(32))  # the engine that actually spoke
    requested_engine: Mapped[str] = mapped_column(String(32))
    voice: Mapped[str] = mapped_column(String(64))
    speed: Mapped[float]
    text: Mapped[str] = mapped_column(Text)  # the normalised, spoken form
    title: Mapped[str] = mapped_column(String(300))
    station_code: Mapped[str | None] = mapped_column(String(32))  # when personalised
    duration_ms: Mapped[int] = mapped_column(Integer)
    loudness_lufs: Mapped[float]
    true_peak_db: Mapped[float]
    size_bytes: Mapped[int] = mapped_column(Integer)
    bitrate_kbps: Mapped[int] = mapped_column(SmallInteger)
    sample_rate: Mapped[int] = mapped_column(Integer)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    format_version: Mapped[int] = mapped_column(SmallInteger)
    # sha256 of the file's bytes: what stations download and check (``sha256`` is the key
    # of what made the file). Filled when recorded; older rows get it at first use.
    file_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Priority(enum.StrEnum):
    """Campaign bulletin levels: thông thường (in schedule), ưu tiên (first).

    The third level, khẩn cấp, is not a campaign: see :class:`Emergency`.
    """

    NORMAL = "normal"  # thông thường
    PRIORITY = "priority"  # ưu tiên


class CampaignStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class SlotStatus(enum.StrEnum):
    PLANNED = "planned"  # in a window, waiting for its time
    UNPLACED = "unplaced"  # no room left in any allowed window that week: reported
    AIRED = "aired"  # set when a station reports it (station protocol)
    MISSED = "missed"  # its window closed with no airing (watchdog)
    CANCELLED = "cancelled"  # the campaign was paused, edited or ended before it aired


class CampaignKind(enum.StrEnum):
    ANNOUNCEMENT = "announcement"  # tin bài: synthesised or recorded script versions
    RELAY = "relay"  # tiếp âm: a live stream at a fixed time and length


class RelaySource(Base):
    """A live stream a station relays (nguồn tiếp âm): VOV1, the provincial radio.

    Only sources an admin configured here are ever opened, by the server's checks or by
    the agents. ``backup_url`` is another stream, ``backup_script_id`` a recorded script
    whose approved version plays when both streams are down. The last check's result is
    kept on the row for the dashboard.
    """

    __tablename__ = "relay_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(String(1000))
    backup_url: Mapped[str | None] = mapped_column(String(1000))
    backup_script_id: Mapped[int | None] = mapped_column(ForeignKey("scripts.id"))
    # the unit whose admins manage it; None for a nation-wide source (VOV1)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    checked_at: Mapped[datetime | None]
    check_ok: Mapped[bool | None]
    check_detail: Mapped[str | None] = mapped_column(String(300))
    # when the checks began to fail (kept while they keep failing; None when the last passed)
    failing_since: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    unit: Mapped[AdminUnit | None] = relationship()
    backup_script: Mapped[Script | None] = relationship()


class Campaign(Base):
    """A propaganda campaign (chiến dịch tuyên truyền): what airs, how often, where, when.

    Cadence is either ``times_per_week`` on allowed ``weekdays`` (0 = Monday) in a
    ``preferred`` window, or an explicit weekly ``pattern`` of [weekday, "HH:MM"].
    A relay campaign (``kind`` relay) airs its ``relay_source`` from ``relay_start``
    for ``relay_minutes`` on each of its ``weekdays``, and has no scripts.
    """

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[CampaignKind] = mapped_column(
        _str_enum(CampaignKind, "campaign_kind"),
        default=CampaignKind.ANNOUNCEMENT,
        server_default=CampaignKind.ANNOUNCEMENT.value,
    )
    relay_source_id: Mapped[int | None] = mapped_column(ForeignKey("relay_sources.id"), index=True)
    relay_start: Mapped[time | None] = mapped_column(Time)
    relay_minutes: Mapped[int | None] = mapped_column(SmallInteger)
    priority: Mapped[Priority] = mapped_column(_str_enum(Priority, "priority"))
    status: Mapped[CampaignStatus] = mapped_column(
        _str_enum(CampaignStatus, "campaign_status"), default=CampaignStatus.ACTIVE
    )
    times_per_week: Mapped[int | None] = mapped_column(SmallInteger)
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=list)
    preferred: Mapped[str] = mapped_column(String(16), default="any")  # morning|evening|any
    pattern: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    voice: Mapped[str | None] = mapped_column(String(100))  # "engine:voice"; None: default
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    scripts: Mapped[list[CampaignScript]] = relationship(
        cascade="all, delete-orphan", order_by="CampaignScript.position"
    )
    targets: Mapped[list[CampaignTarget]] = relationship(cascade="all, delete-orphan")
    relay_source: Mapped[RelaySource | None] = relationship()


class CampaignScript(Base):
    """A script a campaign airs; several rotate in ``position`` order."""

    __tablename__ = "campaign_scripts"
    __table_args__ = (UniqueConstraint("campaign_id", "script_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    script_id: Mapped[int] = mapped_column(ForeignKey("scripts.id"))
    position: Mapped[int] = mapped_column(SmallInteger)

    script: Mapped[Script] = relationship()


class CampaignTarget(Base):
    """A unit whose every active station (the whole subtree) carries the campaign."""

    __tablename__ = "campaign_targets"
    __table_args__ = (UniqueConstraint("campaign_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"))

    unit: Mapped[AdminUnit] = relationship()


class StationQuietDay(Base):
    """A day a station does not broadcast (ngày nghỉ phát): nothing is planned there."""

    __tablename__ = "station_quiet_days"
    __table_args__ = (UniqueConstraint("station_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)


class Slot(Base):
    """One planned airing (lịch phát) of a campaign at a station.

    ``occurrence`` names which airing of the campaign this is (``2026-W48#2`` for
    the second of a week, ``2026-W48@2-0600`` for a pattern entry), so planning
    again finds the same row instead of adding one.
    """

    __tablename__ = "slots"
    __table_args__ = (
        UniqueConstraint("station_id", "campaign_id", "occurrence"),
        Index("ix_slots_station_start", "station_id", "planned_start"),
        Index("ix_slots_status_end", "status", "window_end"),
        # what the dashboard's count of a few days reads (migration 0008)
        Index(
            "ix_slots_start_week",
            "planned_start",
            "week",
            "station_id",
            "campaign_id",
            "status",
            "window_end",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    # Exactly one of campaign and emergency: the planner owns campaign slots only.
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    emergency_id: Mapped[int | None] = mapped_column(ForeignKey("emergencies.id"), index=True)
    occurrence: Mapped[str] = mapped_column(String(32))
    # None for a relay slot, which carries its ``relay_source_id`` instead
    script_version_id: Mapped[int | None] = mapped_column(ForeignKey("script_versions.id"))
    relay_source_id: Mapped[int | None] = mapped_column(ForeignKey("relay_sources.id"))
    audio_asset_id: Mapped[int | None] = mapped_column(ForeignKey("audio_assets.id"), index=True)
    week: Mapped[str] = mapped_column(String(8), index=True)  # ISO week, e.g. 2026-W48
    planned_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    position: Mapped[int] = mapped_column(SmallInteger, default=0)
    duration_ms: Mapped[int] = mapped_column(Integer)
    status: Mapped[SlotStatus] = mapped_column(
        _str_enum(SlotStatus, "slot_status"), default=SlotStatus.PLANNED
    )
    note: Mapped[str | None] = mapped_column(String(300))
    # When the station first pulled a playlist holding it (tracked for emergencies).
    picked_up_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PlanState(Base):
    """What the last full plan was computed from (a digest of all its inputs).

    The hourly plan finds the same digest when nothing changed, and stops there.
    """

    __tablename__ = "plan_state"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    planned_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class JobRun(Base):
    """One execution of a scheduler job: which process ran it, when, and how it went."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    host: Mapped[str] = mapped_column(String(120))
    pid: Mapped[int] = mapped_column(Integer)
    ok: Mapped[bool | None]
    detail: Mapped[str | None] = mapped_column(Text)


class StationToken(Base):
    """A station's pull token (mã truy cập). Only its sha256 is kept; shown once."""

    __tablename__ = "station_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # to tell tokens apart in lists
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    uses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # links' uses


class StationStatus(Base):
    """What a station's agent last said of itself (heartbeat)."""

    __tablename__ = "station_status"

    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), primary_key=True)
    last_seen_at: Mapped[datetime]
    agent_version: Mapped[str | None] = mapped_column(String(64))
    free_disk_bytes: Mapped[int | None] = mapped_column(BigInteger)
    last_sync_at: Mapped[datetime | None]
    player_state: Mapped[str | None] = mapped_column(String(32))
    clock_drift_s: Mapped[float | None]
    spool_pending: Mapped[int | None] = mapped_column(Integer)
    remote_addr: Mapped[str | None] = mapped_column(String(64))


class StationPresence(Base):
    """When a server process last saw the station holding an emergency long-poll."""

    __tablename__ = "station_presence"

    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), primary_key=True)
    connected_at: Mapped[datetime]


class Emergency(Base):
    """An emergency item (tin khẩn cấp): played at once, interrupting the schedule.

    Sent by an approver to a set of units; one slot per station carries it.
    """

    __tablename__ = "emergencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    script_version_id: Mapped[int] = mapped_column(ForeignKey("script_versions.id"))
    repeat: Mapped[int] = mapped_column(SmallInteger, default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]

    targets: Mapped[list[EmergencyTarget]] = relationship(cascade="all, delete-orphan")


class EmergencyTarget(Base):
    __tablename__ = "emergency_targets"
    __table_args__ = (UniqueConstraint("emergency_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    emergency_id: Mapped[int] = mapped_column(ForeignKey("emergencies.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"))

    unit: Mapped[AdminUnit] = relationship()


class AiringStatus(enum.StrEnum):
    AIRED = "aired"  # đã phát trọn
    PARTIAL = "partial"  # phát không trọn (bị ngắt)
    FAILED = "failed"  # không phát được (lỗi máy, mất điện)
    SKIPPED = "skipped"  # bỏ qua có chủ ý


class Airing(Base):
    """One as-run record (nhật ký phát): append-only, never purged, hash-chained per station.

    ``prev_hash`` is the previous row's ``row_hash`` at the same station (64 zeros
    for the first); ``row_hash`` is sha256 over ``prev_hash`` and this row's
    canonical content (:mod:`broadcaster.services.chain`). Rows keep their own
    copies of what they refer to, so no later change elsewhere alters the record.
    """

    __tablename__ = "airings"
    __table_args__ = (
        UniqueConstraint("station_id", "seq"),
        Index("ix_airings_station_started", "station_id", "started_at"),
        # by slot, with what a compliance count reads: the count never visits the table
        Index(
            "ix_airings_slot_outcome",
            "slot_id",
            "status",
            "source",
            "started_at",
            "ended_at",
            "received_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    seq: Mapped[int] = mapped_column(Integer)
    report_id: Mapped[str] = mapped_column(String(36), unique=True)  # the client's UUID
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id"))
    campaign_id: Mapped[int | None] = mapped_column(Integer, index=True)
    emergency_id: Mapped[int | None] = mapped_column(Integer)
    script_version_id: Mapped[int | None] = mapped_column(Integer)  # None for a relay
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    status: Mapped[AiringStatus] = mapped_column(_str_enum(AiringStatus, "airing_status"))
    audio_sha256: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(8))  # agent | manual
    note: Mapped[str | None] = mapped_column(Text)
    confirmed_by_id: Mapped[int | None] = mapped_column(Integer)
    confirmed_by: Mapped[str | None] = mapped_column(String(120))
    # a relay's report: the seconds actually relayed and the source used
    # (main | backup | file); None for every other airing
    relay_source_id: Mapped[int | None] = mapped_column(Integer)
    relayed_s: Mapped[int | None] = mapped_column(Integer)
    relay_used: Mapped[str | None] = mapped_column(String(8))
    received_at: Mapped[datetime]
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class AiringChainHead(Base):
    """The last link of a station's airing chain; appends lock this row."""

    __tablename__ = "airing_chain_heads"

    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ComplianceReport(Base):
    """A stored compliance report (báo cáo đã lưu): immutable, stamped with the chain heads.

    ``body`` is the report's JSON exactly as generated; ``body_sha256`` its digest.
    The body's ``stamp`` holds every airing chain head of the scope at generation
    time, so the airing rows behind the figures can be proven unchanged later.
    Scheduled reports carry a ``schedule_key`` (kind:period:cut-off:unit), which
    makes a re-run of the job store nothing twice.
    """

    __tablename__ = "compliance_reports"
    __table_args__ = (
        Index("ix_compliance_reports_scope", "unit_code", "period_from"),
        Index("uq_compliance_reports_chain_seq", "chain_seq", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_kind: Mapped[str] = mapped_column(String(16))
    period_key: Mapped[str] = mapped_column(String(32))
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    cutoff_day: Mapped[int] = mapped_column(SmallInteger)
    unit_code: Mapped[str | None] = mapped_column(String(16))  # None: the whole country
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    generated_at: Mapped[datetime]
    generated_by: Mapped[str] = mapped_column(String(120))
    schedule_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    stations: Mapped[int] = mapped_column(Integer)
    compliance_pct: Mapped[float | None]
    heads_sha256: Mapped[str] = mapped_column(String(64))
    body_sha256: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    # its place in the stored reports' chain (reports/seal.py); set at insert, never after
    chain_seq: Mapped[int | None] = mapped_column(Integer)
    prev_sha256: Mapped[str | None] = mapped_column(String(64))
    chain_sha256: Mapped[str | None] = mapped_column(String(64))


class ReportChainHead(Base):
    """The stored reports' chain head (one row), signed with a key kept outside the database."""

    __tablename__ = "report_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    chain_sha256: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class ReportFiling(Base):
    """A unit's stored report filed (nộp) to the unit above for a period: append-only.

    A later report of the same unit and period is filed as the next ``version``; every
    version stays. ``on_time`` says whether it was filed by ``deadline`` (local date).
    """

    __tablename__ = "report_filings"
    __table_args__ = (
        UniqueConstraint(
            "unit_code",
            "period_kind",
            "period_key",
            "cutoff_day",
            "version",
            name="uq_report_filings_unit_code",
        ),
        Index("ix_report_filings_parent", "parent_code", "period_kind", "period_key", "cutoff_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("compliance_reports.id"), unique=True)
    unit_code: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(String(16))  # None: filed to the country
    period_kind: Mapped[str] = mapped_column(String(16))
    period_key: Mapped[str] = mapped_column(String(32))
    cutoff_day: Mapped[int] = mapped_column(SmallInteger)
    version: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[date] = mapped_column(Date)
    filed_at: Mapped[datetime]
    filed_by: Mapped[str] = mapped_column(String(120))
    on_time: Mapped[bool]
    body_sha256: Mapped[str] = mapped_column(String(64))


class ReportDocumentDefaults(Base):
    """A unit's remembered document fields (issuer, symbol, place, signer, recipients) as
    JSON text; ``unit_code`` "VN" for the country."""

    __tablename__ = "report_document_defaults"

    unit_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    fields: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# APScheduler's job store table, created by our migrations so the schema has one
# owner; the job store finds it there (its columns must stay as APScheduler 3 has them).
apscheduler_jobs = Table(
    "apscheduler_jobs",
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
