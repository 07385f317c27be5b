"""Pipeliner record endpoints: get, create, update (PATCH), delete, batch-modify, batch-delete.

Every write goes through the core's batch (one item for the single-record endpoints), so both
dialects share one write path; these handlers only translate names and shapes.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from recordbase.api.batches import batch_body
from recordbase.api.http import JSONResponse, int_param, json_body
from recordbase.api.pipeliner import params
from recordbase.api.pipeliner.errors import outcome_error
from recordbase.api.pipeliner.wire import entity_candidates, expansions, names, render, to_core
from recordbase.core.actors import Actor
from recordbase.core.batch import BatchResult, Item, Mode, Op, Outcome
from recordbase.core.schema import Entity
from recordbase.errors import FieldError
from recordbase.services import Services

EXPANDED = 2
"""Core expansion level that loads related records (for `expand=`)."""


async def get_record(request: Request, actor: Actor, services: Services) -> Response:
    params.refuse_unknown(request, params.RECORD)
    entity = await resolve(request, services)
    expand = expansions(entity, request.query_params.get("expand"))
    found, record = await services.records.get(
        entity.id, request.path_params["id"], EXPANDED if expand else 0, actor
    )
    return JSONResponse({"success": True, "data": render(found, record, expand, actor.permissions)})


async def create_record(request: Request, actor: Actor, services: Services) -> Response:
    return await single(request, actor, services, Op.INSERT)


async def update_record(request: Request, actor: Actor, services: Services) -> Response:
    return await single(request, actor, services, Op.UPDATE)


async def delete_record(request: Request, actor: Actor, services: Services) -> Response:
    return await single(request, actor, services, Op.DELETE)


async def batch_modify(request: Request, actor: Actor, services: Services) -> Response:
    """Items with `id` update that record; items without create one (docs/compat-pipeliner.md#batches)."""
    params.refuse_unknown(request, params.BATCH)
    entity = await resolve(request, services)
    rollback = rollback_method(request)
    items = [modify_item(entity, item) for item in await batch_body(request, services)]
    result = await services.records.batch(entity.id, items, actor, batch_mode(rollback), 0)
    return batch_response(result, rollback)


async def batch_delete(request: Request, actor: Actor, services: Services) -> Response:
    """The body lists ids, as strings or as `{"id": ...}` objects."""
    params.refuse_unknown(request, params.BATCH)
    entity = await resolve(request, services)
    rollback = rollback_method(request)
    items = [delete_item(item) for item in await batch_body(request, services)]
    result = await services.records.batch(entity.id, items, actor, batch_mode(rollback), 0)
    return batch_response(result, rollback)


async def single(request: Request, actor: Actor, services: Services, op: Op) -> Response:
    """One record written as an all-or-nothing batch of one; its error is the record's error object."""
    params.refuse_unknown(request, params.RECORD)
    entity = await resolve(request, services)
    expand = expansions(entity, request.query_params.get("expand"))
    body: Any = None
    problems: tuple[FieldError, ...] = ()
    if op is not Op.DELETE:
        body, problems = to_core(entity, await json_body(request, services.settings.max_body_bytes))
    item = Item(op, body, request.path_params.get("id"), problems)
    level = EXPANDED if expand else 0
    result = await services.records.batch(entity.id, [item], actor, Mode.ATOMIC, level)
    outcome = result.outcomes[0]
    if outcome.error is not None:
        body = outcome_error(outcome, names(result.entity), None)
        return JSONResponse(body, status_code=body["http_status"])
    assert outcome.record is not None
    data = outcome.id if op is Op.DELETE else render(result.entity, outcome.record, expand, actor.permissions)
    return JSONResponse({"success": True, "data": data}, status_code=201 if op is Op.INSERT else 200)


async def resolve(request: Request, services: Services) -> Entity:
    _, entity = await services.records.entity(*entity_candidates(request.path_params["entity_name"]))
    return entity


def rollback_method(request: Request) -> int:
    """0 (default): one invalid item and nothing is written; 1: valid items are saved."""
    return int_param(request, "rollback-method", 0, 0, 1)


def batch_mode(rollback: int) -> Mode:
    return Mode.ATOMIC if rollback == 0 else Mode.PARTIAL


def modify_item(entity: Entity, item: Any) -> Item:
    body, problems = to_core(entity, item)
    record_id = item.get("id") if isinstance(item, dict) else None
    if record_id is None:
        return Item(Op.INSERT, body, errors=problems)
    if not isinstance(record_id, str):
        problems += (FieldError("Id", "INVALID_TYPE", "'id' must be a string."),)
        return Item(Op.UPDATE, body, errors=problems)
    return Item(Op.UPDATE, body, record_id, problems)


def delete_item(item: Any) -> Item:
    record_id = item.get("id") if isinstance(item, dict) else item
    if isinstance(record_id, str):
        return Item(Op.DELETE, id=record_id)
    return Item(Op.DELETE, errors=(FieldError("Id", "INVALID_TYPE", "Each item must be an id string."),))


def batch_response(result: BatchResult, rollback: int) -> Response:
    """rollback 0: the first failing item's error object (its HTTP status), or every id;
    rollback 1: `{success, data}` with an id or an error object per item, in request order."""
    lookup = names(result.entity)
    if rollback == 0 and result.failures:
        first = result.failures[0]
        body = outcome_error(first, lookup, entity_index(first))
        return JSONResponse(body, status_code=body["http_status"])
    data = [o.id if o.error is None else outcome_error(o, lookup, entity_index(o)) for o in result.outcomes]
    return JSONResponse({"success": not result.failures, "data": data})


def entity_index(outcome: Outcome) -> int | None:
    """Null when `entity_id` already names the item's record (as in Pipeliner's own rollback=0 example,
    an update); the item's zero-based position when it names none (a create, an unusable id)."""
    return outcome.index if outcome.id is None else None
