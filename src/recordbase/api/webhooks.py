"""Webhook subscriptions over HTTP: the admin routes (`/api/admin/webhooks…`) and Pipeliner's
`Webhooks` entity (`/api/v100/rest/spaces/{space}/entities/Webhooks`), both onto WebhookService.

Admin routes need the Administrator's manage right; the Pipeliner entity serves any principal
with a data role, who sees and deletes only their own subscriptions.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from recordbase.api.http import JSONResponse, int_param, json_body
from recordbase.core.actors import Actor
from recordbase.core.events import pipeliner_name
from recordbase.core.webhook_service import iso, require_manager
from recordbase.core.webhooks import PIPELINER, UIPATH, DeliveryView, Subscription, public_view
from recordbase.errors import BadRequest
from recordbase.services import Services


async def _object(request: Request, services: Services) -> dict[str, Any]:
    body = await json_body(request, min(services.settings.max_body_bytes, 1024 * 1024))
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    return body


def delivery_view(d: DeliveryView) -> dict[str, Any]:
    return {
        "id": d.id,
        "eventId": d.event_id,
        "position": d.position,
        "status": d.status,
        "attempts": d.attempts,
        "createdAt": iso(d.created_at),
        "nextAttemptAt": iso(d.next_at) if d.status == "pending" else None,
        "lastStatus": d.last_status,
        "lastError": d.last_error,
        "deliveredAt": None if d.delivered_at is None else iso(d.delivered_at),
    }


# Admin routes -------------------------------------------------------------------------------------


async def list_webhooks(request: Request, actor: Actor, services: Services) -> Response:
    require_manager(actor)
    return JSONResponse([public_view(s) for s in await services.webhooks.visible(actor)])


async def create_webhook(request: Request, actor: Actor, services: Services) -> Response:
    """`{url, events: ["Customer.created", …], filter?}`; the answer holds the signing secret, once."""
    require_manager(actor)
    body = await _object(request, services)
    sub = await services.webhooks.create(
        actor, body.get("url"), body.get("events"), body.get("filter"), UIPATH
    )
    return JSONResponse(public_view(sub, with_secret=True), status_code=201)


async def get_webhook(request: Request, actor: Actor, services: Services) -> Response:
    require_manager(actor)
    return JSONResponse(public_view(await services.webhooks.get(actor, request.path_params["webhook_id"])))


async def update_webhook(request: Request, actor: Actor, services: Services) -> Response:
    """`{disabled: true|false}`: enabling again clears the failure streak."""
    require_manager(actor)
    body = await _object(request, services)
    disabled = body.get("disabled")
    if not isinstance(disabled, bool):
        raise BadRequest('The body must be {"disabled": true|false}.')
    sub = await services.webhooks.set_disabled(actor, request.path_params["webhook_id"], disabled)
    return JSONResponse(public_view(sub))


async def delete_webhook(request: Request, actor: Actor, services: Services) -> Response:
    require_manager(actor)
    await services.webhooks.delete(actor, request.path_params["webhook_id"])
    return Response(status_code=204)


async def list_deliveries(request: Request, actor: Actor, services: Services) -> Response:
    """The delivery log, newest first (`limit`, `start`)."""
    require_manager(actor)
    limit = int_param(request, "limit", 100, 1, 1000)
    start = int_param(request, "start", 0, 0, 2**31)
    log = await services.webhooks.log(actor, request.path_params["webhook_id"], limit, start)
    return JSONResponse([delivery_view(d) for d in log])


async def redeliver(request: Request, actor: Actor, services: Services) -> Response:
    require_manager(actor)
    params = request.path_params
    await services.webhooks.redeliver(actor, params["webhook_id"], params["delivery_id"])
    return JSONResponse({"status": "pending"}, status_code=202)


# Pipeliner's Webhooks entity ----------------------------------------------------------------------


def pipeliner_view(sub: Subscription, *, with_secret: bool = False) -> dict[str, Any]:
    """A subscription as Pipeliner shows a Webhook (spec-notes §2.12), plus recordbase's state."""
    body: dict[str, Any] = {
        "id": sub.id,
        "url": sub.url,
        "events": [pipeliner_name(t) for t in sub.topics],
        "insecure_ssl": False,
        "options": {} if sub.filter is None else {"filter": sub.filter},
        "is_disabled": sub.disabled,
        "created": iso(sub.created_at),
    }
    if with_secret:
        body["secret"] = sub.secret
    return body


def pipeliner_filter(options: object) -> dict[str, Any] | None:
    """Pipeliner's `options.entity.<Entity>.filter` (`{field: value or [values]}`, all must hold)
    as a UiPath filterGroup; at most one entity may carry a filter."""
    if not isinstance(options, dict):
        return None
    per_entity = options.get("entity")
    if not isinstance(per_entity, dict):
        return None
    filters = [v.get("filter") for v in per_entity.values() if isinstance(v, dict) and v.get("filter")]
    if not filters:
        return None
    if len(filters) > 1 or not isinstance(filters[0], dict):
        raise BadRequest("options.entity may hold a filter for one entity only, as {field: value}.")
    return {"logicalOperator": 0, "queryFilters": [_condition(k, v) for k, v in filters[0].items()]}


def _condition(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        return {"fieldName": name, "operator": "in", "valueList": [str(v) for v in value]}
    return {"fieldName": name, "operator": "=", "value": None if value is None else str(value)}


def _pipeliner_ok(data: Any, status: int = 200) -> Response:
    return JSONResponse({"success": True, "data": data}, status_code=status)


async def pipeliner_list(request: Request, actor: Actor, services: Services) -> Response:
    actor.permissions.require_schema_read()
    return _pipeliner_ok([pipeliner_view(s) for s in await services.webhooks.visible(actor)])


async def pipeliner_create(request: Request, actor: Actor, services: Services) -> Response:
    """`{url, events: ["Account.Create", "Account.*", "*"], options?: {filter: <filterGroup>}}`."""
    actor.permissions.require_schema_read()
    body = await _object(request, services)
    filter_group = pipeliner_filter(body.get("options"))
    if body.get("insecure_ssl") is True:
        raise BadRequest("insecure_ssl is not supported: receivers must present a valid certificate.")
    sub = await services.webhooks.create(actor, body.get("url"), body.get("events"), filter_group, PIPELINER)
    return _pipeliner_ok(pipeliner_view(sub, with_secret=True), 201)


async def pipeliner_delete(request: Request, actor: Actor, services: Services) -> Response:
    actor.permissions.require_schema_read()
    webhook_id = request.path_params["id"]
    await services.webhooks.delete(actor, webhook_id)
    return _pipeliner_ok(webhook_id)
