"""EntityService query endpoints: `POST …/query` (UiPath body) and `GET …/read` with OData parameters.

Both answer `{totalRecordCount, value, hasNextPage, nextCursor?}` (`value` is never null).
`nextCursor` is present when another page follows; send it back as `"cursor"` in the next query
body (or `cursor=` on `/read`) with the same filter and sort, and `start` 0: keyset paging, so
a deep page costs what the first one costs. `start` keeps working as an OFFSET.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from recordbase.api.dataservice.params import entity_ref, level
from recordbase.api.http import JSONResponse, json_body
from recordbase.core.actors import Actor
from recordbase.core.expand import MAX_LEVEL, plain
from recordbase.core.query import parse_odata, parse_query
from recordbase.core.query.service import QueryPage, QueryRequest
from recordbase.core.query.uipath import canonical_keys
from recordbase.errors import InvalidCursor
from recordbase.services import Services

ODATA_PARAMETERS = ("$filter", "$orderby", "$select", "$expand", "$top", "$skip", "cursor")


def has_odata(request: Request) -> bool:
    """Whether a list request uses the OData parameters (then it is answered here)."""
    return any(name in request.query_params for name in ODATA_PARAMETERS)


async def query_records(request: Request, actor: Actor, services: Services) -> Response:
    depth = level(request)
    body = canonical_keys(await json_body(request, services.settings.max_body_bytes))
    query = parse_query(body, services.query.limits)
    cursor = _cursor(body.get("cursor") if isinstance(body, Mapping) else None)
    page = await services.query.run(entity_ref(request), QueryRequest(query, depth, after=cursor), actor)
    return JSONResponse(render(page, depth, query.select, actor))


async def list_records_odata(request: Request, actor: Actor, services: Services) -> Response:
    """`GET …/read?$filter=…`: the OData subset (core/query/odata.py) over the same engine.

    `$expand` raises the expansion level to reach every listed relationship; `expansionLevel`
    can still ask for more.
    """
    query = parse_odata(request.query_params, services.query.limits)
    deepest = max((name.count(".") + 2 for name in query.expand), default=0)
    depth = min(max(level(request), deepest), MAX_LEVEL)
    cursor = _cursor(request.query_params.get("cursor"))
    page = await services.query.run(entity_ref(request), QueryRequest(query, depth, after=cursor), actor)
    return JSONResponse(render(page, depth, query.select, actor))


def _cursor(raw: object) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise InvalidCursor("'cursor' must be the string a previous page returned as 'nextCursor'.")
    return raw


def render(page: QueryPage, depth: int, select: tuple[str, ...] | None, actor: Actor) -> dict[str, Any]:
    """The UiPath list envelope; with a projection each record keeps `Id` and the selected fields."""
    records = [plain(page.entity, r, depth, actor.permissions) for r in page.records]
    if select is not None:
        keep = {"Id", *select}
        records = [{k: v for k, v in r.items() if k in keep} for r in records]
    body: dict[str, Any] = {"totalRecordCount": page.total, "value": records, "hasNextPage": page.has_next}
    if page.next_cursor is not None:
        body["nextCursor"] = page.next_cursor
    return body
