"""SQLite backend: one writer connection behind a lock, a few reader connections, WAL mode.

SQLite allows one writer at a time; serialising writes in-process (as Datasette does)
turns lock contention into a queue, and a file lock beside the database (`WriterLock`) makes
the other processes on the same file queue too, instead of sleeping in SQLite's busy handler.
Writes queued behind each other in a process are committed together (`_Group`): each runs in a
savepoint of one transaction, and each is answered once that transaction has committed.

Each connection has a thread of its own for statements that may take a while (lists, queries,
large batches, DDL); statements marked `point` (a few rows through a key) run on the event loop
itself, since handing a 10-microsecond statement to a thread and back costs more than running it.
"""

from __future__ import annotations

import asyncio
import fcntl
import mmap
import os
import re
import sqlite3
import struct
import zlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

from recordbase.errors import WriteConflict
from recordbase.settings import Settings
from recordbase.storage.database import Row, Statement, bind_many
from recordbase.storage.errors import ErrorTranslation, ForeignKeyViolation, UndefinedObject, UniqueViolation
from recordbase.storage.sql import Prepared, prepare

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
)
BUSY_TIMEOUT_MS = 10_000
"""How long a connection waits for a lock SQLite takes on its own (a writer outside `WriterLock`)."""
UNIQUE_FAILED = re.compile(r"UNIQUE constraint failed: ([^ ,]+)")
READERS = 4
INLINE_ROWS = 16
"""A write of at most this many rows through a point statement runs on the event loop."""
LOCK_POLL_SECONDS = 0.002
"""How long a writer retries the file lock on the event loop before waiting for it in a thread."""
GROUP_WRITES = 32
GROUP_SECONDS = 0.005
"""A group commit takes in the writes queued in the process while it is open, up to this many and
for up to this long after it began: a write is answered only once its group has committed."""

T = TypeVar("T")


class Handle:
    """One sqlite3 connection and the thread that runs its slow statements (one at a time)."""

    def __init__(self, path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recordbase-sqlite")
        self.raw = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000
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


class WriterLock:
    """The write lock of every process on one database file: an exclusive `flock` on `<file>.lock`.

    SQLite's own wait for a busy database sleeps 1, 2, 5, 10… ms between tries, so with several
    worker processes writing, a write that held the lock for 100 µs left the others asleep for
    milliseconds and the cores idle. The kernel wakes a `flock` waiter the moment the lock is let go.
    """

    def __init__(self, database: Path) -> None:
        self.fd = os.open(database.with_name(database.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)

    async def acquire(self, thread: Handle) -> None:
        """Taken on the loop when free (the usual case); when another process holds it, tried again
        on each of the loop's next turns for up to `LOCK_POLL_SECONDS` (it is held for a transaction,
        a fraction of a millisecond, while the loop serves other requests), and only then waited for
        in `thread`, whose hand-off costs more than the tries."""
        if self._try():
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LOCK_POLL_SECONDS
        while loop.time() < deadline:
            await asyncio.sleep(0)
            if self._try():
                return
        waited = loop.run_in_executor(thread.thread, fcntl.flock, self.fd, fcntl.LOCK_EX)
        try:
            await asyncio.shield(waited)
        except asyncio.CancelledError:
            await asyncio.wait({waited})  # the thread still takes the lock: give it back
            if not waited.cancelled() and waited.exception() is None:
                self.release()
            raise

    def _try(self) -> bool:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self.fd)


class SharedGenerations:
    """A counter per channel that every process on one database file sees: `<file>.signals`, mapped
    into memory. A transaction that signalled a channel moves its counter on after `COMMIT`, still
    holding `WriterLock`, so increments from different processes never overlap; reading one is a
    memory read, which is what lets a request trust a cache instead of asking the database."""

    SLOTS = 64

    def __init__(self, database: Path) -> None:
        fd = os.open(database.with_name(database.name + ".signals"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < self.SLOTS * 8:
                os.ftruncate(fd, self.SLOTS * 8)
            self._memory = mmap.mmap(fd, self.SLOTS * 8)
        finally:
            os.close(fd)

    @staticmethod
    def _offset(channel: str) -> int:
        """Channels share slots by hash: a collision costs the other channel a cache refill, no more."""
        return (zlib.crc32(channel.encode()) % SharedGenerations.SLOTS) * 8

    def current(self, channel: str) -> int:
        return int(struct.unpack_from("<Q", self._memory, self._offset(channel))[0])

    def advance(self, channel: str) -> None:
        struct.pack_into("<Q", self._memory, self._offset(channel), self.current(channel) + 1)

    def close(self) -> None:
        self._memory.close()


class SQLiteConnection:
    """Runs prepared statements on one connection, translating driver errors."""

    def __init__(self, handle: Handle, database: SQLiteDatabase) -> None:
        self.handle = handle
        self.database = database
        self._savepoints = 0
        self.signalled: set[str] = set()

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

    async def execute_last(self, statement: Statement, params: Mapping[str, Any] | None = None) -> int:
        """SQLite's write transaction began at checkout (`BEGIN IMMEDIATE` is the write lock)."""
        return await self.execute(statement, params)

    async def fetch_last(self, statement: Statement, params: Mapping[str, Any] | None = None) -> list[Row]:
        return await self.fetch(statement, params)

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


def _begin_waiting(raw: sqlite3.Connection) -> None:
    raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    try:
        raw.execute("BEGIN IMMEDIATE")
    finally:
        raw.execute("PRAGMA busy_timeout=0")


class translate_errors(ErrorTranslation):  # noqa: N801  (used as a function: `with translate_errors():`)
    """Turn sqlite3's errors into storage errors that say what went wrong."""

    __slots__ = ()

    def translate(self, error: BaseException) -> Exception | None:
        if isinstance(error, sqlite3.IntegrityError):
            text = str(error)
            unique = UNIQUE_FAILED.search(text)
            if unique:
                return UniqueViolation(unique.group(1))
            return ForeignKeyViolation(text) if "FOREIGN KEY" in text else None
        if isinstance(error, sqlite3.OperationalError):
            text = str(error)
            return UndefinedObject(text) if "no such" in text or "has no column" in text else None
        return None


class _Reading:
    """A reader connection borrowed from the pool for one block (a class: cheaper than a generator
    for what every request does)."""

    __slots__ = ("database", "handle", "readers")

    def __init__(self, database: SQLiteDatabase, readers: asyncio.Queue[Handle]) -> None:
        self.database = database
        self.readers = readers

    async def __aenter__(self) -> SQLiteConnection:
        self.handle = await self.readers.get()
        return SQLiteConnection(self.handle, self.database)

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.readers.put_nowait(self.handle)


class GroupLost(WriteConflict):
    """SQLite rolled the whole transaction back under a write of its group (an interruption, a full
    disk): the group's earlier writes went with it. Nothing of them is stored; they may be retried."""


class _Group:
    """Write transactions committed as one: each in a savepoint of the group's transaction, so a
    failing one is undone alone. A commit, the write lock's hand-over between processes and the
    other processes' page caches emptied by a commit are paid once per group, not once per write."""

    __slots__ = ("began", "committed", "lost", "members", "signalled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.committed: asyncio.Future[None] = loop.create_future()
        self.committed.add_done_callback(_retrieved)
        self.began = loop.time()
        self.members = 0
        self.signalled: set[str] = set()
        self.lost = False


def _retrieved(future: asyncio.Future[None]) -> None:
    """A member cancelled while it waited for its group's commit does not read the outcome."""
    if not future.cancelled():
        future.exception()


class SQLiteDatabase:
    name = "sqlite"
    dialect: Dialect = sqlite_dialect.dialect(paramstyle="qmark")

    def __init__(self, path: Path, writer: Handle, readers: list[Handle]) -> None:
        self.path = path
        self._writer = writer
        self._write_lock = asyncio.Lock()
        self._queued = 0
        """Writers waiting for `_write_lock`: while there are any, a finished write leaves its group open."""
        self._group: _Group | None = None
        self._file_lock = WriterLock(path)
        self._generations = SharedGenerations(path)
        self._readers: asyncio.Queue[Handle] = asyncio.Queue()
        for reader in readers:
            self._readers.put_nowait(reader)
        self._all = [writer, *readers]
        self._closed = False

    @classmethod
    async def open(cls, settings: Settings) -> SQLiteDatabase:
        path = Path(settings.resolved_database_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = Handle(path, busy_timeout_ms=0)  # it waits in `WriterLock`; see `_begin`
        readers = [Handle(path) for _ in range(READERS)]
        return cls(path, writer, readers)

    def prepare(self, statement: ClauseElement, *, point: bool = False) -> Prepared:
        return prepare(statement, self.dialect, point=point)

    def prepared(self, statement: Statement) -> Prepared:
        return statement if isinstance(statement, Prepared) else self.prepare(statement)

    def bind(self, statement: Statement, params: Mapping[str, Any] | None) -> tuple[str, tuple[Any, ...]]:
        return self.prepared(statement).bind(params)

    def read(self) -> AbstractAsyncContextManager[SQLiteConnection]:
        return _Reading(self, self._readers)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SQLiteConnection]:
        """A write transaction: a savepoint in its process's open group, ended when the group commits."""
        group = await self._join()
        raw = self._writer.raw
        connection = SQLiteConnection(self._writer, self)
        try:
            raw.execute("SAVEPOINT rb_write")
            yield connection
        except BaseException:
            self._undo(group)
            self._leave(group)
            raise
        try:
            raw.execute("RELEASE rb_write")
        except BaseException:
            group.lost = True
            self._leave(group)
            raise
        group.signalled |= connection.signalled
        self._leave(group)
        await asyncio.shield(group.committed)

    async def _join(self) -> _Group:
        """The write lock, and the open group (begun here when there is none)."""
        self._queued += 1
        try:
            await self._write_lock.acquire()
        except BaseException:
            self._queued -= 1
            if not self._queued and not self._write_lock.locked() and self._group is not None:
                self._commit(self._group)  # the writer the last one left the group open for gave up
            raise
        self._queued -= 1
        group = self._group
        if group is None:
            try:
                await self._file_lock.acquire(self._writer)
            except BaseException:
                self._write_lock.release()
                raise
            try:
                await self._begin(self._writer)
            except BaseException:
                self._file_lock.release()
                self._write_lock.release()
                raise
            group = self._group = _Group(asyncio.get_running_loop())
        group.members += 1
        return group

    def _undo(self, group: _Group) -> None:
        """Roll a failed write back to its savepoint; when SQLite already rolled back the whole
        transaction, the group is lost."""
        raw = self._writer.raw
        if raw.in_transaction:
            try:
                raw.execute("ROLLBACK TO rb_write")
                raw.execute("RELEASE rb_write")
                return
            except sqlite3.Error:
                pass
        group.lost = True

    def _leave(self, group: _Group) -> None:
        """Hand the connection to the next queued writer inside the group, or commit the group."""
        age = asyncio.get_running_loop().time() - group.began
        if self._queued and not group.lost and group.members < GROUP_WRITES and age < GROUP_SECONDS:
            self._write_lock.release()
            return
        self._commit(group)
        self._write_lock.release()

    def _commit(self, group: _Group) -> None:
        """End the group's transaction and answer its writes (their signals move on after `COMMIT`,
        still under the file lock, as storage/sqlite.py `SharedGenerations` needs)."""
        self._group = None
        raw = self._writer.raw
        try:
            if group.lost:
                if raw.in_transaction:
                    raw.execute("ROLLBACK")
                group.committed.set_exception(GroupLost("A concurrent write failed the transaction."))
                return
            try:
                with translate_errors():
                    raw.execute("COMMIT")
            except Exception as error:
                if raw.in_transaction:
                    raw.execute("ROLLBACK")
                group.committed.set_exception(error)
                return
            for channel in group.signalled:
                self._generations.advance(channel)
            group.committed.set_result(None)
        finally:
            self._file_lock.release()

    async def _begin(self, writer: Handle) -> None:
        """`BEGIN IMMEDIATE` on the loop: with `WriterLock` held the file is free, unless a writer that
        does not take it (another program) has it; that one is waited for in the connection's thread."""
        raw = writer.raw
        try:
            raw.execute("BEGIN IMMEDIATE")  # the writer's busy timeout is 0: it fails at once
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
        await writer.off_loop(partial(_begin_waiting, raw))

    async def listen(self, channel: str, callback: Callable[[], None]) -> None:
        """SQLite has no notifications; other processes are caught by the schema version check."""

    async def notify(self, connection: Any, channel: str) -> None:
        """No callbacks (see `listen`), but the channel's generation moves on at commit."""
        connection.signalled.add(channel)

    def generation(self, channel: str) -> int:
        return self._generations.current(channel)

    async def close(self) -> None:
        """Each connection is closed once no one holds it (the writer's lock, a reader back in the
        pool): closing one that a request is using, from another thread, crashes the process."""
        if self._closed:
            return
        self._closed = True
        async with self._write_lock:
            if self._group is not None:
                self._commit(self._group)
            await self._writer.close()
        self._file_lock.close()
        self._generations.close()
        for _ in range(len(self._all) - 1):
            reader = await self._readers.get()
            await reader.close()
            self._readers.put_nowait(reader)  # later users get sqlite3's "closed database" error
