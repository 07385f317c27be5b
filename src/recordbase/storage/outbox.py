"""The transactional outbox: events appended by the write that caused them, then dispatched in order.

`append` runs inside the write's own transaction: one multi-row statement per transaction
(`json_to_recordset` on PostgreSQL, `executemany` on SQLite), never one per record; on PostgreSQL a single
write's event rides in the record's own statement (`append_after`). `dispatch` gives the
committed events their stream positions (gap-free, in commit order: dispatchers of every process
queue on one state row) and creates the webhook deliveries they call for, in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import orjson
import sqlalchemy as sa

from recordbase.core.events import Event, Operation
from recordbase.storage.database import Connection, Database, Row
from recordbase.storage.recordset import Recordset
from recordbase.storage.sql import Prepared

metadata = sa.MetaData()
outbox = sa.Table(
    "rb_outbox",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(36), nullable=False),
    sa.Column("position", sa.BigInteger),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("entity", sa.String(200), nullable=False),
    sa.Column("entity_id", sa.String(36), nullable=False),
    sa.Column("record_id", sa.String(36)),
    sa.Column("operation", sa.String(20), nullable=False),
    sa.Column("revision", sa.Integer),
    sa.Column("fields", sa.Text, nullable=False),
    sa.Column("actor_id", sa.String(36), nullable=False),
    sa.Column("owner_id", sa.String(36)),
)
state = sa.Table(
    "rb_outbox_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("last_position", sa.BigInteger, nullable=False),
)
deliveries = sa.Table(
    "rb_deliveries",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("webhook_id", sa.String(36), nullable=False),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("record_key", sa.String(80), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("window_start", sa.Float, nullable=False),
    sa.Column("next_at", sa.Float, nullable=False),
    sa.Column("lease_until", sa.Float),
    sa.Column("last_status", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("delivered_at", sa.Float),
)
APPENDED = (
    "id",
    "at",
    "entity",
    "entity_id",
    "record_id",
    "operation",
    "revision",
    "fields",
    "actor_id",
    "owner_id",
)
EVENT_COLUMNS = [outbox.c[name] for name in APPENDED] + [outbox.c.position]
EVENT_BIND = "_event_"
"""Parameter names of an event appended in a record's own statement (no field name starts with `_`)."""
PENDING = "pending"


def event_row(event: Event) -> dict[str, Any]:
    return event_rows([event])[0]


def event_rows(events: Iterable[Event]) -> list[dict[str, Any]]:
    """Outbox rows; the events of a batch mostly name the same fields, encoded once."""
    encoded: dict[tuple[str, ...], str] = {}
    rows = []
    for event in events:
        names = encoded.get(event.fields)
        if names is None:
            names = encoded[event.fields] = orjson.dumps(event.fields).decode()
        rows.append(
            {
                "id": event.id,
                "at": event.at,
                "entity": event.entity,
                "entity_id": event.entity_id,
                "record_id": event.record_id,
                "operation": OPERATION_VALUES[event.operation],
                "revision": event.revision,
                "fields": names,
                "actor_id": event.actor_id,
                "owner_id": event.owner_id,
            }
        )
    return rows


OPERATION_VALUES = {operation: operation.value for operation in Operation}


def append_after(write: sa.Insert | sa.Update) -> sa.Insert:
    """A record's write and its event's outbox append as one statement, the write in a data-modifying
    `WITH` (PostgreSQL): a single write then costs one round trip, not two. The event is appended
    once per row written, so an update whose condition matched no row appends none, and the
    statement's row count is the number of records written."""
    written = write.returning(sa.literal_column("1")).cte("written")
    values = [sa.cast(sa.bindparam(EVENT_BIND + k), outbox.c[k].type).label(k) for k in APPENDED]
    return (
        sa.insert(outbox)
        .from_select(list(APPENDED), sa.select(*values).select_from(written))
        .add_cte(written)
    )


def append_after_returning(write: sa.Update, revision: str, owner: str) -> sa.Select[Any]:
    """As `append_after`, for an update written without reading its record first: the statement
    answers the row as written, and the event takes its revision and owner from that row (columns
    `revision` and `owner`), not from parameters."""
    written = write.returning(*write.table.columns).cte("written")
    from_row = {"revision": written.c[revision], "owner_id": written.c[owner]}
    values = [
        (from_row[k] if k in from_row else sa.cast(sa.bindparam(EVENT_BIND + k), outbox.c[k].type)).label(k)
        for k in APPENDED
    ]
    appended = sa.insert(outbox).from_select(list(APPENDED), sa.select(*values).select_from(written))
    return sa.select(written).add_cte(appended.cte("appended"))


def event_params(event: Event) -> dict[str, Any]:
    """The parameters of `append_after`'s outbox row."""
    return {EVENT_BIND + key: value for key, value in event_row(event).items()}


def decode_event(row: Row) -> Event:
    """A row selected with EVENT_COLUMNS."""
    (id_, at, entity, entity_id, record_id, operation, revision, fields, actor_id, owner_id, position) = row
    return Event(
        id_, float(at), entity, entity_id, record_id, Operation(operation), revision,
        tuple(orjson.loads(fields)), actor_id, owner_id, position,
    )  # fmt: skip


@dataclass(frozen=True)
class Dispatched:
    """What one dispatch did: the events it placed, and how many deliveries it created."""

    events: list[Event]
    deliveries: int


Planner = Callable[[Connection, list[Event]], Any]
"""Given the dispatch transaction and its events, the delivery rows to create (awaitable)."""


class OutboxStore:
    """The outbox's statements, compiled once per database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @cached_property
    def _insert(self) -> Prepared:
        return self.database.prepare(
            sa.insert(outbox).values({k: sa.bindparam(k) for k in APPENDED}), point=True
        )

    @cached_property
    def _rows(self) -> Recordset:
        return Recordset([(k, outbox.c[k].type) for k in APPENDED])

    @cached_property
    def _insert_together(self) -> Prepared:
        """PostgreSQL: a batch's events in one statement (storage/recordset.py)."""
        statement = sa.insert(outbox).from_select(list(APPENDED), sa.select(*self._rows.columns))
        return self.database.prepare(statement)

    async def append(self, connection: Connection, events: Sequence[Event]) -> None:
        """Append a write's events in its transaction: one statement whatever their number."""
        if not events:
            return
        rows = event_rows(events)
        if self.database.name == "postgresql" and len(rows) > 1:
            await connection.execute(self._insert_together, self._rows.params(rows))
        else:
            await connection.execute_many(self._insert, rows)

    @cached_property
    def _lock_state(self) -> Prepared:
        query = sa.select(state.c.last_position).where(state.c.id == 1)
        return self.database.prepare(query.with_for_update(), point=True)

    @cached_property
    def _place(self) -> Prepared:
        """The oldest pending events numbered from `last` + 1 in `seq` order, and returned: one
        statement for a whole dispatch, not one per event."""
        pending = (
            sa.select(outbox.c.seq, sa.func.row_number().over(order_by=outbox.c.seq).label("number"))
            .where(outbox.c.position.is_(None))
            # A short seek: PostgreSQL's partial index on pending events, SQLite's unique index on
            # `position` (its NULL entries are in `seq` order: migration 0005).
            .order_by(outbox.c.seq)
            .limit(sa.bindparam("limit"))
            .subquery("pending")
        )
        statement = (
            sa.update(outbox)
            .where(outbox.c.seq == pending.c.seq)
            .values(position=sa.bindparam("last", type_=sa.BigInteger) + pending.c.number)
            .returning(*EVENT_COLUMNS)
        )
        return self.database.prepare(statement, point=True)

    @cached_property
    def _save_state(self) -> Prepared:
        statement = sa.update(state).where(state.c.id == 1)
        return self.database.prepare(statement.values(last_position=sa.bindparam("last")), point=True)

    @cached_property
    def _add_delivery(self) -> Prepared:
        return self.database.prepare(
            sa.insert(deliveries).values({c.key: sa.bindparam(c.key) for c in deliveries.c})
        )

    async def dispatch(self, plan: Planner, limit: int = 500) -> Dispatched:
        """Place the oldest committed events in the stream and create their deliveries."""
        async with self.database.transaction() as connection:
            last = int((await connection.fetch(self._lock_state))[0][0])
            rows = await connection.fetch(self._place, {"last": last, "limit": limit})
            if not rows:
                return Dispatched([], 0)
            events = sorted(map(decode_event, rows), key=lambda event: event.position or 0)
            await connection.execute(self._save_state, {"last": last + len(events)})
            planned = await plan(connection, events)
            await connection.execute_many(self._add_delivery, planned)
        return Dispatched(events, len(planned))

    @cached_property
    def _after(self) -> Prepared:
        query = sa.select(*EVENT_COLUMNS).where(
            outbox.c.position > sa.bindparam("after"),
            outbox.c.entity_id.in_(sa.bindparam("entities", expanding=True)),
        )
        return self.database.prepare(query.order_by(outbox.c.position).limit(sa.bindparam("limit")))

    async def after(self, position: int, entities: Sequence[str], limit: int = 500) -> list[Event]:
        """Placed record events of these entities (by id) after `position`, in stream order."""
        async with self.database.read() as connection:
            rows = await connection.fetch(
                self._after, {"after": position, "entities": list(entities), "limit": limit}
            )
        return [decode_event(row) for row in rows]

    @cached_property
    def _last_position(self) -> Prepared:
        return self.database.prepare(sa.select(state.c.last_position).where(state.c.id == 1))

    async def last_position(self) -> int:
        async with self.database.read() as connection:
            return int((await connection.fetch(self._last_position))[0][0])

    @cached_property
    def _by_ids(self) -> Prepared:
        query = sa.select(*EVENT_COLUMNS).where(outbox.c.id.in_(sa.bindparam("ids", expanding=True)))
        return self.database.prepare(query)

    async def events(self, ids: Sequence[str]) -> dict[str, Event]:
        if not ids:
            return {}
        async with self.database.read() as connection:
            rows = await connection.fetch(self._by_ids, {"ids": list(ids)})
        return {row[0]: decode_event(row) for row in rows}

    @cached_property
    def _backlog(self) -> Prepared:
        waiting = sa.select(sa.func.count()).select_from(outbox).where(outbox.c.position.is_(None))
        due = sa.select(sa.func.count()).select_from(deliveries).where(deliveries.c.status == PENDING)
        return self.database.prepare(sa.select(waiting.scalar_subquery(), due.scalar_subquery()))

    async def backlog(self) -> tuple[int, int]:
        """(events not yet dispatched, deliveries not yet done)."""
        async with self.database.read() as connection:
            row = (await connection.fetch(self._backlog))[0]
        return int(row[0]), int(row[1])

    @cached_property
    def _prune_events(self) -> Prepared:
        waiting = sa.select(deliveries.c.event_id).where(deliveries.c.status == PENDING)
        statement = sa.delete(outbox).where(
            outbox.c.position.is_not(None), outbox.c.at < sa.bindparam("cutoff"), outbox.c.id.not_in(waiting)
        )
        return self.database.prepare(statement)

    @cached_property
    def _prune_deliveries(self) -> Prepared:
        statement = sa.delete(deliveries).where(
            deliveries.c.status != PENDING, deliveries.c.created_at < sa.bindparam("cutoff")
        )
        return self.database.prepare(statement)

    async def prune(self, cutoff: float) -> int:
        """Remove dispatched events older than `cutoff` (none a delivery still waits for), and finished
        deliveries as old; return how many events went."""
        async with self.database.transaction() as connection:
            await connection.execute(self._prune_deliveries, {"cutoff": cutoff})
            return await connection.execute(self._prune_events, {"cutoff": cutoff})
