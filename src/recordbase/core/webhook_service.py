"""Managing webhook subscriptions, and what one event looks like to one subscription's owner.

Both dialects (the admin API, Pipeliner's `Webhooks` entity) and the CLI call this service.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from recordbase.core.actors import Actor
from recordbase.core.events import WILDCARD, Event, Operation, Topic, parse_topic
from recordbase.core.expand import plain
from recordbase.core.permissions import FORBIDDEN_TEXT, Action, AdminRight
from recordbase.core.query import access
from recordbase.core.query.plan import plan_query
from recordbase.core.query.service import QueryRequest, QueryService
from recordbase.core.query.uipath import parse_query
from recordbase.core.schema import Entity
from recordbase.core.webhooks import Claimed, DeliveryView, Subscription, new_subscription
from recordbase.errors import BadRequest, Forbidden, RecordbaseError, WebhookNotFound

MAX_URL = 2000
OWNER_CACHE_SECONDS = 1.0
MAX_TOPICS = 100
SYSTEM_FIELDS = frozenset({"Id", "CreatedBy", "CreateTime", "UpdatedBy", "UpdateTime"})


class SubscriptionStore(Protocol):
    async def create(self, sub: Subscription) -> None: ...
    async def subscriptions(self, owner_id: str | None = None) -> list[Subscription]: ...
    async def get(self, webhook_id: str) -> Subscription | None: ...
    async def delete(self, webhook_id: str) -> bool: ...
    async def set_disabled(self, webhook_id: str, disabled: bool, reason: str | None) -> bool: ...
    async def log(self, webhook_id: str, limit: int, offset: int) -> list[DeliveryView]: ...
    async def redeliver(self, webhook_id: str, delivery_id: str, now: float) -> bool: ...


ActorLookup = Callable[[str], Awaitable[Actor]]


def check_url(url: object) -> str:
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise BadRequest(f"'url' must be an http or https URL of at most {MAX_URL} characters.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest("'url' must be an http or https URL.")
    return url


def check_topics(raw: object) -> list[Topic]:
    if not isinstance(raw, list) or not raw or len(raw) > MAX_TOPICS:
        raise BadRequest(f"'events' must be a list of 1 to {MAX_TOPICS} event names (docs/events.md).")
    topics = [parse_topic(t) if isinstance(t, str) else None for t in raw]
    bad = [str(raw[i]) for i, t in enumerate(topics) if t is None]
    if bad:
        raise BadRequest(f"Unknown event names: {', '.join(bad[:5])} (docs/events.md).")
    return [t for t in topics if t is not None]


class WebhookService:
    def __init__(self, store: SubscriptionStore, query: QueryService) -> None:
        self.store = store
        self.query = query

    async def create(
        self, actor: Actor, url: object, events: object, filter_group: object, dialect: str
    ) -> Subscription:
        """A new subscription owned by `actor`; it may only name entities `actor` may read."""
        topics = check_topics(events)
        entities = [await self._readable(actor, t.entity) for t in topics if t.entity != WILDCARD]
        if filter_group is not None:
            self._check_filter(actor, entities, filter_group)
        found = filter_group if isinstance(filter_group, dict) else None
        sub = new_subscription(actor.id, check_url(url), topics, found, dialect)
        await self.store.create(sub)
        return sub

    async def _readable(self, actor: Actor, name: str) -> Entity:
        _, entity = await self.query.records.entity(name)
        actor.permissions.require(entity, Action.READ)
        return entity

    def _check_filter(self, actor: Actor, entities: Sequence[Entity], filter_group: object) -> None:
        names = {e.id for e in entities}
        if len(names) != 1 or not isinstance(filter_group, dict):
            raise BadRequest(
                "A 'filter' needs events of exactly one entity, and must be a filterGroup object."
            )
        query = parse_query({"filterGroup": filter_group})
        schema = self.query.records.schemas.current
        access.authorize(plan_query(query, entities[0], schema, expansion_level=0), actor.permissions)

    async def visible(self, actor: Actor) -> list[Subscription]:
        """Every subscription for an administrator; one's own for anyone else."""
        return await self.store.subscriptions(None if _manages(actor) else actor.id)

    async def get(self, actor: Actor, webhook_id: str) -> Subscription:
        found = await self.store.get(webhook_id)
        if found is None or not (_manages(actor) or found.owner_id == actor.id):
            raise WebhookNotFound(f"Webhook '{webhook_id}' does not exist.")
        return found

    async def delete(self, actor: Actor, webhook_id: str) -> None:
        await self.get(actor, webhook_id)
        await self.store.delete(webhook_id)

    async def set_disabled(self, actor: Actor, webhook_id: str, disabled: bool) -> Subscription:
        """Disable, or enable again (which also clears the failure streak)."""
        await self.get(actor, webhook_id)
        await self.store.set_disabled(webhook_id, disabled, "disabled by request" if disabled else None)
        return await self.get(actor, webhook_id)

    async def log(self, actor: Actor, webhook_id: str, limit: int, offset: int) -> list[DeliveryView]:
        await self.get(actor, webhook_id)
        return await self.store.log(webhook_id, limit, offset)

    async def redeliver(self, actor: Actor, webhook_id: str, delivery_id: str) -> None:
        """Send a delivery again (whatever its status), with a fresh retry window."""
        await self.get(actor, webhook_id)
        if not await self.store.redeliver(webhook_id, delivery_id, time.time()):
            raise WebhookNotFound(f"Delivery '{delivery_id}' of webhook '{webhook_id}' does not exist.")


def _manages(actor: Actor) -> bool:
    return actor.permissions.has_right(AdminRight.MANAGE_PERMISSIONS)


def require_manager(actor: Actor) -> None:
    if not _manages(actor):
        raise Forbidden(FORBIDDEN_TEXT)


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def describe(event: Event, fields: Sequence[str]) -> dict[str, Any]:
    """An event's own data (no record values)."""
    return {
        "eventId": event.id,
        "position": event.position,
        "entity": event.entity,
        "entityId": event.entity_id,
        "recordId": event.record_id,
        "operation": event.operation.value,
        "revision": event.revision,
        "changedFields": list(fields),
        "actorId": event.actor_id,
        "at": iso(event.at),
    }


def visible_fields(actor: Actor, entity: Entity, event: Event) -> list[str] | None:
    """The changed field names `actor` may see; None when the event itself is hidden from them."""
    if event.operation is Operation.SCHEMA:
        seen = actor.permissions.has_right(AdminRight.VIEW_SCHEMA) or actor.permissions.can_view_entity(
            entity
        )
        return list(event.fields) if seen else None
    rule = actor.permissions.row_rule(entity, Action.READ)
    if rule is None or (rule.created_by is not None and rule.created_by != event.owner_id):
        return None
    readable = actor.permissions.readable_fields(entity) | SYSTEM_FIELDS
    return [f for f in event.fields if f in readable]


class Payloads:
    """Builds what a subscription's owner may see of an event (None: nothing; the delivery is skipped)."""

    def __init__(self, query: QueryService, actor_of: ActorLookup) -> None:
        self.query = query
        self.actor_of = actor_of
        self._owners: dict[str, tuple[float, Actor]] = {}

    async def owner(self, principal_id: str) -> Actor:
        """The owner's actor, looked up at most once a second (a burst of deliveries shares it)."""
        cached = self._owners.get(principal_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        actor = await self.actor_of(principal_id)
        if len(self._owners) > 1000:
            self._owners.clear()
        self._owners[principal_id] = (time.monotonic() + OWNER_CACHE_SECONDS, actor)
        return actor

    async def build(self, event: Event, claimed: Claimed) -> dict[str, Any] | None:
        sub = claimed.subscription
        try:
            owner = await self.owner(sub.owner_id)
        except RecordbaseError:
            return None  # the owner is disabled or gone
        entity = self.query.records.schemas.current.find_entity(event.entity_id or event.entity)
        if entity is None:
            entity = await self._refreshed(event)
        if entity is None:
            return None
        fields = visible_fields(owner, entity, event)
        if fields is None:
            return None
        data = describe(event, fields)
        if event.operation in (Operation.CREATED, Operation.UPDATED):
            record = await self._record(owner, entity, event, sub.filter)
            if record is None and sub.filter is not None:
                return None
            data["record"] = record
        return {"type": event.type, "timestamp": iso(event.at), "data": data}

    async def _refreshed(self, event: Event) -> Entity | None:
        try:
            _, entity = await self.query.records.entity(event.entity_id or event.entity, event.entity)
        except RecordbaseError:
            return None
        return entity

    async def _record(
        self, owner: Actor, entity: Entity, event: Event, filter_group: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """The record as it is now, as the owner may see it; None when gone or outside the filter."""
        by_id = {
            "logicalOperator": 0,
            "queryFilters": [{"fieldName": "Id", "operator": "=", "value": event.record_id}],
        }
        group = (
            by_id if filter_group is None else {"logicalOperator": 0, "filterGroups": [by_id, filter_group]}
        )
        try:
            page = await self.query.run(
                entity.id, QueryRequest(parse_query({"filterGroup": group, "limit": 1}), level=0), owner
            )
        except RecordbaseError:
            return None
        if not page.records:
            return None
        return plain(page.entity, page.records[0], 0, owner.permissions)
