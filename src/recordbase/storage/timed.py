"""A `Database` wrapper that times every statement and counts the connections in use.

Statement time goes to the request's `db` stage (`Server-Timing`); checkouts and returns
go to a callback (the pool gauge of `/metrics`). Everything else passes through unchanged,
so methods a backend adds later keep working, untimed, until they are listed here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

from recordbase.storage.database import Connection, Database, Row, Statement
from recordbase.storage.sql import Prepared
from recordbase.timing import stage

UsageCallback = Callable[[int], None]
"""Called with +1 when a connection is checked out and -1 when it is returned."""


class TimedConnection:
    def __init__(self, inner: Connection) -> None:
        self.inner = inner

    async def fetch(self, statement: Statement, params: Mapping[str, Any] | None = None) -> list[Row]:
        with stage("db"):
            return await self.inner.fetch(statement, params)

    async def execute(self, statement: Statement, params: Mapping[str, Any] | None = None) -> int:
        with stage("db"):
            return await self.inner.execute(statement, params)

    async def execute_last(self, statement: Statement, params: Mapping[str, Any] | None = None) -> int:
        with stage("db"):
            return await self.inner.execute_last(statement, params)

    async def fetch_last(self, statement: Statement, params: Mapping[str, Any] | None = None) -> list[Row]:
        with stage("db"):
            return await self.inner.fetch_last(statement, params)

    async def execute_many(self, statement: Statement, rows: Sequence[Mapping[str, Any]]) -> None:
        with stage("db"):
            await self.inner.execute_many(statement, rows)

    async def execute_ddl(self, sql: str) -> None:
        with stage("db"):
            await self.inner.execute_ddl(sql)

    def savepoint(self) -> AbstractAsyncContextManager[None]:
        return self.inner.savepoint()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class TimedDatabase:
    def __init__(self, inner: Database, on_usage: UsageCallback) -> None:
        self.inner = inner
        self.on_usage = on_usage
        self.name = inner.name

    @property
    def dialect(self) -> Dialect:
        return self.inner.dialect

    def prepare(self, statement: ClauseElement, *, point: bool = False) -> Prepared:
        return self.inner.prepare(statement, point=point)

    def read(self) -> AbstractAsyncContextManager[TimedConnection]:
        return _Checkout(self.inner.read(), self.on_usage)

    def transaction(self) -> AbstractAsyncContextManager[TimedConnection]:
        return _Checkout(self.inner.transaction(), self.on_usage)

    async def listen(self, channel: str, callback: Callable[[], None]) -> None:
        await self.inner.listen(channel, callback)

    async def notify(self, connection: Connection, channel: str) -> None:
        inner = connection.inner if isinstance(connection, TimedConnection) else connection
        await self.inner.notify(inner, channel)

    def generation(self, channel: str) -> int:
        return self.inner.generation(channel)

    async def close(self) -> None:
        await self.inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _Checkout:
    """A connection checked out of `opened`, counted while held. A class rather than
    `@asynccontextmanager`: every request checks out at least twice, and the generator costs more."""

    __slots__ = ("on_usage", "opened")

    def __init__(self, opened: AbstractAsyncContextManager[Connection], on_usage: UsageCallback) -> None:
        self.opened = opened
        self.on_usage = on_usage

    async def __aenter__(self) -> TimedConnection:
        connection = await self.opened.__aenter__()
        self.on_usage(1)
        return TimedConnection(connection)

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> bool | None:
        self.on_usage(-1)
        return await self.opened.__aexit__(kind, error, trace)


async def ping(database: Database) -> None:
    """One trivial query; raises when the database cannot be reached."""
    async with database.read() as connection:
        await connection.fetch(sa.text("SELECT 1"))
