"""The OpenAPI description: generated from the live schema, served, complete, usable by a client generator."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from starlette.routing import Mount, Route

from recordbase.api.operation import Group, Operation
from recordbase.api.routes import GROUPS, described, routes
from recordbase.settings import Settings
from tests.api.helpers import create_entity, field, standard_entities
from tests.conftest import Api, LiveServer

pytestmark = pytest.mark.anyio
SCHEMAS = "#/components/schemas/"


async def spec(api: Api, url: str = "/api/openapi.json") -> dict[str, Any]:
    response = await api.get(url)
    assert response.status_code == 200, response.text
    return dict(response.json())


def resolve(document: dict[str, Any], ref: str) -> dict[str, Any]:
    return dict(document["components"]["schemas"][ref.removeprefix(SCHEMAS)])


async def test_every_entity_has_its_own_paths_and_typed_record_schemas(api: Api) -> None:
    await standard_entities(api)
    document = await spec(api)
    schemathesis.openapi.from_dict(document)  # a valid OpenAPI 3.1 document, or this raises
    paths = document["paths"]
    for entity in ("Customer", "Purchase"):
        base = f"/api/EntityService/{entity}"
        assert set(paths[f"{base}/read"]) == {"get"}
        assert set(paths[f"{base}/insert"]) == {"post"}
        assert paths[f"{base}/read/{{record_id}}"]["get"]["operationId"] == f"{entity}_read"
    customer = document["components"]["schemas"]["Customer"]["properties"]
    assert customer["Id"]["format"] == "uuid" and customer["CreateTime"]["format"] == "date-time"
    assert customer["fullName"]["type"] == ["string", "null"]  # null in rows older than the rule
    assert customer["age"] == {"type": ["integer", "null"], "minimum": 0, "maximum": 150}
    assert customer["birthday"]["type"] == ["string", "null"] and customer["birthday"]["format"] == "date"
    assert customer["photo"]["anyOf"][0] == {"$ref": f"{SCHEMAS}rb.File"}
    status = resolve(document, customer["status"]["anyOf"][0]["$ref"])
    assert status["enum"] == [0, 1, 2] and status["x-enum-varnames"] == ["Open", "Won", "Lost"]
    assert customer["tags"]["type"] == ["array", "null"]
    assert customer["tags"]["items"] == {"$ref": f"{SCHEMAS}ChoiceSet.Tags"}
    purchase = document["components"]["schemas"]["Purchase"]["properties"]
    assert {"$ref": f"{SCHEMAS}Customer"} in purchase["customer"]["anyOf"]


async def test_insert_schema_requires_required_fields_and_describes_server_fields_as_sent_back(
    api: Api,
) -> None:
    """A record as read may be sent back (UiPath ignores server-managed keys): the description says
    what the server takes for them, and the server ignores what it says it ignores."""
    await standard_entities(api)
    insert = (await spec(api))["components"]["schemas"]["Customer.Insert"]
    assert insert["required"] == ["fullName"] and insert["additionalProperties"] is False
    assert insert["properties"]["Id"]["type"] == ["string", "null"]
    assert "type" not in insert["properties"]["seq"]  # an auto-number: any value, ignored
    assert insert["properties"]["photo"]["type"] == ["object", "null"]  # a file field's value as read
    assert insert["properties"]["fullName"]["maxLength"] == 50
    echoed = {"Id": "not-this-id", "UpdateTime": "whenever", "seq": 999, "fullName": "Ada"}
    created = await api.post("/api/EntityService/Customer/insert", json=echoed)
    assert created.status_code == 200, created.text
    assert created.json()["Id"] != "not-this-id" and created.json()["seq"] != 999
    refused = await api.post("/api/EntityService/Customer/insert", json={**echoed, "UpdateTime": {}})
    assert refused.status_code == 400, refused.text


async def test_description_follows_schema_changes(api: Api) -> None:
    before = await spec(api)
    await create_entity(api, "Invoice", [field("number", "INT")])
    after = await spec(api)
    assert "/api/EntityService/Invoice/read" in after["paths"]
    assert "/api/EntityService/Invoice/read" not in before["paths"]
    assert before["info"]["version"] != after["info"]["version"]


async def test_dialect_description_and_unknown_dialect(api: Api) -> None:
    await standard_entities(api)
    document = await spec(api, "/api/openapi/dataservice.json")
    assert "/api/EntityService/Customer/insert" in document["paths"] and "/healthz" not in document["paths"]
    pipeliner = await spec(api, "/api/openapi/pipeliner.json")
    assert set(pipeliner["paths"]) >= {"/api/v100/rest/spaces/{space}/entities/Customer/{id}"}
    assert not any(path.startswith("/api/EntityService") for path in pipeliner["paths"])
    missing = await api.get("/api/openapi/nope.json")
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"


async def test_description_needs_a_token_unless_public(api: Api) -> None:
    response = await api.client.get("/api/openapi.json", headers={"Authorization": ""})
    assert response.status_code == 401 and response.json()["traceId"] == response.headers["x-request-id"]


async def test_docs_page_is_served_from_installed_files(api: Api) -> None:
    page = await api.client.get("/api/docs", headers={"Authorization": ""})
    assert page.status_code == 200 and "docs/static/swagger-ui-bundle.js" in page.text
    bundle = await api.client.get("/api/docs/static/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and "SwaggerUIBundle" in bundle.text[:2000]


def normalized(path: str) -> str:
    return re.sub(r"{[^}]+}", "{}", path)


def served_routes() -> set[tuple[str, str]]:
    """(method, path) of every route, with the `/api` mount's routes under `/api`."""
    found: set[tuple[str, str]] = set()
    for route in routes():
        if isinstance(route, Mount) and route.path.startswith("/{org}"):
            continue  # the same routes as the `/api` mount
        found |= {(method, normalized(path)) for method, path in flat(route)}
    return found


def test_every_route_is_described() -> None:
    """Every served route comes from the route table; none was added beside it without a description."""
    table = {(op.method, normalized(op.path)) for op in described() if op.summary and op.operation_id}
    assert served_routes() - table == set()
    assert len(table) == len(described())  # no two operations describe the same route


def test_every_declared_route_is_served_in_table_order() -> None:
    served = [(m, p) for route in routes() for m, p in flat(route)]
    expected = [
        (op.method, prefix + op.path)
        for group in GROUPS
        for prefix in (group.mounts or ("",))
        for op in group.operations
    ]
    assert sorted(served) == sorted(expected)  # the order: tests/api/test_router.py


def flat(route: object, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(route, Mount):
        return [pair for child in route.routes for pair in flat(child, prefix + route.path)]
    if isinstance(route, Route):
        return [(m, prefix + route.path) for m in sorted((route.methods or set()) - {"HEAD"})]
    return []


def test_a_route_without_a_summary_is_refused() -> None:
    op = described()[0]
    with pytest.raises(ValueError, match="summary"):
        Operation(op.method, op.path, op.endpoint, op.operation_id, "", op.tag)
    assert Group((op,), mounts=("/api",)).prefix == "/api"


async def test_choiceset_route_wins_over_entity_by_id(api: Api) -> None:
    await api.post("/api/Entity/choiceset", json={"name": "Status", "values": ["A", "B"]})
    choice_sets = await api.get("/api/Entity/choiceset")
    assert choice_sets.status_code == 200 and [c["name"] for c in choice_sets.json()] == ["Status"]


async def test_generated_client_creates_and_reads_a_record(settings: Settings, tmp_path: Path) -> None:
    """`recordbase openapi` > file > openapi-python-client > a typed client that talks to a real server."""
    server = LiveServer(settings)
    token = server.command("token", "create", "--admin")
    server.start()
    try:
        client_module = generate_client(server, token, tmp_path)
        created, read = use_client(client_module, server.url, token)
    finally:
        server.stop()
    assert read == created
    assert created["fullName"] == "Ann Lee" and created["age"] == 41 and created["status"] == 1


def generate_client(server: LiveServer, token: str, tmp_path: Path) -> Any:
    import httpx

    api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
    with api:
        status = api.post("/api/Entity/choiceset", json={"name": "Status", "values": ["A", "B"]}).json()
        fields = [field("fullName", isRequired=True), field("age", "INT")]
        fields.append(field("status", "INT", "ChoiceSetSingle", choiceSetId=status))
        assert api.post(
            "/api/Entity", json={"entityDefinition": {"name": "Customer", "fields": fields}}
        ).is_success
        served = api.get("/api/openapi.json").json()
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(server.command("openapi"))
    assert served == json.loads(spec_file.read_text())
    tool = Path(sys.executable).parent / "openapi-python-client"
    env = {**os.environ, "PATH": f"{tool.parent}:{os.environ.get('PATH', '')}"}
    output = str(tmp_path / "rbclient")
    subprocess.run(
        [str(tool), "generate", "--path", str(spec_file), "--output-path", output, "--meta", "none"],
        check=True,
        capture_output=True,
        timeout=300,
        env=env,
    )
    sys.path.insert(0, str(tmp_path))
    try:
        return importlib.import_module("rbclient")
    finally:
        sys.path.remove(str(tmp_path))


def use_client(rbclient: Any, url: str, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    insert = importlib.import_module("rbclient.api.customer.customer_insert")
    read = importlib.import_module("rbclient.api.customer.customer_read")
    models = importlib.import_module("rbclient.models")
    body = models.CustomerInsert(full_name="Ann Lee", age=41, status=models.ChoiceSetStatus(1))
    with rbclient.AuthenticatedClient(base_url=url, token=token) as client:
        created = insert.sync(client=client, body=body)
        assert isinstance(created, models.Customer), created
        again = read.sync(client=client, record_id=created.id)
    for name in [m for m in sys.modules if m == "rbclient" or m.startswith("rbclient.")]:
        del sys.modules[name]
    return created.to_dict(), again.to_dict()
