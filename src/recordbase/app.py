"""The composition root: `create_app(settings)` builds every service and the ASGI app; no globals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from recordbase.api.routes import routes
from recordbase.auth.tokens import TokenService
from recordbase.core.catalog import SchemaService
from recordbase.core.records import Limits, RecordService
from recordbase.core.schema_cache import SchemaCache
from recordbase.services import Services
from recordbase.settings import Settings
from recordbase.storage.catalog import SCHEMA_CHANNEL, CatalogStore
from recordbase.storage.database import open_database
from recordbase.storage.migrate import migrate
from recordbase.storage.principals import PrincipalStore
from recordbase.storage.records import RecordStore
from recordbase.storage.schema_store import CatalogSchemaStore


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """Migrate, connect, load the schema and start listening for changes; close everything on exit."""
    await migrate(settings)
    database = await open_database(settings)
    try:
        catalog = CatalogStore(database)
        schemas = SchemaCache(CatalogSchemaStore(database, catalog))
        await schemas.reload()
        await database.listen(SCHEMA_CHANNEL, schemas.invalidate)
        limits = Limits(settings.list_limit_default, settings.list_limit_max, settings.batch_limit)
        yield Services(
            settings=settings,
            database=database,
            schemas=schemas,
            schema_service=SchemaService(CatalogSchemaStore(database, catalog), schemas),
            records=RecordService(schemas, RecordStore(database, catalog), limits),
            tokens=TokenService(PrincipalStore(database)),
        )
    finally:
        await database.close()


def create_app(settings: Settings) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_services(settings) as services:
            app.state.services = services
            yield

    return Starlette(routes=routes(), lifespan=lifespan)


def app_from_environment() -> Starlette:
    """Factory for `uvicorn --factory` (several workers): settings come from the environment."""
    return create_app(Settings())
