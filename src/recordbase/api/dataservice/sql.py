"""`POST …/v1/query/execute`: read-only SQL over entities (docs/sql.md).

Body: `{"query": "<SELECT …>", "queryOptions"?: {"relationshipsAsScalar": bool, "resolveChoiceSets": bool},
"routingContext"?: {"entityRoutings": [{"entityName", "folderId"}]}}`; answer `{"results": [row, …]}`.
recordbase has one tenant and no folders, so a routing without `overrideEntityName` changes nothing;
an override, or an option recordbase does not know, is refused (`UNSUPPORTED`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from recordbase.api.http import JSONResponse, json_body
from recordbase.core.actors import Actor
from recordbase.core.sql.service import SqlOptions
from recordbase.errors import BadRequest, Unsupported
from recordbase.services import Services

OPTIONS = {"relationshipsAsScalar": "relationships_as_scalar", "resolveChoiceSets": "resolve_choice_sets"}


async def execute(request: Request, actor: Actor, services: Services) -> Response:
    body = await json_body(request, services.settings.max_body_bytes)
    if not isinstance(body, Mapping):
        raise BadRequest("The body must be a JSON object with a 'query'.")
    _check_routing(body.get("routingContext"))
    rows = await services.sql.execute(body.get("query"), _options(body.get("queryOptions")), actor)
    return JSONResponse({"results": rows})


def _options(raw: object) -> SqlOptions:
    if raw is None:
        return SqlOptions()
    if not isinstance(raw, Mapping):
        raise BadRequest("'queryOptions' must be an object.")
    unknown = sorted(set(raw) - set(OPTIONS))
    if unknown:
        raise Unsupported(f"Query option '{unknown[0]}' is not supported by this server.")
    values: dict[str, Any] = {}
    for wire, name in OPTIONS.items():
        value = raw.get(wire, False)
        if not isinstance(value, bool):
            raise BadRequest(f"'queryOptions.{wire}' must be true or false.")
        values[name] = value
    return SqlOptions(**values)


def _check_routing(raw: object) -> None:
    if raw is None:
        return
    routings = raw.get("entityRoutings") if isinstance(raw, Mapping) else None
    if not isinstance(routings, list) or not all(isinstance(r, Mapping) for r in routings):
        raise BadRequest("'routingContext.entityRoutings' must be a list of objects.")
    if any(r.get("overrideEntityName") for r in routings):
        raise Unsupported("'overrideEntityName' in 'routingContext' is not supported by this server.")
