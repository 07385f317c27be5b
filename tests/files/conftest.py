"""Fixtures of the blob-store contract suite: each test runs on the local store and on S3 (SeaweedFS)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from recordbase.files.objectstore import LocalBlobStore
from recordbase.files.store import BlobStore
from tests.files.seaweed import SeaweedServer, seaweed

__all__ = ["seaweed"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["local", "s3"])
def blob_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "blobs")
        return
    server: SeaweedServer = request.getfixturevalue("seaweed")
    yield server.store(prefix=f"contract-{uuid.uuid4().hex}")


async def chunks_of(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]
