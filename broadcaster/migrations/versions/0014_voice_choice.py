"""voice choice: a campaign or a station may choose the voice its announcements are read in

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

``voice`` is ``engine:voice`` (``fptai:linhsan``, ``piper:vi_VN-vais1000-medium``) or
NULL for the engines' defaults; a station's choice wins over its campaign's (see
:mod:`broadcaster.audio.engine_order`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("campaigns", "stations"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("voice", sa.String(length=100), nullable=True))


def downgrade() -> None:
    for table in ("stations", "campaigns"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("voice")
