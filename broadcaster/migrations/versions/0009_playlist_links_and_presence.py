"""station tokens: a use count, for playlist links; station_presence: who holds a long-poll

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

Playlist links live in ``station_tokens`` beside the header tokens (the prefix
tells them apart); every use of a link is counted here.

``station_presence`` keeps, per station, when a server process last saw it holding
an emergency long-poll (written by each process every few seconds for all its
waiting stations): "connected now", beside the heartbeat-based health.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("station_tokens") as batch:
        batch.add_column(sa.Column("uses", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "station_presence",
        sa.Column("station_id", sa.Integer(), sa.ForeignKey("stations.id"), primary_key=True),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("station_presence")
    with op.batch_alter_table("station_tokens") as batch:
        batch.drop_column("uses")
