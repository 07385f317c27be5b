"""Run a rewritten SQL statement (core/sql) with a row limit and a time limit, and read nothing else.

- PostgreSQL: in a READ ONLY transaction with `SET LOCAL statement_timeout`, so a write is refused
  by the server itself and a slow statement is cancelled by it.
- SQLite: on a reader connection with `PRAGMA query_only`, an authorizer that allows reading entity
  tables only (not `sqlite_master`, not recordbase's own tables, no PRAGMA, no ATTACH), and a
  progress handler that interrupts the statement at its deadline.

Both are second lines: the statement was already limited to one checked SELECT over filtered
subqueries (core/sql/rewrite.py). Column values come back as core values for columns that read a
field (`Output.field`), as JSON-ready values otherwise.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from recordbase.core.fields.temporal import format_datetime
from recordbase.core.schema import Entity, Field
from recordbase.core.sql import Physical, SqlStatement
from recordbase.core.sql.service import SqlRows
from recordbase.errors import ExecutionError, ExecutionTimeout, ResultTooLarge
from recordbase.storage import codecs
from recordbase.storage.database import Database
from recordbase.storage.tables import column_name, table_name
from recordbase.timing import stage

SYSTEM_NAMES = ("Id", "CreatedBy", "CreateTime", "UpdatedBy", "UpdateTime")
PROGRESS_STEPS = 1000
"""SQLite virtual-machine steps between two looks at the clock."""
ENTITY_TABLE_PREFIX = "e_"
Decoder = Callable[[Any], Any]
Fetched = tuple[list[str], list[Sequence[Any]]]
"""Column names and raw rows, as the driver returns them."""


class SqlStore:
    """Executes `SqlStatement`s on the app's database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @property
    def backend(self) -> str:
        return self.database.name

    def physical(self, entity: Entity) -> Physical:
        columns = {name: name for name in SYSTEM_NAMES}
        columns.update({f.name: column_name(f) for f in entity.fields})
        return Physical(table_name(entity), columns)

    async def run(self, statement: SqlStatement, time_limit: float) -> SqlRows:
        """The statement's rows; ResultTooLarge beyond `max_rows`, ExecutionTimeout past `time_limit`."""
        run = self._postgres if self.backend == "postgresql" else self._sqlite
        with stage("db"):
            names, rows = await run(statement.sql, time_limit, statement.max_rows + 1)
        if len(rows) > statement.max_rows:
            raise ResultTooLarge(
                f"The query returns more than {statement.max_rows} rows; add a LIMIT or page with OFFSET."
            )
        fields = _fields(statement, names)
        decoders = [_decoder(self.backend, f) for f in fields]
        decoded = [tuple(d(v) for d, v in zip(decoders, row, strict=True)) for row in rows]
        return SqlRows(_names(statement, names), fields, decoded)

    async def _postgres(self, sql: str, time_limit: float, most: int) -> Fetched:
        import asyncpg  # noqa: PLC0415 - only the backend in use is loaded

        milliseconds = max(1, int(time_limit * 1000))
        async with self.database.read() as connection:
            raw = connection.raw  # type: ignore[attr-defined]
            try:
                # One round trip opens the read-only transaction and sets its deadline; a read-only
                # transaction has nothing to commit, so it always ends with ROLLBACK.
                await raw.execute(f"BEGIN READ ONLY; SET LOCAL statement_timeout = {milliseconds}")
                try:
                    rows = await raw.fetch(sql)
                finally:
                    await raw.execute("ROLLBACK")
            except asyncpg.QueryCanceledError:
                raise _timeout(time_limit) from None
            except asyncpg.PostgresError as error:
                raise ExecutionError(f"The query failed: {error}") from None
        names = list(rows[0].keys()) if rows else []
        return names, list(rows[:most])

    async def _sqlite(self, sql: str, time_limit: float, most: int) -> Fetched:
        deadline = time.monotonic() + time_limit
        async with self.database.read() as connection:
            handle = connection.handle  # type: ignore[attr-defined]
            try:
                found: Fetched = await handle.off_loop(partial(_run_sqlite, handle.raw, sql, deadline, most))
            except sqlite3.OperationalError as error:
                if "interrupted" in str(error):
                    raise _timeout(time_limit) from None
                raise ExecutionError(f"The query failed: {error}") from None
            except sqlite3.Error as error:
                raise ExecutionError(f"The query failed: {error}") from None
        return found


def _run_sqlite(raw: sqlite3.Connection, sql: str, deadline: float, most: int) -> Fetched:
    """In the connection's thread: the statement, read-only, authorized, interrupted at `deadline`."""
    raw.execute("PRAGMA query_only = ON")
    raw.set_authorizer(_authorize)
    raw.set_progress_handler(lambda: int(time.monotonic() > deadline), PROGRESS_STEPS)
    try:
        cursor = raw.execute(sql)
        rows = cursor.fetchmany(most)
        names = [column[0] for column in cursor.description or ()]
        cursor.close()
    finally:
        raw.set_progress_handler(None, 0)
        raw.set_authorizer(None)
        raw.execute("PRAGMA query_only = OFF")
    return names, list(rows)


def _timeout(time_limit: float) -> ExecutionTimeout:
    return ExecutionTimeout(f"The query ran longer than {time_limit:g} s and was stopped.")


READ_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE})


def _authorize(
    action: int, first: str | None, _second: str | None, database: str | None, _by: str | None
) -> int:
    """SQLite asks this for every table, column and function a statement touches while compiling it."""
    if action in READ_ACTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_READ and database == "main" and (first or "").startswith(ENTITY_TABLE_PREFIX):
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _fields(statement: SqlStatement, names: list[str]) -> list[Field | None]:
    if statement.outputs is not None and len(statement.outputs) == len(names):
        return [output.field for output in statement.outputs]
    return [statement.by_name.get(name.lower()) for name in names]


def _names(statement: SqlStatement, names: list[str]) -> list[str]:
    if statement.outputs is not None and len(statement.outputs) == len(names):
        return [output.name for output in statement.outputs]
    fields = _fields(statement, names)
    return [f.name if f is not None else name for f, name in zip(fields, names, strict=True)]


def _decoder(backend: str, field: Field | None) -> Decoder:
    """The field's codec (its core value), or the driver value made JSON-ready."""
    if field is None:
        return _plain
    decode = codecs.decoder(backend, field)

    def safe(value: Any) -> Any:
        if value is None:
            return None
        try:
            return decode(value)
        except (TypeError, ValueError, ArithmeticError):
            return _plain(value)

    return safe


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value
