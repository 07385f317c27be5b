"""SQLite's group commit (storage/sqlite.py `_Group`): the writes queued in one process while a
transaction is open run in savepoints of that transaction and are answered once it has committed.
A write that fails is undone alone; a writer that gives up waiting does not leave the group open;
when SQLite itself rolls the whole transaction back, every write of the group fails. SQLite only:
PostgreSQL runs each write transaction on a connection of its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from recordbase.storage.sqlite import GroupLost, Handle, SQLiteDatabase

pytestmark = pytest.mark.anyio
WRITERS = 20


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[SQLiteDatabase]:
    path = tmp_path / "group.sqlite3"
    opened = SQLiteDatabase(path, Handle(path, busy_timeout_ms=0), [Handle(path) for _ in range(2)])
    async with opened.transaction() as connection:
        await connection.execute_ddl("CREATE TABLE t (k INTEGER PRIMARY KEY)")
    yield opened
    await opened.close()


async def stored(database: SQLiteDatabase) -> list[int]:
    async with database.read() as connection:
        return [row[0] for row in await connection.fetch(sa.text("SELECT k FROM t ORDER BY k"))]


async def write(database: SQLiteDatabase, k: int, *, fail: bool = False) -> None:
    async with database.transaction() as connection:
        await connection.execute(sa.text("INSERT INTO t VALUES (:k)"), {"k": k})
        await asyncio.sleep(0)  # the others queue meanwhile
        if fail:
            raise ValueError(k)


async def test_queued_writes_commit_together_and_each_is_stored_when_answered(
    database: SQLiteDatabase,
) -> None:
    commits = 0
    commit = database._commit

    def counted(group: object) -> None:
        nonlocal commits
        commits += 1
        commit(group)  # type: ignore[arg-type]

    database._commit = counted  # type: ignore[method-assign]

    async def write_then_read(k: int) -> None:
        await write(database, k)
        assert k in await stored(database), "answered before its commit"

    await asyncio.gather(*(write_then_read(k) for k in range(WRITERS)))
    assert await stored(database) == list(range(WRITERS))
    assert 1 <= commits < WRITERS


async def test_a_failing_write_is_undone_alone(database: SQLiteDatabase) -> None:
    outcomes = await asyncio.gather(
        *(write(database, k, fail=k % 3 == 0) for k in range(WRITERS)), return_exceptions=True
    )
    failed = {k for k, outcome in enumerate(outcomes) if isinstance(outcome, ValueError)}
    assert failed == {k for k in range(WRITERS) if k % 3 == 0}
    assert await stored(database) == [k for k in range(WRITERS) if k not in failed]


async def test_a_writer_that_gives_up_waiting_does_not_hold_the_group_open(database: SQLiteDatabase) -> None:
    """The first write leaves its group open for the one queued behind it, which is cancelled
    before it gets the connection: the first is still answered (committed), and later writes go on."""
    first_inside = asyncio.Event()
    go_on = asyncio.Event()

    async def first() -> None:
        async with database.transaction() as connection:
            await connection.execute(sa.text("INSERT INTO t VALUES (1)"))
            first_inside.set()
            await go_on.wait()

    holder = asyncio.ensure_future(first())
    await first_inside.wait()
    queued = asyncio.ensure_future(write(database, 2))
    await asyncio.sleep(0.01)
    go_on.set()
    queued.cancel()
    await asyncio.wait_for(holder, 5)
    with pytest.raises(asyncio.CancelledError):
        await queued
    await asyncio.wait_for(write(database, 3), 5)
    assert await stored(database) == [1, 3]


async def test_when_sqlite_rolls_the_transaction_back_every_write_of_the_group_fails(
    database: SQLiteDatabase,
) -> None:
    async def breaks_the_transaction() -> None:
        async with database.transaction() as connection:
            await connection.execute(sa.text("INSERT INTO t VALUES (100)"))
            database._writer.raw.execute("ROLLBACK")  # as SQLite does itself on an interruption
            raise RuntimeError("interrupted")

    outcomes = await asyncio.gather(
        write(database, 1), write(database, 2), breaks_the_transaction(), return_exceptions=True
    )
    assert isinstance(outcomes[2], RuntimeError)
    assert all(isinstance(outcome, GroupLost) for outcome in outcomes[:2]), outcomes
    assert await stored(database) == []
    await write(database, 5)  # the next group is a fresh one
    assert await stored(database) == [5]
