"""Alembic environment: the URL comes from the settings (or the caller's config)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import backend.tables  # noqa: F401  (registers every table)
from backend.config import get_settings
from backend.db import make_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    settings = get_settings()
    url = config.get_main_option("sqlalchemy.url") or settings.database_url
    engine = make_engine(settings.model_copy(update={"database_url": url}))
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            # SQLite changes a table's constraints by copying it to a new table and dropping the
            # old one (batch mode); that drop fails while other tables' foreign keys point at
            # it. The check is off for the migration only, outside its transaction (SQLite
            # ignores the pragma inside one), and checked once at the end instead.
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
            if conn.dialect.name == "sqlite":
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"Foreign keys broken by the migration: {broken[:5]}")
    engine.dispose()


run_migrations_online()
