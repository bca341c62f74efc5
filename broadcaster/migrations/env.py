"""Alembic environment: runs against the engine the application hands over."""

from alembic import context

from broadcaster.db import make_engine
from broadcaster.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:  # plain `alembic` command line, e.g. for autogenerate
        from broadcaster.config import load_settings

        engine = make_engine(load_settings().database_url)
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


run_migrations_online()
