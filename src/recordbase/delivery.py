"""The event worker of a server process: dispatch the outbox, deliver webhooks, prune, measure.

Every server process runs one. Dispatchers of all processes queue on one row, so events are
placed once and in commit order; deliveries are leased (storage/webhooks.py), so each is sent
by one process at a time. Delivery is at least once: a process that dies after sending but
before saving the outcome leaves a lease that runs out, and the delivery is sent again, with
the same `webhook-id` (the event id) for the receiver to de-duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from standardwebhooks.webhooks import Webhook

from recordbase.core.events import Event
from recordbase.core.webhook_service import Payloads
from recordbase.core.webhooks import Attempt, Claimed, RetryPolicy, deliveries_for, outcome, skipped
from recordbase.settings import Settings
from recordbase.storage.database import Connection
from recordbase.storage.outbox import OutboxStore
from recordbase.storage.webhooks import Lease, WebhookStore

logger = logging.getLogger("recordbase.events")
CLAIM_LIMIT = 64
PRUNE_EVERY = 300.0
METRICS_EVERY = 5.0
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)
USER_AGENT = "recordbase-webhooks"


class EventMetrics:
    """Backlog and delivery latency, in the app's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.undispatched = Gauge(
            "recordbase_events_undispatched", "Committed events not yet dispatched.",
            multiprocess_mode="max", registry=registry,
        )  # fmt: skip
        self.pending = Gauge(
            "recordbase_webhook_deliveries_pending", "Webhook deliveries still to send.",
            multiprocess_mode="max", registry=registry,
        )  # fmt: skip
        self.latency = Histogram(
            "recordbase_webhook_delivery_latency_seconds", "From the write's commit to a delivery's 2xx.",
            buckets=LATENCY_BUCKETS, registry=registry,
        )  # fmt: skip
        self.attempts = Counter(
            "recordbase_webhook_attempts",
            "Webhook delivery attempts by outcome.",
            ["outcome"],
            registry=registry,
        )


class Wakeup:
    """A nudge from a committed write to the dispatcher, and from the dispatcher to streams."""

    def __init__(self) -> None:
        self.written = asyncio.Event()
        self._placed = asyncio.Event()

    def poke(self) -> None:
        self.written.set()

    def placed(self) -> None:
        done, self._placed = self._placed, asyncio.Event()
        done.set()

    async def wait_placed(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._placed.wait(), seconds)


class _PokingStore:
    """A record store whose write transactions nudge the dispatcher once they have committed."""

    def __init__(self, inner: Any, poke: Callable[[], None]) -> None:
        self._inner = inner
        self._poke = poke

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @asynccontextmanager
    async def writer(self, schema: Any) -> AsyncIterator[Any]:
        async with self._inner.writer(schema) as writer:
            yield writer
        self._poke()


def with_wakeup(store: Any, wakeup: Wakeup) -> Any:
    return _PokingStore(store, wakeup.poke)


def sign(secret: str, event_id: str, body: bytes, at: datetime) -> dict[str, str]:
    """Standard Webhooks headers for one request."""
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(event_id, at, body.decode()),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


class EventWorker:
    def __init__(
        self,
        settings: Settings,
        outbox: OutboxStore,
        webhooks: WebhookStore,
        payloads: Payloads,
        wakeup: Wakeup,
        metrics: EventMetrics | None,
    ) -> None:
        self.settings = settings
        self.outbox = outbox
        self.webhooks = webhooks
        self.payloads = payloads
        self.wakeup = wakeup
        self.metrics = metrics
        self.policy = RetryPolicy(
            settings.webhook_retry_base,
            settings.webhook_retry_max_interval,
            settings.webhook_retry_window,
            settings.webhook_disable_after,
        )
        self._deliver = asyncio.Event()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the loops while the block runs."""
        timeout = httpx.Timeout(self.settings.webhook_timeout)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            loops = [self._dispatch_loop(), self._deliver_loop(client), self._prune_loop()]
            if self.metrics is not None:
                loops.append(self._metrics_loop())
            tasks = [asyncio.create_task(loop) for loop in loops]
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _forever(self, step: Callable[[], Any], wait: Callable[[], Any]) -> None:
        while True:
            try:
                busy = await step()
            except Exception:
                logger.exception("event worker step failed")
                busy = False
            if not busy:
                await wait()

    async def _dispatch_loop(self) -> None:
        await self._forever(self.dispatch_once, lambda: self._sleep(self.wakeup.written))

    async def _deliver_loop(self, client: httpx.AsyncClient) -> None:
        await self._forever(lambda: self.deliver_once(client), lambda: self._sleep(self._deliver))

    async def _prune_loop(self) -> None:
        await self._forever(self.prune_once, lambda: asyncio.sleep(PRUNE_EVERY))

    async def _metrics_loop(self) -> None:
        await self._forever(self.measure_once, lambda: asyncio.sleep(METRICS_EVERY))

    async def _sleep(self, nudge: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(nudge.wait(), self.settings.events_poll_interval)
        nudge.clear()

    async def dispatch_once(self) -> bool:
        """Place one batch of events; True when there may be more."""
        self.wakeup.written.clear()
        done = await self.outbox.dispatch(self._plan)
        if done.events:
            self.wakeup.placed()
            if done.deliveries:
                self._deliver.set()
        return bool(done.events)

    async def _plan(self, connection: Connection, events: list[Event]) -> list[dict[str, Any]]:
        return deliveries_for(events, await self.webhooks.active(connection), time.time())

    async def deliver_once(self, client: httpx.AsyncClient) -> bool:
        """Send one batch of due deliveries, concurrently (never two for one record); True if any."""
        now = time.time()
        lease = Lease(now, now + self.settings.webhook_timeout + 30, CLAIM_LIMIT)
        claimed = await self.webhooks.claim(lease)
        if not claimed:
            return False
        events = await self.outbox.events([c.delivery.event_id for c in claimed])
        await asyncio.gather(*(self._send(client, c, events.get(c.delivery.event_id)) for c in claimed))
        return True

    async def _send(self, client: httpx.AsyncClient, claimed: Claimed, event: Event | None) -> None:
        payload = None if event is None else await self.payloads.build(event, claimed)
        if event is None or payload is None:
            await self._save(skipped(claimed, time.time(), "not visible to the subscription's owner"))
            return
        body = orjson.dumps(payload)
        headers = sign(claimed.subscription.secret, event.id, body, datetime.now(UTC))
        status, error = None, None
        try:
            response = await client.post(claimed.subscription.url, content=body, headers=headers)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as problem:
            error = f"{type(problem).__name__}: {problem}"[:500]
        attempt = outcome(claimed, self.policy, time.time(), status, error)
        await self._save(attempt)
        if self.metrics is not None:
            self.metrics.attempts.labels(attempt.status).inc()
            if attempt.delivered_at is not None:
                self.metrics.latency.observe(max(0.0, attempt.delivered_at - event.at))

    async def _save(self, attempt: Attempt) -> None:
        await self.webhooks.record(attempt, self.policy.disable_after)

    async def prune_once(self) -> bool:
        if self.settings.events_retention > 0:
            await self.outbox.prune(time.time() - self.settings.events_retention)
        return False

    async def measure_once(self) -> bool:
        assert self.metrics is not None
        undispatched, pending = await self.outbox.backlog()
        self.metrics.undispatched.set(undispatched)
        self.metrics.pending.set(pending)
        return False
