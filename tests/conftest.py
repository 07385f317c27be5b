"""Fixtures: every API test runs on a fresh SQLite file and on a fresh PostgreSQL schema, through real HTTP.

PostgreSQL comes from RECORDBASE_TEST_POSTGRES_URL (default: the local server on 127.0.0.1:5432,
database `test`). Without CI it is skipped when unreachable; under CI=true that is a failure.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from recordbase.app import create_app
from recordbase.services import Services
from recordbase.settings import Settings

POSTGRES_URL = os.environ.get("RECORDBASE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgres"]


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--max-examples N`: schemathesis examples per operation in tests/fuzz (a deeper, nightly-style run)."""
    parser.addoption(
        "--max-examples",
        type=int,
        default=int(os.environ.get("RECORDBASE_FUZZ_MAX_EXAMPLES", "10")),
        help="schemathesis examples per operation in tests/fuzz (default 10, CI's bounded run)",
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _postgres_reachable() -> bool:
    try:
        connection = await asyncpg.connect(POSTGRES_URL, timeout=5)
    except (OSError, asyncpg.PostgresError):
        return False
    await connection.close()
    return True


@pytest.fixture(params=BACKENDS)
async def settings(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Settings]:
    """Settings for a brand-new database of the requested backend, removed afterwards."""
    if request.param == "sqlite":
        yield Settings(data_dir=tmp_path / "data", database_url="")
        return
    if not await _postgres_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI but {POSTGRES_URL} is unreachable")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL}")
    schema = "t_" + uuid.uuid4().hex[:16]
    yield Settings(data_dir=tmp_path / "data", database_url=POSTGRES_URL, database_schema=schema)
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()


class Api:
    """An HTTP client on the app plus the app's services, for reading the database after a write."""

    def __init__(self, client: httpx.AsyncClient, services: Services, token: str) -> None:
        self.client = client
        self.services = services
        self.token = token

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return await self.client.request(method, url, **kwargs)

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.client.post(url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.client.patch(url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.client.delete(url, **kwargs)


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        token = await services.tokens.create_admin_token("tests")
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=headers
        ) as client:
            yield Api(client, services, token)


@pytest.fixture
def backend_name(settings: Settings) -> Iterator[str]:
    yield "postgres" if settings.is_postgres else "sqlite"


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LiveServer:
    """A real `recordbase serve` process on 127.0.0.1, for what needs a socket or a process: the uipath
    SDK, a SIGKILL mid-write (`kill`, then `start` again on the same data and port), several workers.

    `workers` > 1 serves with `--workers`; `log` collects the server's output (else it is dropped);
    `ready` is the path polled until it answers 200; `env` adds environment variables.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        workers: int = 1,
        log: Path | None = None,
        ready: str = "/healthz",
        startup_seconds: float = 90,
        env: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers, self.log, self.ready, self.startup_seconds = workers, log, ready, startup_seconds
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("RECORDBASE_", "UIPATH_")) and k != "PROMETHEUS_MULTIPROC_DIR"
            },
            "RECORDBASE_DATA_DIR": str(settings.data_dir),
            "RECORDBASE_DATABASE_URL": settings.database_url,
            "RECORDBASE_DATABASE_SCHEMA": settings.database_schema,
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.token = ""

    def command(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "recordbase.cli", *args],
            env=self.env,
            capture_output=True,
            timeout=60,
            check=True,
        )
        return done.stdout.decode().strip()

    def start(self) -> None:
        """Start (or restart, after `kill` or `stop`) and wait until `ready` answers 200."""
        command = [sys.executable, "-m", "recordbase.cli", "serve", "--port", str(self.port)]
        if self.workers > 1:
            command += ["--workers", str(self.workers)]
        if self.log is None:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        else:
            with self.log.open("ab") as sink:
                self.process = subprocess.Popen(command, env=self.env, stdout=sink, stderr=sink)
        deadline = time.monotonic() + self.startup_seconds
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}{self.ready}", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"recordbase did not start within {self.startup_seconds:.0f} s")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, as a crash or the OOM killer would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def admin_token(self) -> str:
        """The token the first start saved in the data directory."""
        return (self.settings.data_dir / "admin-token").read_text().strip()

    def client(self, prefix: str = "/api", timeout: float = 60) -> httpx.Client:
        """A client on the server with the admin token, paths under `prefix`."""
        headers = {"Authorization": f"Bearer {self.admin_token()}"}
        return httpx.Client(base_url=f"{self.url}{prefix}", headers=headers, timeout=timeout)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(settings)
    server.start()
    try:
        yield server
    finally:
        server.stop()
