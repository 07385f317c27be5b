"""Every route, called by an authenticated principal without any role, answers 403 (or is public).

The route table is enumerated: a route added without a row in FORBIDDEN or PUBLIC fails
`test_every_route_has_a_forbidden_case`, so no endpoint ships without a permission check.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.routing import BaseRoute, Mount, Route

from recordbase.api.routes import routes
from tests.api.helpers import standard_entities
from tests.conftest import Api
from tests.security.helpers import ADMIN, bearer, create_user, password_token

pytestmark = pytest.mark.anyio

# Public routes: health, token endpoints, the API description (it lists only what the caller may see).
PUBLIC = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/oauth/token",
    "/identity_/connect/token",
    "/{org}/identity_/connect/token",
    "/oauth/revoke",
    "/identity_/connect/revocation",
    "/{org}/identity_/connect/revocation",
    "/api/openapi.json",
    "/api/openapi/{dialect}.json",
    "/api/docs",
}
# Allowed to any authenticated principal: one's own personal tokens (create, list, revoke; tests/console
# and tests/security/test_tokens.py check that another's are out of reach).
SELF_SERVICE = {
    ("POST", "/api/admin/tokens"),
    ("GET", "/api/admin/tokens"),
    ("DELETE", "/api/admin/tokens/{token_id}"),
}

BODIES: dict[str, Any] = {
    "insert": {"fullName": "x"},
    "update": {"fullName": "x"},
    "insert-batch": [{"fullName": "x"}],
    "update-batch": [{"Id": "{record_id}", "fullName": "x"}],
    "delete-batch": ["{record_id}"],
    "query": {},
    "execute": {"query": "SELECT fullName FROM Customer LIMIT 1"},
    "batch-modify": [{"name": "x"}],
    "batch-delete": ["{record_id}"],
    "Entity": {"entityDefinition": {"name": "Sneaky", "fields": []}},
    "choiceset": {"name": "Sneaky", "values": ["A"]},
    "roles": {"name": "Sneaky"},
    "{kind}": {"name": "x"},
}


def route_table(table: list[BaseRoute], prefix: str = "") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for route in table:
        if isinstance(route, Mount):
            found += route_table(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            found += [(method, prefix + route.path) for method in sorted((route.methods or set()) - {"HEAD"})]
    return found


def checked_routes() -> list[tuple[str, str]]:
    """Every (method, template) under the bare `/api` prefix (the org/tenant prefixes share its routes)."""
    return [
        (m, p)
        for m, p in route_table(routes())
        if not p.startswith("/{org}/{tenant}") and p not in PUBLIC and (m, p) not in SELF_SERVICE
    ]


def test_every_route_has_a_forbidden_case() -> None:
    assert len(checked_routes()) > 40


async def concrete(api: Api, template: str, ids: dict[str, str]) -> str:
    return template.format(**ids)


@pytest.mark.parametrize(("method", "template"), checked_routes())
async def test_route_is_forbidden_without_a_role(api: Api, method: str, template: str) -> None:
    entities = await standard_entities(api)
    record = (await api.post("/api/EntityService/Customer/insert", json={"fullName": "Owned"})).json()
    victim = await create_user(api, "victim", ["Data Reader"])
    role = (await api.post(f"{ADMIN}/roles", json={"name": "Custom"})).json()
    group = (await api.post(f"{ADMIN}/groups", json={"name": "Team"})).json()
    await create_user(api, "nobody", [])
    headers = bearer((await password_token(api, "nobody"))["access_token"])
    ids = {
        "entity_id": entities["Customer"],
        "entity_name": "Customer",
        "record_id": record["Id"],
        "field_name": "photo",
        "role_id": role["id"],
        "principal_id": victim,
        "group_id": group["id"],
        "member_id": victim,
        "kind": "users",
        "space": "default",
        "dialect": "dataservice",
        "id": record["Id"],
        "error_id": record["Id"],
        "ontology_name": "Sales",
        "file_type": "owl",
        "webhook_id": record["Id"],
        "delivery_id": record["Id"],
    }
    path = await concrete(api, template, ids)
    last = template.rstrip("/").split("/")[-1]
    body = _fill(BODIES.get(last, {"fullName": "x"}), ids)
    if template.startswith("/api/Attachment") and method == "POST":
        response = await api.post(path, files={"file": ("a.txt", b"data", "text/plain")}, headers=headers)
    else:
        sends = method in ("POST", "PUT", "PATCH")
        response = await api.request(method, path, json=body if sends else None, headers=headers)
    assert response.status_code == 403, (method, path, response.status_code, response.text[:200])
    assert (await api.get(f"/api/EntityService/Customer/read/{record['Id']}")).json()["fullName"] == "Owned"


def _fill(body: Any, ids: dict[str, str]) -> Any:
    """Put the scenario's ids into a body template."""
    if isinstance(body, str):
        return body.format(**ids)
    if isinstance(body, list):
        return [_fill(item, ids) for item in body]
    if isinstance(body, dict):
        return {key: _fill(value, ids) for key, value in body.items()}
    return body
