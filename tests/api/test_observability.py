"""Health, readiness, request ids, Server-Timing and Prometheus metrics, through HTTP on both backends."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.routing import Match, Mount

from recordbase.api.observability import RouteTemplates
from recordbase.api.routes import routes
from tests.api.helpers import DS, standard_entities
from tests.conftest import Api

pytestmark = pytest.mark.anyio
NO_TOKEN = {"Authorization": ""}


async def test_healthz_and_readyz_need_no_token(api: Api) -> None:
    health = await api.client.get("/healthz", headers=NO_TOKEN)
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = await api.client.get("/readyz", headers=NO_TOKEN)
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "files": "ok"}}


async def test_readyz_reports_an_unreachable_database(api: Api) -> None:
    await api.services.database.close()
    ready = await api.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable" and ready.json()["checks"]["database"].startswith("failed")


async def test_request_id_is_one_value_in_header_and_trace_id(api: Api) -> None:
    given = await api.get(f"{DS}/EntityService/Nope/read", headers={"X-Request-Id": "abc-123"})
    assert given.status_code == 404
    assert given.headers["x-request-id"] == "abc-123" and given.json()["traceId"] == "abc-123"
    made = await api.get(f"{DS}/EntityService/Nope/read", headers={"X-Request-Id": "not sane!"})
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    assert made.json()["traceId"] == made.headers["x-request-id"]
    unrouted = await api.get("/no/such/path")
    assert unrouted.status_code == 404 and unrouted.headers["x-request-id"]


def stages(header: str) -> dict[str, float]:
    return {name: float(duration) for name, duration in re.findall(r"(\w+);dur=([\d.]+)", header)}


async def test_server_timing_has_database_and_total(api: Api) -> None:
    await standard_entities(api)
    created = await api.post(f"{DS}/EntityService/Customer/insert", json={"fullName": "Ann"})
    timing = stages(created.headers["server-timing"])
    assert {"auth", "parse", "db", "render", "total"} <= set(timing)
    assert 0 < timing["db"] <= timing["total"]
    listed = await api.get(f"{DS}/EntityService/Customer/read")
    assert stages(listed.headers["server-timing"])["db"] > 0


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text format (0 when absent)."""
    for line in metrics.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_are_labelled_by_route_template(api: Api) -> None:
    await standard_entities(api)
    for _ in range(3):
        assert (await api.get(f"{DS}/EntityService/Customer/read")).status_code == 200
    await api.get("/api/EntityService/Customer/read/not-a-uuid")
    await api.get("/no/such/path")
    text = (await api.client.get("/metrics", headers=NO_TOKEN)).text
    read = "/{org}/{tenant}/dataservice_/api/EntityService/{entity_name}/read"
    assert sample(text, "recordbase_http_requests_total", method="GET", route=read, status="200") == 3
    one = "/api/EntityService/{entity_name}/read/{record_id}"
    assert sample(text, "recordbase_http_requests_total", route=one, status="404") == 1
    assert sample(text, "recordbase_http_requests_total", route="<unmatched>", status="404") == 1
    assert sample(text, "recordbase_http_request_duration_seconds_count", route=read) == 3
    assert "recordbase_db_connections_in_use" in text and "# TYPE recordbase_batch_size histogram" in text
    assert sample(text, "recordbase_db_connections_in_use") == 0  # all returned between requests


def matched(routes: list[Any], scope: dict[str, Any]) -> dict[str, Any]:
    """The scope Starlette's router hands the endpoint: the route and the mounts' `root_path`."""
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            inner = {**scope, **child}
            if isinstance(route, Mount):
                return matched(list(route.routes), inner)
            return {**inner, "route": route}
    raise AssertionError(f"no route for {scope['path']}")


def test_route_templates_of_every_mount() -> None:
    table = routes()
    templates = RouteTemplates(table)
    cases = {
        "/api/EntityService/Item/read/x": "/api/EntityService/{entity_name}/read/{record_id}",
        "/acme/t1/datafabric_/api/EntityService/Item/read/x":
            "/{org}/{tenant}/datafabric_/api/EntityService/{entity_name}/read/{record_id}",
        "/acme/t1/dataservice_/api/Entity": "/{org}/{tenant}/dataservice_/api/Entity",
        "/api/Entity/choiceset": "/api/Entity/choiceset",
        "/api/v100/rest/spaces/s1/entities/Item/abc":
            "/api/v100/rest/spaces/{space}/entities/{entity_name}/{id}",
        "/api/admin/roles": "/api/admin/roles",
        "/healthz": "/healthz",
    }  # fmt: skip
    for path, template in cases.items():
        base = {"type": "http", "method": "GET", "path": path, "root_path": "", "app_root_path": ""}
        assert templates(matched(table, {**base, "path_params": {}})) == template, path


def batch_count(metrics: str, operation: str) -> float:
    found = re.search(rf'recordbase_batch_size_count\{{operation="{operation}"\}} ([\d.]+)', metrics)
    return float(found.group(1)) if found else 0.0


async def test_batch_sizes_are_observed_per_operation_in_both_dialects(api: Api) -> None:
    await standard_entities(api)
    before = (await api.get("/metrics")).text
    records = [{"fullName": "Ann"}, {"fullName": "Bob"}, {"fullName": "Cy"}]
    assert (await api.post(f"{DS}/EntityService/Customer/insert-batch", json=records)).status_code == 200
    pipeliner = "/api/v100/rest/spaces/s/entities/Customer/batch-modify"
    assert (await api.post(pipeliner, json=[{"fullName": "Di"}])).status_code == 200
    after = (await api.get("/metrics")).text
    assert batch_count(after, "insert-batch") == batch_count(before, "insert-batch") + 1
    assert batch_count(after, "batch-modify") == batch_count(before, "batch-modify") + 1
    total = re.search(r'recordbase_batch_size_sum\{operation="insert-batch"\} ([\d.]+)', after)
    assert total is not None and float(total.group(1)) >= 3
