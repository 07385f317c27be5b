"""Webhook subscriptions and their deliveries.

Deliveries are claimed with a lease: on PostgreSQL the claim is `FOR UPDATE SKIP LOCKED`, so
processes never claim the same delivery, and a delivery whose process died is claimed again
when its lease runs out. A delivery waits while an earlier one for the same subscription and
record is unfinished, so each record's events arrive in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import sqlalchemy as sa

from recordbase.core.webhooks import Attempt, Claimed, DeliveryView, Subscription
from recordbase.storage.database import Connection, Database, Row
from recordbase.storage.outbox import PENDING, deliveries, metadata
from recordbase.storage.sql import Prepared

webhooks = sa.Table(
    "rb_webhooks",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("owner_id", sa.String(36), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("secret", sa.Text, nullable=False),
    sa.Column("topics", sa.Text, nullable=False),
    sa.Column("filter", sa.Text),
    sa.Column("dialect", sa.String(20), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("disabled_reason", sa.Text),
    sa.Column("failure_streak", sa.Integer, nullable=False),
)
SUBSCRIPTION = [webhooks.c[k] for k in Subscription.COLUMNS]
DELIVERY = [deliveries.c[k] for k in DeliveryView.COLUMNS]


def subscription(row: Row) -> Subscription:
    return Subscription.from_row(dict(zip(Subscription.COLUMNS, row, strict=True)))


@dataclass(frozen=True)
class Lease:
    now: float
    until: float
    limit: int


class WebhookStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def _prepare(self, statement: Any) -> Prepared:
        return self.database.prepare(statement)

    @cached_property
    def _insert(self) -> Prepared:
        return self._prepare(sa.insert(webhooks).values({c.key: sa.bindparam(c.key) for c in webhooks.c}))

    async def create(self, sub: Subscription) -> None:
        async with self.database.transaction() as connection:
            await connection.execute(self._insert, sub.as_row())

    @cached_property
    def _list(self) -> Prepared:
        return self._prepare(sa.select(*SUBSCRIPTION).order_by(webhooks.c.created_at, webhooks.c.id))

    async def subscriptions(self, owner_id: str | None = None) -> list[Subscription]:
        async with self.database.read() as connection:
            found = [subscription(row) for row in await connection.fetch(self._list)]
        return [s for s in found if owner_id is None or s.owner_id == owner_id]

    async def active(self, connection: Connection) -> list[Subscription]:
        return [s for s in map(subscription, await connection.fetch(self._list)) if not s.disabled]

    @cached_property
    def _get(self) -> Prepared:
        return self._prepare(sa.select(*SUBSCRIPTION).where(webhooks.c.id == sa.bindparam("id")))

    async def get(self, webhook_id: str) -> Subscription | None:
        async with self.database.read() as connection:
            rows = await connection.fetch(self._get, {"id": webhook_id})
        return subscription(rows[0]) if rows else None

    @cached_property
    def _delete(self) -> tuple[Prepared, Prepared]:
        return (
            self._prepare(sa.delete(deliveries).where(deliveries.c.webhook_id == sa.bindparam("id"))),
            self._prepare(sa.delete(webhooks).where(webhooks.c.id == sa.bindparam("id"))),
        )

    async def delete(self, webhook_id: str) -> bool:
        async with self.database.transaction() as connection:
            await connection.execute(self._delete[0], {"id": webhook_id})
            return await connection.execute(self._delete[1], {"id": webhook_id}) > 0

    @cached_property
    def _set_disabled(self) -> Prepared:
        statement = sa.update(webhooks).where(webhooks.c.id == sa.bindparam("id"))
        return self._prepare(
            statement.values(
                disabled=sa.bindparam("disabled"), disabled_reason=sa.bindparam("reason"), failure_streak=0
            )
        )

    async def set_disabled(self, webhook_id: str, disabled: bool, reason: str | None) -> bool:
        async with self.database.transaction() as connection:
            params = {"id": webhook_id, "disabled": disabled, "reason": reason}
            return await connection.execute(self._set_disabled, params) > 0

    # Deliveries ---------------------------------------------------------------------------------

    @cached_property
    def _claimable(self) -> Prepared:
        earlier = deliveries.alias("earlier")
        blocked = sa.exists().where(
            earlier.c.webhook_id == deliveries.c.webhook_id,
            earlier.c.record_key == deliveries.c.record_key,
            earlier.c.position < deliveries.c.position,
            earlier.c.status == PENDING,
        )
        query = (
            sa.select(deliveries.c.id)
            .join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
            .where(
                deliveries.c.status == PENDING,
                deliveries.c.next_at <= sa.bindparam("now"),
                sa.or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < sa.bindparam("now")),
                webhooks.c.disabled.is_(False),
                ~blocked,
            )
            .order_by(deliveries.c.position)
            .limit(sa.bindparam("limit"))
        )
        return self._prepare(query.with_for_update(of=deliveries, skip_locked=True))

    @cached_property
    def _lease(self) -> Prepared:
        statement = sa.update(deliveries).where(deliveries.c.id == sa.bindparam("_id"))
        return self._prepare(statement.values(lease_until=sa.bindparam("until")))

    @cached_property
    def _claimed(self) -> Prepared:
        query = sa.select(*DELIVERY, *SUBSCRIPTION).join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
        return self._prepare(query.where(deliveries.c.id.in_(sa.bindparam("ids", expanding=True))))

    async def claim(self, lease: Lease) -> list[Claimed]:
        """Lease the next due deliveries (the oldest first); none that another process holds."""
        async with self.database.transaction() as connection:
            rows = await connection.fetch(self._claimable, {"now": lease.now, "limit": lease.limit})
            ids = [row[0] for row in rows]
            if not ids:
                return []
            await connection.execute_many(self._lease, [{"_id": i, "until": lease.until} for i in ids])
            found = await connection.fetch(self._claimed, {"ids": ids})
        width = len(DeliveryView.COLUMNS)
        claimed = [Claimed(_view(row[:width]), subscription(row[width:])) for row in found]
        return sorted(claimed, key=lambda c: c.delivery.position)

    @cached_property
    def _finish(self) -> Prepared:
        statement = sa.update(deliveries).where(deliveries.c.id == sa.bindparam("_id"))
        names = ("status", "attempts", "next_at", "last_status", "last_error", "delivered_at")
        return self._prepare(statement.values({**{n: sa.bindparam(n) for n in names}, "lease_until": None}))

    @cached_property
    def _streak(self) -> tuple[Prepared, Prepared, Prepared]:
        """Reset the streak; add one failure; disable at the limit (never re-enables)."""
        one = sa.update(webhooks).where(webhooks.c.id == sa.bindparam("id"))
        limit = one.where(webhooks.c.failure_streak >= sa.bindparam("limit"), webhooks.c.disabled.is_(False))
        return (
            self._prepare(one.values(failure_streak=0)),
            self._prepare(one.values(failure_streak=webhooks.c.failure_streak + 1)),
            self._prepare(limit.values(disabled=True, disabled_reason=sa.bindparam("reason"))),
        )

    async def record(self, attempt: Attempt, disable_after: int) -> None:
        """Save one attempt's outcome and the subscription's failure streak (and disable) together."""
        reset, add, disable = self._streak
        async with self.database.transaction() as connection:
            await connection.execute(self._finish, attempt.delivery_row())
            if attempt.failed is False:
                await connection.execute(reset, {"id": attempt.subscription.id})
            elif attempt.failed:
                await connection.execute(add, {"id": attempt.subscription.id})
                await connection.execute(disable, attempt.disable_row(disable_after))

    @cached_property
    def _log(self) -> Prepared:
        query = sa.select(*DELIVERY).where(deliveries.c.webhook_id == sa.bindparam("id"))
        return self._prepare(
            query.order_by(deliveries.c.position.desc())
            .limit(sa.bindparam("limit"))
            .offset(sa.bindparam("offset"))
        )

    async def log(self, webhook_id: str, limit: int, offset: int) -> list[DeliveryView]:
        async with self.database.read() as connection:
            rows = await connection.fetch(self._log, {"id": webhook_id, "limit": limit, "offset": offset})
        return [_view(row) for row in rows]

    @cached_property
    def _redeliver(self) -> Prepared:
        statement = sa.update(deliveries).where(
            deliveries.c.id == sa.bindparam("_id"), deliveries.c.webhook_id == sa.bindparam("webhook")
        )
        return self._prepare(
            statement.values(
                status=PENDING,
                next_at=sa.bindparam("now"),
                window_start=sa.bindparam("now"),
                lease_until=None,
            )
        )

    async def redeliver(self, webhook_id: str, delivery_id: str, now: float) -> bool:
        async with self.database.transaction() as connection:
            params = {"_id": delivery_id, "webhook": webhook_id, "now": now}
            return await connection.execute(self._redeliver, params) > 0


def _view(row: Sequence[Any]) -> DeliveryView:
    return DeliveryView(**dict(zip(DeliveryView.COLUMNS, row, strict=True)))
