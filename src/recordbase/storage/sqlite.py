"""SQLite backend: one writer connection behind a lock, a few reader connections, WAL mode.

SQLite allows one writer at a time; serialising writes in-process (as Datasette does)
turns lock contention into a queue, and `BEGIN IMMEDIATE` with a busy timeout covers
other processes on the same file.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

from recordbase.settings import Settings
from recordbase.storage.database import Row, Statement, bind_many
from recordbase.storage.errors import ForeignKeyViolation, UndefinedObject, UniqueViolation
from recordbase.storage.sql import Prepared, prepare

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
)
UNIQUE_FAILED = re.compile(r"UNIQUE constraint failed: ([^ ,]+)")
READERS = 4


class SQLiteConnection:
    """Runs prepared statements on one aiosqlite connection, translating driver errors."""

    def __init__(self, raw: aiosqlite.Connection, database: SQLiteDatabase) -> None:
        self.raw = raw
        self.database = database
        self._savepoints = 0

    async def fetch(self, statement: Statement, params: Mapping[str, Any] | None = None) -> list[Row]:
        sql, args = self.database.bind(statement, params)
        with translate_errors():
            return list(await self.raw.execute_fetchall(sql, args))

    async def execute(self, statement: Statement, params: Mapping[str, Any] | None = None) -> int:
        sql, args = self.database.bind(statement, params)
        with translate_errors():
            cursor = await self.raw.execute(sql, args)
            return cursor.rowcount

    async def execute_many(self, statement: Statement, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        prepared = statement if isinstance(statement, Prepared) else self.database.prepare(statement)
        args = bind_many(prepared, rows)
        with translate_errors():
            await self.raw.executemany(prepared.sql, args)

    async def execute_ddl(self, sql: str) -> None:
        with translate_errors():
            await self.raw.execute(sql)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        self._savepoints += 1
        name = f"sp_{self._savepoints}"
        await self.raw.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            await self.raw.execute(f"ROLLBACK TO {name}")
            await self.raw.execute(f"RELEASE {name}")
            raise
        await self.raw.execute(f"RELEASE {name}")


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn sqlite3's errors into storage errors that say what went wrong."""
    try:
        yield
    except sqlite3.IntegrityError as error:
        text = str(error)
        unique = UNIQUE_FAILED.search(text)
        if unique:
            raise UniqueViolation(unique.group(1)) from error
        if "FOREIGN KEY" in text:
            raise ForeignKeyViolation(text) from error
        raise
    except sqlite3.OperationalError as error:
        if "no such" in str(error) or "has no column" in str(error):
            raise UndefinedObject(str(error)) from error
        raise


class SQLiteDatabase:
    name = "sqlite"
    dialect: Dialect = sqlite_dialect.dialect(paramstyle="qmark")

    def __init__(self, path: Path, writer: aiosqlite.Connection, readers: list[aiosqlite.Connection]) -> None:
        self.path = path
        self._writer = writer
        self._write_lock = asyncio.Lock()
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        for reader in readers:
            self._readers.put_nowait(reader)
        self._all = [writer, *readers]

    @classmethod
    async def open(cls, settings: Settings) -> SQLiteDatabase:
        path = Path(settings.resolved_database_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(path)
        readers = [await _connect(path) for _ in range(READERS)]
        return cls(path, writer, readers)

    def prepare(self, statement: ClauseElement) -> Prepared:
        return prepare(statement, self.dialect)

    def bind(self, statement: Statement, params: Mapping[str, Any] | None) -> tuple[str, tuple[Any, ...]]:
        prepared = statement if isinstance(statement, Prepared) else self.prepare(statement)
        return prepared.bind(params)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[SQLiteConnection]:
        raw = await self._readers.get()
        try:
            yield SQLiteConnection(raw, self)
        finally:
            self._readers.put_nowait(raw)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SQLiteConnection]:
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield SQLiteConnection(self._writer, self)
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            await self._writer.execute("COMMIT")

    async def listen(self, channel: str, callback: Callable[[], None]) -> None:
        """SQLite has no notifications; other processes are caught by the schema version check."""

    async def notify(self, connection: Any, channel: str) -> None:
        """See `listen`."""

    async def close(self) -> None:
        for raw in self._all:
            await raw.close()


async def _connect(path: Path) -> aiosqlite.Connection:
    raw = await aiosqlite.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        await raw.execute(pragma)
    return raw
