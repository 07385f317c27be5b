"""The blob store protocol every file backend implements (a contract suite in tests/files checks each).

A blob is an immutable byte string under a key the server generated. A `put` is atomic:
readers see the whole blob or none of it, and a put that fails (the source raised, the
store refused) leaves nothing readable behind. What a killed process leaves half-written
is invisible to `list` and removed by `delete_incomplete`.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class BlobInfo:
    """One stored blob as `list` reports it."""

    key: str
    size: int
    modified: datetime


@dataclass(frozen=True)
class OpenBlob:
    """An opened blob: bytes `start` (inclusive) to `stop` (exclusive) of a blob of `size` bytes."""

    size: int
    start: int
    stop: int
    chunks: AsyncIterator[bytes]

    @property
    def length(self) -> int:
        return self.stop - self.start


class BlobStore(Protocol):
    """Where file contents live; keys are `/`-separated and chosen by the server, never by a client."""

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        """Store the bytes `chunks` yields under `key`, streaming; if `chunks` raises, store nothing."""
        ...

    async def open(self, key: str, start: int = 0, stop: int | None = None) -> OpenBlob:
        """Stream bytes [start, stop) of the blob; raise `BlobNotFound` when there is none."""
        ...

    async def delete(self, keys: Sequence[str]) -> None:
        """Delete these blobs; keys that do not exist are ignored."""
        ...

    def list(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        """Every complete blob whose key starts with the path segments of `prefix`."""
        ...

    async def delete_incomplete(self, older_than: datetime) -> int:
        """Remove what uploads interrupted by a killed process left behind; return how many."""
        ...


async def delete_prefix(store: BlobStore, prefix: str) -> int:
    """Delete every blob under `prefix` (a whole record, field or entity); return how many."""
    keys = [info.key async for info in store.list(prefix)]
    for start in range(0, len(keys), 1000):
        await store.delete(keys[start : start + 1000])
    return len(keys)
