"""EntityService record endpoints: read, list, insert, update, delete, and their batches."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from recordbase.api.batches import batch_body
from recordbase.api.dataservice import query
from recordbase.api.dataservice.params import entity_ref, level
from recordbase.api.errors import status_for
from recordbase.api.http import JSONResponse, bool_param, int_param, json_body
from recordbase.core.actors import Actor
from recordbase.core.batch import BatchResult, Item, Mode, Op, Outcome
from recordbase.core.expand import plain
from recordbase.core.permissions import Permissions
from recordbase.core.schema import Entity
from recordbase.errors import FieldError, ValidationFailed
from recordbase.services import Services


async def read_record(request: Request, actor: Actor, services: Services) -> Response:
    depth = level(request)
    ref, record_id = entity_ref(request), request.path_params["record_id"]
    entity, record = await services.records.get(ref, record_id, depth, actor)
    return JSONResponse(plain(entity, record, depth, actor.permissions))


async def list_records(request: Request, actor: Actor, services: Services) -> Response:
    if query.has_odata(request):
        return await query.list_records_odata(request, actor, services)
    settings = services.settings
    start = int_param(request, "start", 0, 0, 2**31)
    limit = int_param(request, "limit", settings.list_limit_default, 1, settings.list_limit_max)
    depth = level(request)
    page = await services.records.page(entity_ref(request), start, limit, depth, actor)
    return JSONResponse(
        {
            "totalRecordCount": page.total,
            "value": [plain(page.entity, r, depth, actor.permissions) for r in page.records],
        }
    )


async def insert_record(request: Request, actor: Actor, services: Services) -> Response:
    depth = level(request)
    body = await json_body(request, services.settings.max_body_bytes)
    entity, record = await services.records.insert(entity_ref(request), body, actor, depth)
    return JSONResponse(plain(entity, record, depth, actor.permissions))


async def update_record(request: Request, actor: Actor, services: Services) -> Response:
    depth = level(request)
    body = await json_body(request, services.settings.max_body_bytes)
    record_id = request.path_params["record_id"]
    entity, record = await services.records.update(entity_ref(request), record_id, body, actor, depth)
    return JSONResponse(plain(entity, record, depth, actor.permissions))


async def delete_record(request: Request, actor: Actor, services: Services) -> Response:
    await services.records.delete(entity_ref(request), request.path_params["record_id"], actor)
    return JSONResponse(True)


# Batches (docs/compat-uipath.md#batches): 200 when every record succeeded; 400 with the same
# body when any failed (the uipath SDK reads that 400 as a normal answer). `atomic=true` is
# recordbase's own: all or nothing, 400 (409 when every failure is a conflict) and nothing written.


async def insert_batch(request: Request, actor: Actor, services: Services) -> Response:
    depth = level(request)
    wire = await batch_body(request, services)
    items = [Item(Op.INSERT, record) for record in wire]
    result = await services.records.batch(entity_ref(request), items, actor, batch_mode(request), depth)
    return batch_response(result, wire, depth, actor.permissions)


async def update_batch(request: Request, actor: Actor, services: Services) -> Response:
    depth = level(request)
    wire = await batch_body(request, services)
    items = [update_item(record) for record in wire]
    result = await services.records.batch(entity_ref(request), items, actor, batch_mode(request), depth)
    return batch_response(result, wire, depth, actor.permissions)


async def delete_batch(request: Request, actor: Actor, services: Services) -> Response:
    wire = await batch_body(request, services)
    items = [delete_item(record_id) for record_id in wire]
    result = await services.records.batch(entity_ref(request), items, actor, batch_mode(request), 1)
    return batch_response(result, wire, 1, actor.permissions)


def batch_mode(request: Request) -> Mode:
    if bool_param(request, "atomic", False):
        return Mode.ATOMIC
    return Mode.STOP_AT_FIRST if bool_param(request, "failOnFirst", False) else Mode.PARTIAL


def update_item(record: Any) -> Item:
    """An update-batch record names its record with `Id`; the rest of it is the change."""
    if not isinstance(record, dict):
        return Item(
            Op.UPDATE, record, errors=(FieldError("", "INVALID_TYPE", "A record must be a JSON object."),)
        )
    record_id = record.get("Id")
    if record_id is not None and not isinstance(record_id, str):
        return Item(Op.UPDATE, record, errors=(FieldError("Id", "INVALID_TYPE", "'Id' must be a string."),))
    return Item(Op.UPDATE, {k: v for k, v in record.items() if k != "Id"}, record_id)


def delete_item(record_id: Any) -> Item:
    """delete-batch takes id strings; `{"Id": ...}` objects are accepted too."""
    if isinstance(record_id, dict):
        record_id = record_id.get("Id")
    if isinstance(record_id, str):
        return Item(Op.DELETE, id=record_id)
    return Item(
        Op.DELETE, errors=(FieldError("Id", "INVALID_TYPE", "Each item must be a record id string."),)
    )


def batch_response(result: BatchResult, wire: list[Any], depth: int, permissions: Permissions) -> Response:
    entity = result.entity
    body = {
        "successRecords": [success(entity, o, depth, permissions) for o in result.successes],
        "failureRecords": [failure(o, wire[o.index], entity, permissions) for o in result.failures],
    }
    return JSONResponse(body, status_code=batch_status(result))


def success(entity: Entity, outcome: Outcome, depth: int, permissions: Permissions) -> dict[str, Any]:
    """The stored record; for a delete, the record as it was before (read in the same transaction)."""
    if outcome.record is None:
        return {"Id": outcome.id}
    return plain(entity, outcome.record, depth, permissions)


def batch_status(result: BatchResult) -> int:
    failures = [o.error for o in result.failures if o.error is not None]
    if not failures:
        return 200
    if not result.committed and all(status_for(e) == 409 for e in failures):
        return 409
    return 400


def failure(outcome: Outcome, sent: Any, entity: Entity, permissions: Permissions) -> dict[str, Any]:
    """`{error, code, record}`: `error` a string (the SDK requires it); `record` the item as sent,
    or, for a delete of a record the caller may read, that record as it is."""
    error = outcome.error
    assert error is not None
    if outcome.op is Op.DELETE and outcome.record is not None:
        record = plain(entity, outcome.record, 1, permissions)
    elif isinstance(sent, dict):
        record = sent
    else:
        record = {"Id": sent} if outcome.op is Op.DELETE and isinstance(sent, str) else {}
    item: dict[str, Any] = {"error": error.message, "code": error.code, "record": record}
    if isinstance(error, ValidationFailed):
        item["fieldErrors"] = [{"field": e.field, "code": e.code, "message": e.message} for e in error.errors]
    return item
