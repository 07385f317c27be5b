"""`GET /api/events?entity=…`: committed changes as Server-Sent Events, resumable from the outbox.

Each event's `id` is its stream position; a client that reconnects with `Last-Event-ID` (or
`?lastEventId=`) gets every event after it that the outbox still holds (docs/events.md). What
the connection may see is worked out once, when it opens: entities it may read, records its
"own records only" rules allow, and only the changed field names it may read.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from recordbase.core.actors import Actor
from recordbase.core.events import Event
from recordbase.core.permissions import Action
from recordbase.core.schema import Entity
from recordbase.core.webhook_service import describe, visible_fields
from recordbase.errors import BadRequest
from recordbase.services import Services

MAX_ENTITIES = 50
RETRY_MS = 2000


def _position(request: Request) -> int | None:
    raw = request.headers.get("last-event-id") or request.query_params.get("lastEventId")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise BadRequest("Last-Event-ID must be an event id this stream sent (a whole number).")
    return int(raw)


async def _entities(request: Request, actor: Actor, services: Services) -> list[Entity]:
    names = [n for raw in request.query_params.getlist("entity") for n in raw.split(",") if n]
    if not names or len(names) > MAX_ENTITIES:
        raise BadRequest(f"Name 1 to {MAX_ENTITIES} entities: ?entity=Customer&entity=Order or ?entity=A,B.")
    found = []
    for name in names:
        _, entity = await services.records.entity(name)
        actor.permissions.require(entity, Action.READ)
        found.append(entity)
    return found


async def stream_events(request: Request, actor: Actor, services: Services) -> Response:
    actor.permissions.require_schema_read()
    entities = await _entities(request, actor, services)
    after = _position(request)
    if after is None:
        after = await services.events.outbox.last_position()
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    body = _frames(services, actor, {e.id: e for e in entities}, after)
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)


def frame(event: Event, fields: list[str]) -> bytes:
    data = orjson.dumps({"type": event.type, **describe(event, fields)})
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event.position or 0, event.type.encode(), data)


async def _frames(
    services: Services, actor: Actor, entities: dict[str, Entity], after: int
) -> AsyncIterator[bytes]:
    settings = services.settings
    yield b"retry: %d\n: connected\n\n" % RETRY_MS
    beat = time.monotonic()
    while True:
        events = await services.events.outbox.after(after, list(entities))
        for event in events:
            after = event.position or after
            fields = visible_fields(actor, entities[event.entity_id], event)
            if fields is not None:
                yield frame(event, fields)
        if events:
            continue
        await services.events.wakeup.wait_placed(
            min(settings.events_poll_interval, settings.events_heartbeat)
        )
        if time.monotonic() - beat >= settings.events_heartbeat:
            beat = time.monotonic()
            yield b": keep-alive\n\n"
