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
from recordbase.core.sql.service import SqlService
from recordbase.settings import Settings
from recordbase.storage.database import Database


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
    sql: SqlService
