"""Run a read query for an actor: resolve the entity, plan, authorize, page, count, expand.

    page = await services.query.run(ref, QueryRequest(query, level=2), actor)

Both dialects come here: the UiPath query and list (`start`/`limit`, `nextCursor`) and the
Pipeliner list (`first`/`last`/`after`/`before`). Paging by cursor is keyset paging, so a page
deep in the result costs what the first page costs; `start` stays an OFFSET for compatibility.
A cursor carries the total counted on the first page of its walk, so cursor pages never count.

Permissions (core/permissions.py) are applied to the plan before it runs, so a count never
includes a record the caller may not see: READ on the entity is required, "own records only"
adds `CreatedBy = caller`, and a filter, sort or projection on a field the caller may not read
is refused with the generic 403 text, which names no field.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from recordbase.core.actors import Actor
from recordbase.core.expand import expand
from recordbase.core.ports import Record
from recordbase.core.query import access
from recordbase.core.query.ast import Query
from recordbase.core.query.cursor import Cursor, decode_cursor, encode_cursor
from recordbase.core.query.limits import DEFAULT_LIMITS, QueryLimits
from recordbase.core.query.plan import Plan, SortKey, plan_query
from recordbase.core.records import RecordService
from recordbase.core.schema import Entity, Schema
from recordbase.errors import InvalidCursor

Keyed = tuple[Record, Cursor]


class QueryStore(Protocol):
    """What the query service needs from storage (storage/query_store.py)."""

    async def page(self, schema: Schema, plan: Plan, after: Cursor | None = None) -> list[Keyed]: ...
    async def count(self, schema: Schema, plan: Plan) -> int: ...


@dataclass(frozen=True)
class QueryRequest:
    """One read: the parsed query, how deep to expand, and where the page starts.

    The page holds `query.limit` records: after the cursor `after`, or just before `before`, or
    at the end of the result (`from_end`), or from `query.start` (an OFFSET). `last` keeps only
    the last records of a forward page (Pipeliner's `first=N&last=M`). `path_depth` is the
    expansion level dot paths are checked against (docs/compat-uipath.md#expansion-levels); by
    default `level`.
    `reveal` lists further dot paths the answer shows (Pipeliner's `load-only`): each must be
    readable, as a filter's would.
    """

    query: Query
    level: int = 2
    after: str | None = None
    before: str | None = None
    from_end: bool = False
    last: int | None = None
    path_depth: int | None = None
    reveal: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class QueryPage:
    """A page of records (expanded to the requested level), the total before paging, and cursors."""

    entity: Entity
    records: list[Record]
    total: int
    has_next: bool
    has_previous: bool
    start_cursor: str | None
    end_cursor: str | None

    @property
    def next_cursor(self) -> str | None:
        return self.end_cursor if self.has_next else None


@dataclass(frozen=True)
class _Window:
    """Records fetched for a page, in the plan's order, and whether more lie on either side."""

    rows: list[Keyed]
    has_next: bool
    has_previous: bool


class QueryService:
    def __init__(
        self, records: RecordService, store: QueryStore, limits: QueryLimits = DEFAULT_LIMITS
    ) -> None:
        self.records = records
        self.store = store
        self.limits = limits

    async def run(self, ref: str, request: QueryRequest, actor: Actor) -> QueryPage:
        """The page `request` asks for, as `actor` may see it."""

        async def work(schema: Schema, entity: Entity) -> QueryPage:
            depth = request.level if request.path_depth is None else request.path_depth
            plan = plan_query(request.query, entity, schema, expansion_level=depth)
            plan = access.authorize(plan, actor.permissions)
            access.require_paths(entity, schema, request.reveal, actor.permissions, depth)
            return await self._page(schema, plan, request, actor)

        return await self.records.retrying(ref, work)

    async def _page(self, schema: Schema, plan: Plan, request: QueryRequest, actor: Actor) -> QueryPage:
        position = _position(plan, request)
        page = self._backward if request.before is not None or request.from_end else self._forward
        window = await page(schema, plan, request, position.cursor)
        total = position.total
        if total is None:
            total = await self._total(schema, plan, request, window)
        records = [record for record, _ in window.rows]
        await expand(self.records.store, schema, plan.entity, records, request.level, actor.permissions)
        first, last = (window.rows[0][1], window.rows[-1][1]) if window.rows else (None, None)
        return QueryPage(
            plan.entity,
            records,
            total,
            window.has_next,
            window.has_previous,
            None if first is None else _encode(plan, first, total),
            None if last is None else _encode(plan, last, total),
        )

    async def _forward(
        self, schema: Schema, plan: Plan, request: QueryRequest, after: Cursor | None
    ) -> _Window:
        """One record more than the page, to know whether another page follows."""
        rows = await self.store.page(schema, replace(plan, limit=plan.limit + 1), after)
        has_next = len(rows) > plan.limit
        rows = rows[: plan.limit]
        has_previous = after is not None or plan.start > 0
        if request.last is not None and len(rows) > request.last:
            rows, has_previous = rows[-request.last :], True
        return _Window(rows, has_next, has_previous)

    async def _backward(
        self, schema: Schema, plan: Plan, request: QueryRequest, before: Cursor | None
    ) -> _Window:
        """The records just before `before` (or the end): the reversed order read forwards, then flipped.

        Reversing every key's direction reverses the order exactly, nulls included: ascending puts
        nulls first and descending puts them last (core/query/evaluate.py).
        """
        size = plan.limit
        reverse = replace(plan, order=tuple(SortKey(k.ref, not k.descending) for k in plan.order))
        rows = await self.store.page(schema, replace(reverse, start=0, limit=size + 1), before)
        has_previous = len(rows) > size
        return _Window(list(reversed(rows[:size])), before is not None, has_previous)

    async def _total(self, schema: Schema, plan: Plan, request: QueryRequest, window: _Window) -> int:
        """The matches before paging; when the first OFFSET page is not full it is known without a count."""
        unpaged = request.before is None and not request.from_end and request.last is None
        fetched = len(window.rows)
        if unpaged and not window.has_next and (fetched > 0 or plan.start == 0):
            return plan.start + fetched
        return await self.store.count(schema, plan)


@dataclass(frozen=True)
class _Position:
    """Where a page starts: the cursor's sort values, and the total its walk began with."""

    cursor: Cursor | None = None
    total: int | None = None


def _position(plan: Plan, request: QueryRequest) -> _Position:
    if request.after is not None and request.before is not None:
        raise InvalidCursor("Send 'after' or 'before', not both.")
    text = request.after if request.after is not None else request.before
    if text is None:
        return _Position()
    if plan.start:
        raise InvalidCursor("A cursor and 'start' cannot be combined; send one of them.")
    head, _, total = text.partition(".")
    if not total.isdigit() or len(total) > 18:
        raise InvalidCursor("The cursor is not valid.")
    return _Position(decode_cursor(plan, head), int(total))


def _encode(plan: Plan, cursor: Cursor, total: int) -> str:
    """The keyset cursor, then the total of the walk: a cursor page does not count again."""
    return f"{encode_cursor(plan, cursor)}.{total}"
