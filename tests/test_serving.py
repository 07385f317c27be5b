"""Production serving: `recordbase serve --workers 2` over one database, configured from the environment.

A schema change made through one worker is seen by the other at once; `/metrics` from any worker
sums both (prometheus-client multiprocess mode); logs are JSON lines carrying the request id.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest

from recordbase.settings import Settings
from tests.api.helpers import field
from tests.conftest import LiveServer

pytestmark = pytest.mark.anyio


class Workers(LiveServer):
    """A `recordbase serve --workers 2` process whose logs go to a file."""

    def __init__(self, settings: Settings, log: Path) -> None:
        super().__init__(settings)
        self.log = log
        self.env["RECORDBASE_ACCESS_LOG"] = "true"
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "recordbase.cli",
            "serve",
            "--port",
            str(self.port),
            "--workers",
            "2",
        ]
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(command, env=self.env, stdout=sink, stderr=sink)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("recordbase --workers 2 did not start within 60 s")

    def entries(self) -> list[dict[str, object]]:
        """The JSON log lines written so far (both workers share the file)."""
        lines = self.log.read_bytes().splitlines()
        return [orjson.loads(line) for line in lines if line.startswith(b"{") and line.endswith(b"}")]

    def probe_pids(self) -> set[object]:
        """Workers that have answered a probe request (the access log names the writing process)."""
        return {
            entry["pid"]
            for entry in self.entries()
            if entry.get("event") == "request" and str(entry.get("request_id", "")).startswith("probe-")
        }


def fresh(
    server: Workers, token: str, method: str, path: str, body: object = None, probe: str = ""
) -> httpx.Response:
    """One request on a new connection, so that either worker may take it."""
    headers = {"Authorization": f"Bearer {token}", "Connection": "close", "X-Request-Id": probe or "setup"}
    return httpx.request(method, f"{server.url}{path}", headers=headers, json=body, timeout=10)


async def test_two_workers_share_one_database(settings: Settings, tmp_path: Path) -> None:
    server = Workers(settings, tmp_path / "serve.log")
    token = server.command("token", "create", "--admin")
    server.start()
    try:
        sent = check_schema_change_is_seen_by_every_worker(server, token)
        metrics = httpx.get(f"{server.url}/metrics", timeout=10).text  # noqa: ASYNC210
    finally:
        server.stop()
    route = 'route="/api/EntityService/{entity_name}/read",status="200"'
    counted = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines() if route in line)
    assert counted == sent
    access = [e for e in server.entries() if e.get("request_id") == "probe-1" and e.get("event") == "request"]
    assert (
        access
        and access[0]["route"] == "/api/EntityService/{entity_name}/read"
        and access[0]["status"] == 200
    )


def check_schema_change_is_seen_by_every_worker(server: Workers, token: str) -> int:
    """Create an entity through one worker; read it on new connections until both workers answered."""
    body = {"entityDefinition": {"name": "Ticket", "fields": [field("title")]}}
    assert fresh(server, token, "POST", "/api/Entity", body).status_code == 200
    sent = 0
    while (sent == 0 or len(server.probe_pids()) < 2) and sent < 400:
        response = fresh(server, token, "GET", "/api/EntityService/Ticket/read", probe=f"probe-{sent + 1}")
        assert response.status_code == 200, response.text
        sent += 1
    assert len(server.probe_pids()) == 2
    return sent
