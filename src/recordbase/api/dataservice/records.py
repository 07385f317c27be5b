"""EntityService record endpoints: read, list, insert, update, delete."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from recordbase.api.http import JSONResponse, int_param, json_body
from recordbase.core.actors import Actor
from recordbase.core.expand import MAX_LEVEL, plain
from recordbase.services import Services

DEFAULT_LEVEL = 2


def entity_ref(request: Request) -> str:
    params = request.path_params
    return str(params.get("entity_id") or params["entity_name"])


def level(request: Request) -> int:
    return int_param(request, "expansionLevel", DEFAULT_LEVEL, 0, MAX_LEVEL)


async def read_record(request: Request, actor: Actor, services: Services) -> Response:
    depth = level(request)
    entity, record = await services.records.get(entity_ref(request), request.path_params["record_id"], depth)
    return JSONResponse(plain(entity, record, depth))


async def list_records(request: Request, actor: Actor, services: Services) -> Response:
    from recordbase.api.dataservice import query  # noqa: PLC0415 - query imports this module

    if query.has_odata(request):
        return await query.list_records_odata(request, actor, services)
    settings = services.settings
    start = int_param(request, "start", 0, 0, 2**31)
    limit = int_param(request, "limit", settings.list_limit_default, 1, settings.list_limit_max)
    depth = level(request)
    page = await services.records.page(entity_ref(request), start, limit, depth)
    return JSONResponse(
        {"totalRecordCount": page.total, "value": [plain(page.entity, r, depth) for r in page.records]}
    )


async def insert_record(request: Request, actor: Actor, services: Services) -> Response:
    depth = level(request)
    body = await json_body(request, services.settings.max_body_bytes)
    entity, record = await services.records.insert(entity_ref(request), body, actor, depth)
    return JSONResponse(plain(entity, record, depth))


async def update_record(request: Request, actor: Actor, services: Services) -> Response:
    depth = level(request)
    body = await json_body(request, services.settings.max_body_bytes)
    record_id = request.path_params["record_id"]
    entity, record = await services.records.update(entity_ref(request), record_id, body, actor, depth)
    return JSONResponse(plain(entity, record, depth))


async def delete_record(request: Request, actor: Actor, services: Services) -> Response:
    await services.records.delete(entity_ref(request), request.path_params["record_id"], actor)
    return JSONResponse(True)
