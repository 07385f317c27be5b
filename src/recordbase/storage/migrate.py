"""Bring recordbase's own tables to the newest alembic revision, in-process."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from recordbase.local_files import prepare_local_files
from recordbase.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def _async_url(settings: Settings) -> str:
    url = settings.resolved_database_url
    if settings.is_postgres:
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url.replace("sqlite:///", "sqlite+aiosqlite:///", 1)


def _upgrade(connection: Connection, config: Config, schema: str | None) -> None:
    if schema is not None:
        # The schema name is a checked plain identifier (Settings); quoting keeps its case.
        connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(settings: Settings) -> None:
    """Apply every pending migration; safe to call from several processes at once.

    The data directory and SQLite file are created private first (recordbase.local_files)."""
    prepare_local_files(settings)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    connect_args = (
        {"server_settings": {"search_path": settings.database_schema}} if settings.is_postgres else {}
    )
    engine = create_async_engine(_async_url(settings), connect_args=connect_args)
    try:
        async with engine.begin() as connection:
            schema = settings.database_schema if settings.is_postgres else None
            await connection.run_sync(_upgrade, config, schema)
    finally:
        await engine.dispose()
