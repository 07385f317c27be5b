"""Webhook subscriptions: what they listen to, which deliveries an event calls for, and retries.

A subscription belongs to the principal that created it; its deliveries carry only what that
principal may read (checked when each delivery is sent, with the principal's roles of that
moment). Retries back off exponentially with jitter until the retry window closes; a
subscription whose deliveries fail `disable_after` times in a row is disabled.
"""

from __future__ import annotations

import base64
import random
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import orjson

from recordbase.core.events import Event, Topic, parse_topic

PENDING, DELIVERED, FAILED, SKIPPED = "pending", "delivered", "failed", "skipped"
UIPATH, PIPELINER = "uipath", "pipeliner"


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@dataclass(frozen=True)
class Subscription:
    id: str
    owner_id: str
    url: str
    secret: str
    topics: tuple[Topic, ...]
    filter: dict[str, Any] | None
    dialect: str
    created_at: float
    disabled: bool = False
    disabled_reason: str | None = None
    failure_streak: int = 0

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "id", "owner_id", "url", "secret", "topics", "filter", "dialect", "created_at", "disabled",
        "disabled_reason", "failure_streak",
    )  # fmt: skip

    def matches(self, event: Event) -> bool:
        return any(topic.matches(event) for topic in self.topics)

    def as_row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "owner_id": self.owner_id,
            "url": self.url,
            "secret": self.secret,
            "topics": orjson.dumps([str(t) for t in self.topics]).decode(),
            "filter": None if self.filter is None else orjson.dumps(self.filter).decode(),
            "dialect": self.dialect,
            "created_at": self.created_at,
            "disabled": self.disabled,
            "disabled_reason": self.disabled_reason,
            "failure_streak": self.failure_streak,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Subscription:
        topics = tuple(t for t in map(parse_topic, orjson.loads(row["topics"])) if t is not None)
        found = None if row["filter"] is None else orjson.loads(row["filter"])
        return cls(**{**row, "topics": topics, "filter": found, "disabled": bool(row["disabled"])})


def new_subscription(
    owner_id: str, url: str, topics: Sequence[Topic], filter_group: dict[str, Any] | None, dialect: str
) -> Subscription:
    return Subscription(
        str(uuid.uuid4()), owner_id, url, new_secret(), tuple(topics), filter_group, dialect, time.time()
    )


@dataclass(frozen=True)
class DeliveryView:
    """One delivery's log entry."""

    id: str
    webhook_id: str
    event_id: str
    position: int
    status: str
    attempts: int
    created_at: float
    window_start: float
    next_at: float
    last_status: int | None
    last_error: str | None
    delivered_at: float | None

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "id", "webhook_id", "event_id", "position", "status", "attempts", "created_at", "window_start",
        "next_at", "last_status", "last_error", "delivered_at",
    )  # fmt: skip


@dataclass(frozen=True)
class Claimed:
    delivery: DeliveryView
    subscription: Subscription


def deliveries_for(
    events: Sequence[Event], subscriptions: Sequence[Subscription], now: float
) -> list[dict[str, Any]]:
    """The delivery rows a dispatch creates: one per event and matching subscription."""
    return [
        {
            "id": str(uuid.uuid4()),
            "webhook_id": sub.id,
            "event_id": event.id,
            "position": event.position,
            "record_key": event.record_key,
            "status": PENDING,
            "attempts": 0,
            "created_at": now,
            "window_start": now,
            "next_at": now,
            "lease_until": None,
            "last_status": None,
            "last_error": None,
            "delivered_at": None,
        }
        for event in events
        for sub in subscriptions
        if sub.matches(event)
    ]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter between `base` and `cap` seconds, for `window` seconds."""

    base: float
    cap: float
    window: float
    disable_after: int

    def delay(self, attempts: int) -> float:
        ceiling = min(self.cap, self.base * 2 ** min(attempts - 1, 30))
        return float(ceiling / 2 + random.uniform(0, ceiling / 2))  # jitter, not a secret


@dataclass(frozen=True)
class Attempt:
    """The outcome of sending one delivery once, and what follows from it."""

    delivery: DeliveryView
    subscription: Subscription
    status: str
    attempts: int
    next_at: float
    http_status: int | None
    error: str | None
    delivered_at: float | None

    def delivery_row(self) -> dict[str, Any]:
        return {
            "_id": self.delivery.id,
            "status": self.status,
            "attempts": self.attempts,
            "next_at": self.next_at,
            "last_status": self.http_status,
            "last_error": self.error,
            "delivered_at": self.delivered_at,
        }

    @property
    def failed(self) -> bool | None:
        """True for a failed send, False for a delivered one, None when nothing was sent."""
        if self.status == SKIPPED:
            return None
        return self.delivered_at is None

    def disable_row(self, disable_after: int) -> dict[str, Any]:
        """Parameters that disable the subscription if its streak (counted in the database, where
        concurrent attempts and an administrator's enable/disable meet) has reached the limit."""
        reason = f"disabled after {disable_after} failed deliveries in a row"
        return {"id": self.subscription.id, "limit": disable_after, "reason": reason}


def outcome(
    claimed: Claimed, policy: RetryPolicy, now: float, http_status: int | None, error: str | None
) -> Attempt:
    """What one send means: delivered (2xx), retried later, or failed for good after the window."""
    delivery, sub = claimed.delivery, claimed.subscription
    attempts = delivery.attempts + 1
    if error is None and http_status is not None and 200 <= http_status < 300:
        return Attempt(delivery, sub, DELIVERED, attempts, now, http_status, None, now)
    next_at = now + policy.delay(attempts)
    status = FAILED if next_at > delivery.window_start + policy.window else PENDING
    return Attempt(delivery, sub, status, attempts, next_at, http_status, error, None)


def skipped(claimed: Claimed, now: float, reason: str) -> Attempt:
    """A delivery that is not sent: its owner may not see the event, or the filter leaves it out."""
    sub = claimed.subscription
    d = claimed.delivery
    return Attempt(d, sub, SKIPPED, d.attempts, now, None, reason, None)


def public_view(sub: Subscription, *, with_secret: bool = False) -> dict[str, Any]:
    """A subscription as the API shows it; the secret only when it was just created."""
    shown = replace(sub, secret="") if not with_secret else sub
    body: dict[str, Any] = {
        "id": shown.id,
        "url": shown.url,
        "events": [str(t) for t in shown.topics],
        "filter": shown.filter,
        "ownerId": shown.owner_id,
        "createdAt": shown.created_at,
        "disabled": shown.disabled,
        "disabledReason": shown.disabled_reason,
        "failureStreak": shown.failure_streak,
    }
    if with_secret:
        body["secret"] = shown.secret
    return body
