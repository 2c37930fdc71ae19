"""Alembic environment: runs on the connection the caller hands over (``aims db upgrade``,
``aims init`` and the tests), or on ``sqlalchemy.url`` from the Alembic config."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from aims_workflows.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError(
            "no database to migrate: pass a connection in the Alembic config's attributes "
            "or set sqlalchemy.url"
        )
    engine = create_engine(url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations()
