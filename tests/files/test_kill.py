"""A server killed (SIGKILL) in the middle of an upload: the previous file stays readable, and after a
sweep no blob is left that no record references. Real processes, both databases, both stores."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from recordbase.app import open_services
from recordbase.core.file_values import StoredFile
from recordbase.settings import Settings
from tests.files.live import client, document_entity, file_server, multipart
from tests.files.seaweed import SeaweedServer, seaweed

__all__ = ["seaweed"]
pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CHUNK = 1024 * 1024


@pytest.fixture(params=["local", "s3"])
def store_server(request: pytest.FixtureRequest) -> SeaweedServer | None:
    return request.getfixturevalue("seaweed") if request.param == "s3" else None


def slow_upload(url: str, token: str, sent: list[int], stop_after: int) -> None:
    """Send up to `stop_after` MiB slowly; the server is killed while this runs."""

    def chunks() -> Iterator[bytes]:
        block = os.urandom(CHUNK)
        for _ in range(stop_after):
            sent[0] += 1
            time.sleep(0.02)
            yield block

    body, headers = multipart(chunks())
    with contextlib.suppress(httpx.HTTPError):  # the server dies meanwhile: expected
        httpx.post(url, content=body, headers={**headers, "Authorization": f"Bearer {token}"}, timeout=60)


async def test_killed_mid_upload(settings: Settings, store_server: SeaweedServer | None) -> None:
    server, local_settings = file_server(settings, store_server, files_max_bytes=str(1024 * CHUNK))
    server.start()
    try:
        with client(server) as http:
            _, record_id = document_entity(http)
            path = f"/Attachment/Document/{record_id}/content"
            assert http.post(path, files={"file": ("keep.txt", b"previous content")}).status_code == 200
            url = f"{http.base_url}{path.lstrip('/')}"
        sent = [0]
        uploader = threading.Thread(target=slow_upload, args=(url, server.token, sent, 400))
        uploader.start()
        wait_until(lambda: sent[0] >= 40)  # about 40 MiB on their way into storage
        server.kill()
        uploader.join(timeout=60)
        leftovers = staged_files(local_settings)
        server.start()
        with client(server) as http:
            again = http.get(path)
            assert again.status_code == 200 and again.content == b"previous content"
    finally:
        server.stop()
    if store_server is None:
        assert leftovers, "the kill should have caught the upload half-written"
    await assert_swept_clean(local_settings, record_id)


def wait_until(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def staged_files(settings: Settings) -> list[Path]:
    root = settings.files_dir or settings.data_dir / "files"
    return [p for p in root.rglob("*") if "#" in p.name] if settings.files_storage == "local" else []


async def assert_swept_clean(settings: Settings, record_id: str) -> None:
    async with open_services(settings) as services:
        schema, entity = await services.records.entity("Document")
        record = (await services.files.store.fetch_by_ids(schema, entity, [record_id]))[record_id]
        held = StoredFile.from_value(record["content"])
        await services.files.sweep(grace=timedelta(0))
        remaining = {info.key async for info in services.files.blobs.list()}
    assert remaining == {held.key}
    assert staged_files(settings) == []
