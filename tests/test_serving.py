"""Production serving: `recordbase serve --workers 2` over one database, configured from the environment.

A schema change made through one worker is seen by the other at once; `/metrics` from any worker
sums both (prometheus-client multiprocess mode); logs are JSON lines carrying the request id.
"""

from __future__ import annotations

import gc
from pathlib import Path

import httpx
import orjson
import pytest

from recordbase.app import GC_YOUNG_THRESHOLD, create_app
from recordbase.settings import Settings
from tests.api.helpers import field
from tests.conftest import LiveServer

pytestmark = pytest.mark.anyio


def workers(settings: Settings, log: Path) -> LiveServer:
    """`recordbase serve --workers 2`, its JSON logs (with access lines) in `log`."""
    return LiveServer(
        settings,
        workers=2,
        log=log,
        ready="/readyz",
        startup_seconds=60,
        env={"RECORDBASE_ACCESS_LOG": "true"},
    )


def entries(server: LiveServer) -> list[dict[str, object]]:
    """The JSON log lines written so far (both workers share the file)."""
    assert server.log is not None
    lines = server.log.read_bytes().splitlines()
    return [orjson.loads(line) for line in lines if line.startswith(b"{") and line.endswith(b"}")]


def probe_pids(server: LiveServer) -> set[object]:
    """Workers that have answered a probe request (the access log names the writing process)."""
    return {
        entry["pid"]
        for entry in entries(server)
        if entry.get("event") == "request" and str(entry.get("request_id", "")).startswith("probe-")
    }


def fresh(
    server: LiveServer, token: str, method: str, path: str, body: object = None, probe: str = ""
) -> httpx.Response:
    """One request on a new connection, so that either worker may take it."""
    headers = {"Authorization": f"Bearer {token}", "Connection": "close", "X-Request-Id": probe or "setup"}
    return httpx.request(method, f"{server.url}{path}", headers=headers, json=body, timeout=10)


async def test_two_workers_share_one_database(settings: Settings, tmp_path: Path) -> None:
    server = workers(settings, tmp_path / "serve.log")
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
    access = [e for e in entries(server) if e.get("request_id") == "probe-1" and e.get("event") == "request"]
    assert (
        access
        and access[0]["route"] == "/api/EntityService/{entity_name}/read"
        and access[0]["status"] == 200
    )


def check_schema_change_is_seen_by_every_worker(server: LiveServer, token: str) -> int:
    """Create an entity through one worker; read it on new connections until both workers answered."""
    body = {"entityDefinition": {"name": "Ticket", "fields": [field("title")]}}
    assert fresh(server, token, "POST", "/api/Entity", body).status_code == 200
    sent = 0
    while (sent == 0 or len(probe_pids(server)) < 2) and sent < 400:
        response = fresh(server, token, "GET", "/api/EntityService/Ticket/read", probe=f"probe-{sent + 1}")
        assert response.status_code == 200, response.text
        sent += 1
    assert len(probe_pids(server)) == 2
    return sent


async def test_a_server_process_settles_its_garbage_collector_and_a_test_app_does_not(
    settings: Settings,
) -> None:
    """`recordbase serve`'s app freezes what start-up loaded and collects the youngest generation
    less often (issue 11: 11-15 % of a PostgreSQL read's CPU); an app built for tests leaves the
    interpreter as it found it."""
    before = gc.get_threshold()
    try:
        plain = create_app(settings)
        async with plain.router.lifespan_context(plain):
            assert gc.get_threshold() == before
        gc.unfreeze()
        served = create_app(settings, server=True)
        async with served.router.lifespan_context(served):
            assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
