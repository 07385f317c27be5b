"""The composition root: `create_app(settings)` builds every service and the ASGI app; no globals."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from recordbase.api.endpoint import ANSWERING_ERRORS
from recordbase.api.errors import UNAUTHENTICATED_TEXT
from recordbase.api.fallback import EXCEPTION_HANDLERS
from recordbase.api.observability import Metrics, ObservabilityMiddleware, RouteTemplates, configure_logging
from recordbase.api.router import DirectDispatch, IndexedRouter
from recordbase.api.routes import routes
from recordbase.auth.directory import Directory
from recordbase.auth.jwt_tokens import AccessTokens
from recordbase.auth.service import AuthService
from recordbase.auth.tokens import TokenService
from recordbase.console import console_routes
from recordbase.core.catalog import SchemaService
from recordbase.core.file_cleanup import with_record_cleanup, with_schema_cleanup
from recordbase.core.file_values import FileLimits
from recordbase.core.files import FileService
from recordbase.core.query import QueryLimits
from recordbase.core.query.service import QueryService
from recordbase.core.records import Limits, RecordService
from recordbase.core.schema_cache import SchemaCache
from recordbase.core.sql.service import SqlService
from recordbase.core.webhook_service import Payloads, WebhookService
from recordbase.delivery import EventMetrics, EventWorker, Wakeup, with_wakeup
from recordbase.files.factory import open_blob_store
from recordbase.services import Services
from recordbase.settings import Settings
from recordbase.storage.catalog import SCHEMA_CHANNEL, CatalogStore
from recordbase.storage.database import open_database
from recordbase.storage.identity import IdentityStore
from recordbase.storage.migrate import migrate
from recordbase.storage.principals import PrincipalStore, signing_key
from recordbase.storage.query_store import QueryStore
from recordbase.storage.records import RecordStore
from recordbase.storage.schema_store import CatalogSchemaStore
from recordbase.storage.sql_store import SqlStore
from recordbase.storage.timed import TimedDatabase, UsageCallback
from recordbase.storage.webhooks import WebhookStore


@asynccontextmanager
async def open_services(
    settings: Settings, on_db_usage: UsageCallback | None = None, registry: CollectorRegistry | None = None
) -> AsyncIterator[Services]:
    """Migrate, connect, load the schema and start listening for changes; close everything on exit.

    Every statement is timed (the `db` stage of `Server-Timing`); `on_db_usage` hears of each
    connection checkout (+1) and return (-1).
    """
    await migrate(settings)
    database = TimedDatabase(await open_database(settings), on_db_usage or _ignore)
    try:
        catalog = CatalogStore(database)
        schemas = SchemaCache(CatalogSchemaStore(database, catalog))
        await schemas.reload()
        await database.listen(SCHEMA_CHANNEL, schemas.invalidate)
        limits = Limits(settings.list_limit_default, settings.list_limit_max, settings.batch_limit)
        identity, principals = IdentityStore(database), PrincipalStore(database)
        await identity.watch()
        directory = Directory(database, identity, principals)
        await directory.ensure_builtin()
        access = AccessTokens(
            settings.secret_key or await signing_key(database), settings.access_token_lifetime
        )
        blobs, record_store, wakeup = open_blob_store(settings), RecordStore(database, catalog), Wakeup()
        poking = with_wakeup(record_store, wakeup)
        records = RecordService(schemas, with_record_cleanup(poking, blobs), limits)
        files = FileService(records, poking, blobs, file_limits(settings))
        query = QueryService(records, QueryStore(record_store), query_limits(settings))
        auth = AuthService(
            database, identity, principals, access, UNAUTHENTICATED_TEXT,
            timedelta(seconds=settings.refresh_token_lifetime),
        )  # fmt: skip
        webhook_store = WebhookStore(database)
        worker = EventWorker(
            settings, record_store.outbox, webhook_store, Payloads(query, auth.actor_for), wakeup,
            None if registry is None else EventMetrics(registry),
        )  # fmt: skip
        async with files.sweeping():
            yield Services(
                settings=settings,
                database=database,
                schemas=schemas,
                schema_service=SchemaService(
                    with_schema_cleanup(CatalogSchemaStore(database, catalog), blobs), schemas
                ),
                records=records,
                tokens=TokenService(principals),
                auth=auth,
                directory=directory,
                files=files,
                query=query,
                sql=SqlService(schemas, SqlStore(database), settings.sql_max_rows, settings.sql_timeout),
                webhooks=WebhookService(webhook_store, query, settings.webhook_private_targets),
                events=worker,
            )
    finally:
        await database.close()


def query_limits(settings: Settings) -> QueryLimits:
    return QueryLimits(default_limit=settings.list_limit_default, max_limit=settings.list_limit_max)


def file_limits(settings: Settings) -> FileLimits:
    second = timedelta(seconds=1)
    interval, grace = settings.files_sweep_interval * second, settings.files_sweep_grace * second
    return FileLimits(settings.files_max_bytes, interval, grace)


def _ignore(delta: int) -> None:
    """No one is counting connections (the CLI)."""


def create_app(settings: Settings, *, server: bool = False) -> Starlette:
    """The ASGI app; `server`: a process of `recordbase serve`, whose garbage collector is set for
    serving once everything is loaded (`settle_garbage_collector`)."""
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            async with (
                open_services(settings, metrics.db_usage, metrics.registry) as services,
                services.events.running(),
            ):
                app.state.services = services
                if server:
                    settle_garbage_collector()
                yield
        finally:
            metrics.close()

    table = routes()
    observe = Middleware(
        ObservabilityMiddleware,
        metrics=metrics,
        templates=RouteTemplates(table),
        access_log=settings.access_log,
    )
    router = IndexedRouter([*table, *console_routes()], lifespan=lifespan)
    direct = Middleware(DirectDispatch, router=router, endpoints=ANSWERING_ERRORS)
    app = Starlette(middleware=[observe, *cors(settings), direct], exception_handlers=EXCEPTION_HANDLERS)
    # Starlette takes its router as it is, so the indexed one (api/router.py) replaces the plain one.
    app.router = router
    app.state.metrics = metrics
    return app


GC_YOUNG_THRESHOLD = 50_000
"""Allocations between two collections of the youngest generation (Python's default: 700)."""


def settle_garbage_collector() -> None:
    """What start-up loaded (modules, routes, the schema) lives as long as the process: `gc.freeze`
    keeps it out of every later collection. A request allocates objects that die with it, so the
    youngest generation is collected every `GC_YOUNG_THRESHOLD` allocations rather than every 700.
    On PostgreSQL (asyncpg's objects per statement) a point read then costs 11-15 % less CPU;
    on SQLite it makes no difference (docs/benchmarks.md, "Speed per request")."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def cors(settings: Settings) -> list[Middleware]:
    """CORS for browser apps on the configured origins; no middleware at all when none is set."""
    origins = settings.cors_origin_list
    if not origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "X-UIPATH-TenantName",
                "X-UIPATH-OrganizationUnitId",
            ],
            expose_headers=["X-Request-Id", "Server-Timing", "Content-Disposition"],
            max_age=600,
        )
    ]


def app_from_environment() -> Starlette:
    """Factory for `uvicorn --factory` (several workers): settings come from the environment."""
    settings = Settings()
    configure_logging(settings)
    return create_app(settings, server=True)
