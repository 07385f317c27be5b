"""The services one running app holds; built by app.py, reached by handlers through `app.state`."""

from __future__ import annotations

from dataclasses import dataclass

from recordbase.auth.directory import Directory
from recordbase.auth.service import AuthService
from recordbase.auth.tokens import TokenService
from recordbase.core.catalog import SchemaService
from recordbase.core.files import FileService
from recordbase.core.query.service import QueryService
from recordbase.core.records import RecordService
from recordbase.core.schema_cache import SchemaCache
from recordbase.core.webhook_service import WebhookService
from recordbase.delivery import EventWorker
from recordbase.settings import Settings
from recordbase.storage.database import Database
from recordbase.storage.timed import ping


@dataclass(frozen=True)
class Services:
    settings: Settings
    database: Database
    schemas: SchemaCache
    schema_service: SchemaService
    records: RecordService
    tokens: TokenService
    auth: AuthService
    directory: Directory
    files: FileService
    query: QueryService
    webhooks: WebhookService
    events: EventWorker

    async def ping_database(self) -> None:
        """One trivial query; raises when the database cannot be reached (readiness)."""
        await ping(self.database)
