"""PostgreSQL backend: an asyncpg pool; schema changes are announced with NOTIFY."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import cached_property
from types import TracebackType
from typing import Any

import asyncpg
import sqlalchemy as sa
from asyncpg.transaction import Transaction
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

from recordbase.errors import WriteConflict
from recordbase.settings import Settings
from recordbase.storage.database import Row, Statement, bind_many
from recordbase.storage.errors import ErrorTranslation, ForeignKeyViolation, UndefinedObject, UniqueViolation
from recordbase.storage.sql import Prepared, prepare


class PostgresConnection:
    """A pooled connection; in a write transaction, `BEGIN` goes out with the first statement's turn,
    not at checkout, and a transaction whose only statement is its last one sends neither `BEGIN`
    nor `COMMIT` (`execute_last`): a single insert is one round trip instead of three."""

    def __init__(
        self, raw: asyncpg.Connection, database: PostgresDatabase, transaction: Transaction | None = None
    ) -> None:
        self.raw = raw
        self.database = database
        self._unstarted = transaction
        self._started: Transaction | None = None
        self._finished = False
        self.signalled: set[str] = set()

    @property
    def _must_begin(self) -> bool:
        """Whether `_begin` has anything to do (or to refuse): checked before awaiting it, since
        awaiting a coroutine that does nothing still costs a microsecond on every statement."""
        return self._unstarted is not None or self._finished

    async def _begin(self) -> None:
        if self._finished:
            raise RuntimeError("a statement after the transaction's last one")
        if self._unstarted is not None:
            self._started, self._unstarted = self._unstarted, None
            await self._started.start()

    async def end(self, commit: bool) -> None:
        """Commit (or roll back) the transaction, if a statement started one."""
        if self._started is not None:
            with translate_errors():
                await (self._started.commit() if commit else self._started.rollback())

    async def fetch(self, statement: Statement, params: Mapping[str, Any] | None = None) -> list[Row]:
        if self._must_begin:
            await self._begin()
        sql, args = self.database.bind(statement, params)
        with translate_errors():
            return await self.raw.fetch(sql, *args)  # type: ignore[no-any-return]

    async def execute(self, statement: Statement, params: Mapping[str, Any] | None = None) -> int:
        if self._must_begin:
            await self._begin()
        return await self._execute(statement, params)

    async def execute_last(self, statement: Statement, params: Mapping[str, Any] | None = None) -> int:
        await self._last()
        return await self._execute(statement, params)

    async def fetch_last(self, statement: Statement, params: Mapping[str, Any] | None = None) -> list[Row]:
        await self._last()
        sql, args = self.database.bind(statement, params)
        with translate_errors():
            return await self.raw.fetch(sql, *args)  # type: ignore[no-any-return]

    async def _last(self) -> None:
        if self._unstarted is not None:  # nothing ran before: the statement is the whole transaction
            self._unstarted = None
        else:
            await self._begin()
        self._finished = True

    async def _execute(self, statement: Statement, params: Mapping[str, Any] | None) -> int:
        sql, args = self.database.bind(statement, params)
        with translate_errors():
            status = await self.raw.execute(sql, *args)
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def execute_many(self, statement: Statement, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        await self._begin()
        prepared = statement if isinstance(statement, Prepared) else self.database.prepare(statement)
        with translate_errors():
            await self.raw.executemany(prepared.sql, bind_many(prepared, rows))

    async def execute_ddl(self, sql: str) -> None:
        await self._begin()
        with translate_errors():
            await self.raw.execute(sql)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        await self._begin()
        async with self.raw.transaction():
            yield


class translate_errors(ErrorTranslation):  # noqa: N801  (used as a function: `with translate_errors():`)
    """Turn asyncpg's errors into storage errors that say what went wrong."""

    __slots__ = ()

    def translate(self, error: BaseException) -> Exception | None:
        if isinstance(error, asyncpg.UniqueViolationError):
            return UniqueViolation(error.constraint_name or "")
        if isinstance(error, asyncpg.ForeignKeyViolationError):
            return ForeignKeyViolation(error.detail or str(error))
        if isinstance(error, asyncpg.UndefinedTableError | asyncpg.UndefinedColumnError):
            return UndefinedObject(str(error))
        if isinstance(error, asyncpg.DeadlockDetectedError | asyncpg.SerializationError):
            # PostgreSQL aborted this transaction to let a concurrent one go on; the caller may retry it.
            return WriteConflict("The write collided with a concurrent one; retry the request.")
        return None


class PostgresDatabase:
    name = "postgresql"
    dialect: Dialect = asyncpg_dialect.dialect()  # type: ignore[no-untyped-call]

    def __init__(self, pool: asyncpg.Pool, schema: str, url: str) -> None:
        self.pool = pool
        self.schema = schema
        self.url = url
        self._listener: asyncpg.Connection | None = None
        self._generations: dict[str, int] = {}
        self._unheard = 0

    @classmethod
    async def open(cls, settings: Settings) -> PostgresDatabase:
        schema = settings.database_schema
        bootstrap = await asyncpg.connect(settings.resolved_database_url)
        try:
            await bootstrap.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        finally:
            await bootstrap.close()
        pool = await asyncpg.create_pool(
            settings.resolved_database_url,
            min_size=1,
            max_size=settings.database_pool_size,
            server_settings={"search_path": schema, "application_name": "recordbase"},
            init=_init_connection,
            reset=_keep_session,
        )
        return cls(pool, schema, settings.resolved_database_url)

    def prepare(self, statement: ClauseElement, *, point: bool = False) -> Prepared:
        return prepare(statement, self.dialect, point=point)

    def bind(self, statement: Statement, params: Mapping[str, Any] | None) -> tuple[str, tuple[Any, ...]]:
        prepared = statement if isinstance(statement, Prepared) else self.prepare(statement)
        return prepared.bind(params)

    def read(self) -> AbstractAsyncContextManager[PostgresConnection]:
        return _Reading(self)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresConnection]:
        async with self.pool.acquire() as raw:
            connection = PostgresConnection(raw, self, raw.transaction())
            try:
                yield connection
            except BaseException:
                await connection.end(commit=False)
                raise
            await connection.end(commit=True)
        for channel in connection.signalled:  # this process's own change: at once, not at its echo
            self._advance(channel)

    def channel(self, name: str) -> str:
        return f"recordbase_{self.schema}_{name}"

    async def listen(self, channel: str, callback: Callable[[], None]) -> None:
        if self._listener is None:
            # A connection of its own: listeners must outlive any pooled checkout.
            self._listener = await asyncpg.connect(self.url)
            self._listener.add_termination_listener(lambda _: self._generations.clear())

        def heard(*_: object) -> None:
            self._advance(channel)
            callback()

        await self._listener.add_listener(self.channel(channel), heard)
        self._generations.setdefault(channel, 0)

    async def notify(self, connection: Any, channel: str) -> None:
        """Sent when `connection`'s transaction commits (a statement of it, so it has begun)."""
        await connection.fetch(self._notify, {"channel": self.channel(channel)})
        connection.signalled.add(channel)

    def generation(self, channel: str) -> int:
        """Moves on with every notification heard on `channel`; while nobody listens to it (not yet,
        or the listening connection was lost) a new number on every call, so no cache is trusted."""
        known = self._generations.get(channel)
        if known is None:
            self._unheard -= 1
            return self._unheard
        return known

    def _advance(self, channel: str) -> None:
        if channel in self._generations:
            self._generations[channel] += 1

    @cached_property
    def _notify(self) -> Prepared:
        return self.prepare(sa.select(sa.func.pg_notify(sa.bindparam("channel"), "")))

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
        await self.pool.close()


class _Reading:
    """A pooled connection for one block of reads (a class: every request has at least one, and a
    generator-based context manager costs several times more)."""

    __slots__ = ("database", "raw")

    def __init__(self, database: PostgresDatabase) -> None:
        self.database = database

    async def __aenter__(self) -> PostgresConnection:
        self.raw = await self.database.pool.acquire()
        return PostgresConnection(self.raw, self.database)

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.database.pool.release(self.raw)


async def _keep_session(raw: asyncpg.Connection) -> None:
    """Nothing to undo when a connection returns to the pool: recordbase keeps no session state
    (its advisory locks and settings are transaction-scoped, LISTEN has a connection of its own),
    and asyncpg still rolls back a transaction left open. asyncpg's default reset would cost a
    round trip (`RESET ALL; UNLISTEN *; …`) on every checkout: on a point read, one of three."""


async def _init_connection(raw: asyncpg.Connection) -> None:
    # UUIDs travel as text both ways, as they do on SQLite, so core sees one type.
    await raw.set_type_codec("uuid", encoder=str, decoder=str, schema="pg_catalog", format="text")
