"""PostgreSQL write transactions begin with their first statement; a last statement alone is its own
transaction (storage/postgres.py). Against a real PostgreSQL schema."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from recordbase.settings import Settings
from recordbase.storage.postgres import PostgresDatabase

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("settings", ["postgres"], indirect=True)]


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[PostgresDatabase]:
    """The backend on a fresh schema, with a table `t` of integer ids."""
    opened = await PostgresDatabase.open(settings)
    try:
        async with opened.read() as connection:
            await connection.execute_ddl("CREATE TABLE t (id int PRIMARY KEY)")
        yield opened
    finally:
        await opened.close()


async def rows(database: PostgresDatabase) -> list[int]:
    async with database.read() as connection:
        return [row[0] for row in await connection.fetch(sa.text("SELECT id FROM t ORDER BY id"))]


async def test_a_last_statement_alone_is_its_own_transaction_and_nothing_may_follow(
    database: PostgresDatabase,
) -> None:
    with pytest.raises(RuntimeError, match="after the transaction's last"):
        async with database.transaction() as connection:
            await connection.execute_last(sa.text("INSERT INTO t VALUES (1)"))
            assert not connection.raw.is_in_transaction()  # no BEGIN went out
            await connection.execute(sa.text("INSERT INTO t VALUES (2)"))
    assert await rows(database) == [1]


async def test_statements_before_the_last_make_one_transaction_that_an_error_undoes(
    database: PostgresDatabase,
) -> None:
    async with database.transaction() as connection:
        assert not connection.raw.is_in_transaction()  # nothing sent at checkout
        await connection.execute(sa.text("INSERT INTO t VALUES (1)"))
        assert connection.raw.is_in_transaction()
        await connection.execute_last(sa.text("INSERT INTO t VALUES (2)"))
    with pytest.raises(ZeroDivisionError):
        async with database.transaction() as connection:
            await connection.execute(sa.text("INSERT INTO t VALUES (3)"))
            await connection.execute_last(sa.text("INSERT INTO t VALUES (4)"))
            raise ZeroDivisionError
    assert await rows(database) == [1, 2]
