"""station tokens: a use count, for playlist links (``bsl_`` tokens in a player's URL)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

Playlist links live in ``station_tokens`` beside the header tokens (the prefix
tells them apart); every use of a link is counted here.
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


def downgrade() -> None:
    with op.batch_alter_table("station_tokens") as batch:
        batch.drop_column("uses")
