"""Alembic environment: runs against the engine the application hands over."""

from alembic import context
from sqlalchemy import text

from broadcaster.db import make_engine
from broadcaster.models import Base

config = context.config
target_metadata = Base.metadata
# Web replicas and the scheduler may start at the same moment on PostgreSQL:
# this advisory lock lets one of them migrate while the others wait.
MIGRATION_LOCK_KEY = 0x62726F6164  # "broad"


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:  # plain `alembic` command line, e.g. for autogenerate
        from broadcaster.config import load_settings

        engine = make_engine(load_settings().database_url)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


run_migrations_online()
