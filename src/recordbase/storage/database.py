"""The database protocol both backends implement, and the factory that picks one from settings."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

from recordbase.settings import Settings
from recordbase.storage.sql import Prepared

Row = Sequence[Any]
Statement = Prepared | ClauseElement


class Connection(Protocol):
    """One connection, inside a transaction when obtained from `Database.transaction`."""

    async def fetch(self, statement: Statement, params: Mapping[str, Any] | None = None) -> list[Row]: ...

    async def execute(self, statement: Statement, params: Mapping[str, Any] | None = None) -> int:
        """Run a statement; return the number of rows it changed."""
        ...

    async def execute_many(self, statement: Statement, rows: Sequence[Mapping[str, Any]]) -> None: ...

    async def execute_last(self, statement: Statement, params: Mapping[str, Any] | None = None) -> int:
        """`execute` the transaction's last statement: nothing may run on the connection after it.
        Where nothing ran before it either, the database may run it as a transaction of its own."""
        ...

    async def fetch_last(self, statement: Statement, params: Mapping[str, Any] | None = None) -> list[Row]:
        """`fetch` as the transaction's last statement (as `execute_last`)."""
        ...

    async def execute_ddl(self, sql: str) -> None: ...

    def savepoint(self) -> AbstractAsyncContextManager[None]:
        """A nested transaction: what runs inside is undone alone if the block raises."""
        ...


class Database(Protocol):
    """A pool of connections to one database, SQLite or PostgreSQL."""

    name: str

    @property
    def dialect(self) -> Dialect: ...

    def prepare(self, statement: ClauseElement, *, point: bool = False) -> Prepared:
        """Compile once; `point` marks a statement that touches a few rows through a key."""
        ...

    def read(self) -> AbstractAsyncContextManager[Connection]:
        """A connection for reads; sees committed data."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[Connection]:
        """A connection in a write transaction: committed on exit, rolled back on error."""
        ...

    async def listen(self, channel: str, callback: Callable[[], None]) -> None:
        """Call `callback` when another process signals `channel` (no-op where unsupported)."""
        ...

    async def notify(self, connection: Connection, channel: str) -> None:
        """Signal `channel` to other processes when `connection`'s transaction commits."""
        ...

    def generation(self, channel: str) -> int:
        """A number that moves on once a transaction that signalled `channel` has committed: at once
        in this process and, on SQLite, in every process on the file; on PostgreSQL in another
        process when its notification arrives. A cache filled under a number stays good while it
        is current; read the number before the data it guards."""
        ...

    async def close(self) -> None: ...


async def open_database(settings: Settings) -> Database:
    """Open the database named by the settings, creating the SQLite file's directory if needed."""
    if settings.is_postgres:
        from recordbase.storage.postgres import PostgresDatabase  # noqa: PLC0415 - load only the driver in use

        return await PostgresDatabase.open(settings)
    from recordbase.storage.sqlite import SQLiteDatabase  # noqa: PLC0415 - load only the driver in use

    return await SQLiteDatabase.open(settings)


def bind_many(prepared: Prepared, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """Positional arguments for many rows. When every row carries every parameter (as batch rows
    do) one itemgetter per row does it, at a fraction of `Prepared.bind`'s cost."""
    names = prepared.names
    if not prepared.expanding and names:
        get = operator.itemgetter(*names)
        try:
            return [get(row) for row in rows] if len(names) > 1 else [(get(row),) for row in rows]
        except KeyError:
            pass  # some row relies on a default: bind them one by one
    return [prepared.bind(row)[1] for row in rows]
