"""The SQLite write lock every process queues on (`WriterLock`, a `flock` beside the database): taken
at once when free, retried on the event loop while another holder lets go within a couple of
milliseconds, waited for in the connection's thread when it holds on longer, and never taken while
another holds it. A second descriptor of the same file stands for another process (`flock` locks
belong to open file descriptions). SQLite only: PostgreSQL has no such lock."""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from recordbase.storage.sqlite import LOCK_POLL_SECONDS, Handle, WriterLock

pytestmark = pytest.mark.anyio


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "recordbase.sqlite3"


@pytest.fixture
def handle(database: Path) -> Iterator[Handle]:
    opened = Handle(database)
    yield opened
    opened.raw.close()
    opened.thread.shutdown(wait=True)


def other_process(database: Path) -> int:
    """A descriptor of the lock file of its own, holding the lock."""
    fd = os.open(database.with_name(database.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


@pytest.mark.parametrize("held_for", [LOCK_POLL_SECONDS / 4, LOCK_POLL_SECONDS * 25])
async def test_the_lock_is_taken_only_once_the_other_holder_lets_go(
    database: Path, handle: Handle, held_for: float
) -> None:
    lock, other = WriterLock(database), other_process(database)
    released: list[float] = []
    loop = asyncio.get_running_loop()

    def let_go() -> None:
        released.append(loop.time())
        fcntl.flock(other, fcntl.LOCK_UN)

    loop.call_later(held_for, let_go)
    await asyncio.wait_for(lock.acquire(handle), 5)
    assert released, "taken while the other still held it"
    with pytest.raises(BlockingIOError):  # and now it is held here
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    lock.release()
    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(other)
    lock.close()


@pytest.mark.parametrize("held_for", [LOCK_POLL_SECONDS / 4, LOCK_POLL_SECONDS * 25])
async def test_a_writer_that_gives_up_waiting_leaves_the_lock_free(
    database: Path, handle: Handle, held_for: float
) -> None:
    lock, other = WriterLock(database), other_process(database)
    waiting = asyncio.ensure_future(lock.acquire(handle))
    await asyncio.sleep(held_for / 2)
    waiting.cancel()
    fcntl.flock(other, fcntl.LOCK_UN)  # a thread already waiting takes it, and gives it back
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(waiting, 5)
    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: nobody kept it on the way out
    os.close(other)
    lock.close()
