"""deployment: the client's address on audit events, and this installation's identity

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

``audit_events.address`` is the address an admin action came from (the client's own
behind trusted proxies); NULL for the CLI and the scheduler and for older rows.

``installation`` holds one row, made here with a random id: a backup names the
installation it was taken of, and a restore into a database of another installation
is refused.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("address", sa.String(length=64), nullable=True))
    installation = op.create_table(
        "installation",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    now = datetime.now(UTC)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # stored as naive UTC there (db.UTCDateTime)
    op.bulk_insert(installation, [{"id": str(uuid.uuid4()), "created_at": now}])


def downgrade() -> None:
    op.drop_table("installation")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("address")
