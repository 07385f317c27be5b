"""Entity schema endpoints (`/api/Entity…`, `/api/v3/entities…`) and choice sets."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from recordbase.api.dataservice.schema_wire import (
    choice_set_json,
    choice_values_json,
    entity_json,
    parse_choice_set_draft,
    parse_entity_draft,
    parse_entity_patch,
)
from recordbase.api.http import JSONResponse, int_param, json_body
from recordbase.core.actors import Actor
from recordbase.core.catalog import changes_access_control
from recordbase.core.permissions import AdminRight
from recordbase.core.query.limits import MAX_START
from recordbase.errors import BadRequest
from recordbase.services import Services


async def list_entities(request: Request, actor: Actor, services: Services) -> Response:
    """Every entity with View All Schema; otherwise those the caller has some access to.

    A listing checks the stored schema version first (one tiny query; record reads do not), so a
    change made by another process (`recordbase schema apply`) shows at once, on SQLite too.
    """
    actor.permissions.require_schema_read()
    await services.schemas.refresh_if_changed()
    schema = services.schemas.current
    visible = [e for e in schema.entities if actor.permissions.can_view_entity(e)]
    return JSONResponse([entity_json(e, schema, actor.permissions.schema_fields(e)) for e in visible])


async def get_entity(request: Request, actor: Actor, services: Services) -> Response:
    return await _one_entity(request.path_params["entity_id"], actor, services)


async def get_entity_by_name(request: Request, actor: Actor, services: Services) -> Response:
    return await _one_entity(request.path_params["entity_name"], actor, services)


async def _one_entity(ref: str, actor: Actor, services: Services) -> Response:
    actor.permissions.require_schema_read()
    schema, entity = await services.records.entity(ref)
    actor.permissions.require_view(entity)
    return JSONResponse(entity_json(entity, schema, actor.permissions.schema_fields(entity)))


async def create_entity(request: Request, actor: Actor, services: Services) -> Response:
    actor.permissions.require_right(AdminRight.CUSTOMIZE_SCHEMA)
    body = await json_body(request, services.settings.max_body_bytes)
    draft = parse_entity_draft(body, services.schemas.current)
    entity = await services.schema_service.create_entity(draft, actor.id)
    return JSONResponse(entity.id)


async def delete_entity(request: Request, actor: Actor, services: Services) -> Response:
    actor.permissions.require_right(AdminRight.CUSTOMIZE_SCHEMA)
    await services.schema_service.delete_entity(request.path_params["entity_id"], actor.id)
    return Response(status_code=204)


async def update_entity(request: Request, actor: Actor, services: Services) -> Response:
    """PATCH metadata (`displayName`, `description`, `isRbacEnabled`) and add/remove/update fields."""
    actor.permissions.require_right(AdminRight.CUSTOMIZE_SCHEMA)
    body = await json_body(request, services.settings.max_body_bytes)
    _, entity = await services.records.entity(request.path_params["entity_id"])
    patch = parse_entity_patch(body, services.schemas.current)
    if changes_access_control(entity, patch):
        actor.permissions.require_right(AdminRight.MANAGE_PERMISSIONS)
    updated = await services.schema_service.update_entity(entity.id, patch, actor.id)
    return JSONResponse(entity_json(updated, services.schemas.current))


async def list_choice_sets(request: Request, actor: Actor, services: Services) -> Response:
    _require_choice_sets(actor, services)
    await services.schemas.refresh_if_changed()
    return JSONResponse([choice_set_json(c) for c in services.schemas.current.choice_sets])


async def create_choice_set(request: Request, actor: Actor, services: Services) -> Response:
    actor.permissions.require_right(AdminRight.CUSTOMIZE_SCHEMA)
    body = await json_body(request, services.settings.max_body_bytes)
    choice_set = await services.schema_service.create_choice_set(parse_choice_set_draft(body), actor.id)
    return JSONResponse(choice_set.id)


def _require_choice_sets(actor: Actor, services: Services) -> None:
    """Choice sets are schema: visible to those who may see some entity."""
    actor.permissions.require_schema_read()


async def choice_set_values(request: Request, actor: Actor, services: Services) -> Response:
    """`query_expansion`: the values as a JSON *string* in `jsonValue`, which is what the SDK parses."""
    body = await json_body(request, services.settings.max_body_bytes) if await request.body() else {}
    _require_choice_sets(actor, services)
    ref = request.path_params["entity_id"]
    schema = services.schemas.current
    choice_set = schema.find_choice_set(ref)
    if choice_set is None:
        await services.schemas.refresh_if_changed()
        choice_set = services.schemas.current.choice_set(ref)
    start = int_param(request, "start", _body_int(body, "start", 0), 0, MAX_START)
    limit = int_param(request, "limit", _body_int(body, "limit", 1000), 1, 1000)
    values = choice_values_json(choice_set)
    page = values[start : start + limit]
    return JSONResponse({"jsonValue": orjson.dumps(page).decode(), "totalRecordCount": len(values)})


def _body_int(body: object, key: str, default: int) -> int:
    """The TypeScript SDK sends start/limit in the body; the Python SDK in the query string."""
    value = body.get(key, default) if isinstance(body, dict) else default
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_START:
        raise BadRequest(f"'{key}' must be an integer from 0 to {MAX_START}.")
    return value
