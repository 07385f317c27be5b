"""SQLite backend: one writer connection behind a lock, a few reader connections, WAL mode.

SQLite allows one writer at a time; serialising writes in-process (as Datasette does)
turns lock contention into a queue, and `BEGIN IMMEDIATE` with a busy timeout covers
other processes on the same file.

Each connection has a thread of its own for statements that may take a while (lists, queries,
large batches, DDL); statements marked `point` (a few rows through a key) run on the event loop
itself, since handing a 10-microsecond statement to a thread and back costs more than running it.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

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
)
BUSY_TIMEOUT_MS = 10_000
UNIQUE_FAILED = re.compile(r"UNIQUE constraint failed: ([^ ,]+)")
READERS = 4
INLINE_ROWS = 16
"""A write of at most this many rows through a point statement runs on the event loop."""

T = TypeVar("T")


class Handle:
    """One sqlite3 connection and the thread that runs its slow statements (one at a time)."""

    def __init__(self, path: Path) -> None:
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recordbase-sqlite")
        self.raw = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        for pragma in PRAGMAS:
            self.raw.execute(pragma)

    async def off_loop(self, work: Callable[[], T]) -> T:
        future = asyncio.get_running_loop().run_in_executor(self.thread, work)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # The statement is still running in the thread: stop it, and hold on to the
            # connection until it has stopped, so that no one else uses it meanwhile.
            self.raw.interrupt()
            await asyncio.wait({future})
            if not future.cancelled():
                future.exception()  # the interruption's error: expected, and read so nobody reports it
            raise

    def fetch(self, sql: str, args: Sequence[Any]) -> list[Row]:
        return self.raw.execute(sql, args).fetchall()

    def execute(self, sql: str, args: Sequence[Any]) -> int:
        return self.raw.execute(sql, args).rowcount

    async def close(self) -> None:
        """Close on the connection's own thread, after the statement it may be running: closing
        under a running statement from another thread crashes the process."""
        await self.off_loop(self.raw.close)
        self.thread.shutdown(wait=False)


class SQLiteConnection:
    """Runs prepared statements on one connection, translating driver errors."""

    def __init__(self, handle: Handle, database: SQLiteDatabase) -> None:
        self.handle = handle
        self.database = database
        self._savepoints = 0

    async def fetch(self, statement: Statement, params: Mapping[str, Any] | None = None) -> list[Row]:
        prepared = self.database.prepared(statement)
        sql, args = prepared.bind(params)
        with translate_errors():
            if prepared.point:
                return self.handle.fetch(sql, args)
            return await self.handle.off_loop(partial(self.handle.fetch, sql, args))

    async def execute(self, statement: Statement, params: Mapping[str, Any] | None = None) -> int:
        prepared = self.database.prepared(statement)
        sql, args = prepared.bind(params)
        with translate_errors():
            if prepared.point:
                return self.handle.execute(sql, args)
            return await self.handle.off_loop(partial(self.handle.execute, sql, args))

    async def execute_many(self, statement: Statement, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        prepared = self.database.prepared(statement)
        args = bind_many(prepared, rows)
        with translate_errors():
            if prepared.point and len(args) <= INLINE_ROWS:
                self.handle.raw.executemany(prepared.sql, args)
            else:
                await self.handle.off_loop(partial(self.handle.raw.executemany, prepared.sql, args))

    async def execute_ddl(self, sql: str) -> None:
        with translate_errors():
            await self.handle.off_loop(partial(self.handle.raw.execute, sql))

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        self._savepoints += 1
        name = f"sp_{self._savepoints}"
        raw = self.handle.raw
        raw.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            raw.execute(f"ROLLBACK TO {name}")
            raw.execute(f"RELEASE {name}")
            raise
        raw.execute(f"RELEASE {name}")


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

    def __init__(self, path: Path, writer: Handle, readers: list[Handle]) -> None:
        self.path = path
        self._writer = writer
        self._write_lock = asyncio.Lock()
        self._readers: asyncio.Queue[Handle] = asyncio.Queue()
        for reader in readers:
            self._readers.put_nowait(reader)
        self._all = [writer, *readers]
        self._closed = False

    @classmethod
    async def open(cls, settings: Settings) -> SQLiteDatabase:
        path = Path(settings.resolved_database_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = Handle(path)
        readers = [Handle(path) for _ in range(READERS)]
        return cls(path, writer, readers)

    def prepare(self, statement: ClauseElement, *, point: bool = False) -> Prepared:
        return prepare(statement, self.dialect, point=point)

    def prepared(self, statement: Statement) -> Prepared:
        return statement if isinstance(statement, Prepared) else self.prepare(statement)

    def bind(self, statement: Statement, params: Mapping[str, Any] | None) -> tuple[str, tuple[Any, ...]]:
        return self.prepared(statement).bind(params)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[SQLiteConnection]:
        handle = await self._readers.get()
        try:
            yield SQLiteConnection(handle, self)
        finally:
            self._readers.put_nowait(handle)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SQLiteConnection]:
        async with self._write_lock:
            writer = self._writer
            await self._begin(writer)
            try:
                yield SQLiteConnection(writer, self)
            except BaseException:
                writer.raw.execute("ROLLBACK")
                raise
            writer.raw.execute("COMMIT")

    async def _begin(self, writer: Handle) -> None:
        """`BEGIN IMMEDIATE` on the loop when the file is free (the usual case); when another
        process holds the write lock, wait for it in the connection's thread, not on the loop."""
        raw = writer.raw
        raw.execute("PRAGMA busy_timeout=0")
        try:
            raw.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
        finally:
            raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        await writer.off_loop(partial(raw.execute, "BEGIN IMMEDIATE"))

    async def listen(self, channel: str, callback: Callable[[], None]) -> None:
        """SQLite has no notifications; other processes are caught by the schema version check."""

    async def notify(self, connection: Any, channel: str) -> None:
        """See `listen`."""

    async def close(self) -> None:
        """Each connection is closed once no one holds it (the writer's lock, a reader back in the
        pool): closing one that a request is using, from another thread, crashes the process."""
        if self._closed:
            return
        self._closed = True
        async with self._write_lock:
            await self._writer.close()
        for _ in range(len(self._all) - 1):
            reader = await self._readers.get()
            await reader.close()
            self._readers.put_nowait(reader)  # later users get sqlite3's "closed database" error
