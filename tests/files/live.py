"""A real `recordbase serve` process for file scenarios, on the local store or on a SeaweedFS bucket."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from recordbase.settings import Settings
from tests.api.helpers import field
from tests.conftest import LiveServer
from tests.files.seaweed import SeaweedServer


def file_server(settings: Settings, seaweed: SeaweedServer | None, **env: str) -> tuple[LiveServer, Settings]:
    """A server (not started) whose files go to `seaweed` when given, else to its data directory;
    and the same settings for opening its services in the test process."""
    server = LiveServer(settings)
    if seaweed is not None:
        variables = seaweed.settings_env(f"live-{uuid.uuid4().hex}")
        server.env.update(variables)
        settings = settings.model_copy(
            update={
                "files_storage": "s3",
                "files_s3_endpoint": seaweed.endpoint,
                "files_s3_bucket": variables["RECORDBASE_FILES_S3_BUCKET"],
                "files_s3_access_key_id": variables["RECORDBASE_FILES_S3_ACCESS_KEY_ID"],
                "files_s3_secret_access_key": SecretStr(variables["RECORDBASE_FILES_S3_SECRET_ACCESS_KEY"]),
                "files_s3_prefix": variables["RECORDBASE_FILES_S3_PREFIX"],
            }
        )
    server.env.update({f"RECORDBASE_{k.upper()}": v for k, v in env.items()})
    return server, settings


def multipart(chunks: Iterator[bytes], name: str = "big.bin") -> tuple[Iterator[bytes], dict[str, str]]:
    """A streamed multipart body with one `file` part, and its content-type header."""
    boundary = uuid.uuid4().hex

    def body() -> Iterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        yield from chunks
        yield f"\r\n--{boundary}--\r\n".encode()

    return body(), {"content-type": f"multipart/form-data; boundary={boundary}"}


def client(server: LiveServer) -> httpx.Client:
    if not server.token:
        server.token = server.command("token", "create", "--admin")
    return httpx.Client(
        base_url=f"{server.url}/acme/default/dataservice_/api",
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=120,
    )


def document_entity(http: httpx.Client) -> tuple[str, str]:
    """A `Document` entity with a text and a file field, and one record; return (entity id, record id)."""
    body = {
        "displayName": "Document",
        "entityDefinition": {
            "name": "Document",
            "fields": [field("title"), field("content", "UNIQUEIDENTIFIER", "File")],
            "isRbacEnabled": False,
        },
    }
    created = http.post("/Entity", json=body)
    assert created.status_code == 200, created.text
    record = http.post("/EntityService/Document/insert", json={"title": "t"})
    assert record.status_code == 200, record.text
    return str(created.json()), str(record.json()["Id"])


def rss_kib(pid: int) -> int:
    """Resident memory of a process (Linux), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class PatternFile:
    """A read-only file-like object of `size` pseudo-random bytes, generated as read (nothing held)."""

    def __init__(self, size: int, seed: int = 7) -> None:
        self.size = size
        self.block = os.urandom(1024 * 1024) if seed else bytes(1024 * 1024)
        self.position = 0

    def read(self, count: int = -1) -> bytes:
        remaining = self.size - self.position
        count = remaining if count < 0 else min(count, remaining)
        offset = self.position % len(self.block)
        out = (self.block[offset:] + self.block * (count // len(self.block) + 1))[:count]
        self.position += count
        return out

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = (
            offset if whence == 0 else self.size + offset if whence == 2 else self.position + offset
        )
        return self.position

    def tell(self) -> int:
        return self.position

    def expected_chunks(self, chunk: int = 8 * 1024 * 1024) -> Any:
        copy = PatternFile(self.size, 0)
        copy.block = self.block
        while piece := copy.read(chunk):
            yield piece


class RssSampler:
    """Samples a process's resident memory every few milliseconds in a thread; keeps the peak."""

    def __init__(self, pid: int, every: float = 0.01) -> None:
        self.pid = pid
        self.every = every
        self.peak = rss_kib(pid)
        self._running = False
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RssSampler:
        self._running = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while self._running:
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(self.every)


@dataclass
class RoundTrip:
    size: int
    upload_seconds: float
    download_seconds: float
    baseline_kib: int
    peak_kib: int

    @property
    def growth_mib(self) -> float:
        return (self.peak_kib - self.baseline_kib) / 1024

    def rate(self, seconds: float) -> float:
        return self.size / seconds / 1e6


def round_trip(http: httpx.Client, path: str, pid: int, size: int) -> RoundTrip:
    """Upload then download `size` bytes through a live server, checking the bytes and sampling its RSS."""
    source = PatternFile(size)
    expected = hashlib.sha256()
    for piece in source.expected_chunks():
        expected.update(piece)
    baseline = rss_kib(pid)
    with RssSampler(pid) as sampler:
        started = time.perf_counter()
        answer = http.post(path, files={"file": ("big.bin", source, "application/octet-stream")})  # type: ignore[dict-item]
        uploaded = time.perf_counter()
        assert answer.status_code == 200, answer.text
        digest, received = hashlib.sha256(), 0
        with http.stream("GET", path) as response:
            assert response.status_code == 200
            for piece in response.iter_bytes(1024 * 1024):
                digest.update(piece)
                received += len(piece)
        downloaded = time.perf_counter()
    assert received == size and digest.hexdigest() == expected.hexdigest()
    return RoundTrip(size, uploaded - started, downloaded - uploaded, baseline, sampler.peak)
