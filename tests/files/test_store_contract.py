"""The contract every blob store passes: the local directory and S3 (a real SeaweedFS), one suite."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from recordbase.files.errors import BlobNotFound, FileStorageError
from recordbase.files.objectstore import LocalBlobStore, s3_blob_store
from recordbase.files.store import BlobStore, delete_prefix
from tests.files.conftest import chunks_of

pytestmark = pytest.mark.anyio

DATA = os.urandom(300_000)
BIG = os.urandom(12 * 1024 * 1024 + 123)  # above the part size: a multipart upload


async def read_all(store: BlobStore, key: str, start: int = 0, stop: int | None = None) -> bytes:
    blob = await store.open(key, start, stop)
    return b"".join([chunk async for chunk in blob.chunks])


async def keys(store: BlobStore, prefix: str = "") -> set[str]:
    return {info.key async for info in store.list(prefix)}


async def test_put_then_read_back(blob_store: BlobStore) -> None:
    await blob_store.put("e/f/r/one", chunks_of(DATA))
    assert await read_all(blob_store, "e/f/r/one") == DATA
    blob = await blob_store.open("e/f/r/one")
    assert (blob.size, blob.start, blob.stop, blob.length) == (len(DATA), 0, len(DATA), len(DATA))


async def test_large_put_streams_in_parts(blob_store: BlobStore) -> None:
    await blob_store.put("big", chunks_of(BIG, 1024 * 1024))
    assert await read_all(blob_store, "big") == BIG
    infos = [info async for info in blob_store.list()]
    assert [(i.key, i.size) for i in infos] == [("big", len(BIG))]


async def test_empty_blob(blob_store: BlobStore) -> None:
    await blob_store.put("empty", chunks_of(b""))
    assert await read_all(blob_store, "empty") == b""
    assert (await blob_store.open("empty")).size == 0


async def test_ranges(blob_store: BlobStore) -> None:
    await blob_store.put("r", chunks_of(DATA))
    assert await read_all(blob_store, "r", 10, 20) == DATA[10:20]
    assert await read_all(blob_store, "r", len(DATA) - 5) == DATA[-5:]
    blob = await blob_store.open("r", 100, 200)
    assert (blob.size, blob.start, blob.stop) == (len(DATA), 100, 200)


async def test_missing_blob(blob_store: BlobStore) -> None:
    with pytest.raises(BlobNotFound):
        await blob_store.open("no/such/blob")


async def test_delete_is_idempotent_and_by_list(blob_store: BlobStore) -> None:
    for name in ("a/1", "a/2", "b/1"):
        await blob_store.put(name, chunks_of(b"x"))
    await blob_store.delete(["a/1", "never/there", "a/2"])
    await blob_store.delete([])
    assert await keys(blob_store) == {"b/1"}
    with pytest.raises(BlobNotFound):
        await blob_store.open("a/1")


async def test_list_by_prefix_and_delete_prefix(blob_store: BlobStore) -> None:
    for name in ("e1/f1/r1/b1", "e1/f1/r2/b1", "e1/f2/r1/b1", "e10/f1/r1/b1"):
        await blob_store.put(name, chunks_of(b"x"))
    assert await keys(blob_store, "e1/f1") == {"e1/f1/r1/b1", "e1/f1/r2/b1"}
    assert await keys(blob_store, "e1") == {"e1/f1/r1/b1", "e1/f1/r2/b1", "e1/f2/r1/b1"}
    assert await delete_prefix(blob_store, "e1/f1") == 2
    assert await keys(blob_store) == {"e1/f2/r1/b1", "e10/f1/r1/b1"}
    info = [i async for i in blob_store.list("e10")].pop()
    assert info.size == 1 and abs(info.modified - datetime.now(UTC)) < timedelta(minutes=5)


class Refused(Exception):
    pass


async def failing_after(data: bytes, fail_at: int) -> AsyncIterator[bytes]:
    sent = 0
    async for chunk in chunks_of(data, 16 * 1024 if len(data) < 1024 * 1024 else 256 * 1024):
        if sent >= fail_at:
            raise Refused
        sent += len(chunk)
        yield chunk


@pytest.mark.parametrize("size", [100_000, len(BIG)])
async def test_a_failing_source_stores_nothing(blob_store: BlobStore, size: int) -> None:
    with pytest.raises(Refused):
        await blob_store.put("half", failing_after(BIG[:size], size // 2))
    assert await keys(blob_store) == set()
    with pytest.raises(BlobNotFound):
        await blob_store.open("half")
    assert await blob_store.delete_incomplete(datetime.now(UTC) + timedelta(seconds=1)) == 0


async def test_overwrite_is_atomic(blob_store: BlobStore) -> None:
    await blob_store.put("k", chunks_of(b"old"))
    with pytest.raises(Refused):
        await blob_store.put("k", failing_after(BIG, 6 * 1024 * 1024))
    assert await read_all(blob_store, "k") == b"old"


async def test_unreachable_store_raises_storage_error(tmp_path: object) -> None:
    store = s3_blob_store(
        "bucket", endpoint="http://127.0.0.1:9", region="us-east-1", access_key_id="k", secret_access_key="s"
    )
    with pytest.raises(FileStorageError):
        await store.put("k", chunks_of(b"data"))


async def test_local_store_removes_staged_leftovers(tmp_path: object) -> None:
    from pathlib import Path

    root = Path(str(tmp_path)) / "blobs"
    store = LocalBlobStore(root)
    await store.put("e/f/r/kept", chunks_of(b"x"))
    staged = root / "e" / "f" / "r" / "b#1"
    staged.write_bytes(b"half an upload")
    assert await store.delete_incomplete(datetime.now(UTC) - timedelta(hours=1)) == 0  # too young
    assert staged.exists()
    assert await store.delete_incomplete(datetime.now(UTC) + timedelta(seconds=1)) == 1
    assert not staged.exists()
    assert {i.key async for i in store.list()} == {"e/f/r/kept"}
