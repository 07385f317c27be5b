"""Compile a query plan to SQLAlchemy Core for one entity, with the same meaning on SQLite and PostgreSQL.

The contract is `core/query/evaluate.py`: the statements return exactly the records, in the
order, that the reference evaluator does. What it takes to get there:

- Values are bound parameters, encoded per backend by `codecs`; nothing a client sends is
  ever SQL text. Bind types are explicit so PostgreSQL never rounds a filter value to the
  column's scale (decimals bind as plain NUMERIC).
- Text compares by code point on both: SQLite's BINARY collation is that already; on
  PostgreSQL ordering comparisons and ORDER BY use `COLLATE "C"`.
- `contains`/`startswith`/`endswith`: PostgreSQL uses LIKE with `%`, `_` and `\\` escaped;
  SQLite's LIKE ignores ASCII case, so it uses `instr()` and `substr()` instead.
- Nulls: negative operators add `OR column IS NULL` (see the null rule in evaluate.py), and
  ORDER BY says NULLS FIRST (ascending) / NULLS LAST (descending) explicitly.
- Dot paths become LEFT OUTER JOINs on the relationship (many-to-one, so rows never repeat).
- Keyset paging: `after` (a cursor: one value per order key, ending with Id) becomes
  `WHERE (k1, ..., Id) > (...)`, expanded into an OR-chain when directions or nulls need it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause
from sqlalchemy.types import TypeEngine

from recordbase.core.query.ast import Logic, Operator
from recordbase.core.query.cursor import Cursor
from recordbase.core.query.plan import FieldRef, Plan, PlanNode, Predicate, SortKey
from recordbase.core.schema import Field, FieldType
from recordbase.storage import codecs
from recordbase.storage.tables import REVISION, SchemaTables, column_type

TEXT_TYPES = frozenset({FieldType.TEXT, FieldType.MULTILINE_TEXT})
NEGATED = {
    Operator.NE: Operator.EQ,
    Operator.NOT_CONTAINS: Operator.CONTAINS,
    Operator.NOT_IN: Operator.IN,
    Operator.NOT_IEQ: Operator.IEQ,
}
FOLDED = {
    Operator.IEQ: Operator.EQ,
    Operator.ICONTAINS: Operator.CONTAINS,
    Operator.ISTARTS_WITH: Operator.STARTS_WITH,
    Operator.IENDS_WITH: Operator.ENDS_WITH,
}
"""Case-insensitive operators and the case-sensitive operator each applies to the folded column."""
ESCAPE = "\\"
Condition = ColumnElement[bool]


@dataclass(frozen=True)
class CompiledQuery:
    """`rows`: the page, with the entity table's columns in table order (what EntityShape.decode
    reads); `count`: how many records match the filter, ignoring page and cursor."""

    rows: sa.Select[Any]
    count: sa.Select[Any]


def compile_query(
    plan: Plan,
    tables: SchemaTables,
    backend: str,
    *,
    after: Cursor | None = None,
    related_keys: bool = False,
) -> CompiledQuery:
    """The page and count statements of `plan`; with `after`, the page starts after that cursor.

    `plan.start` is applied as OFFSET in both cases (pass start 0 when paging by cursor).
    With `related_keys`, each row also ends with the values of the order keys that follow a
    relationship (`Customer.Country`), in order, so a cursor can be made from the row alone.
    """
    rows = compile_rows(plan, tables, backend, after=after, related_keys=related_keys)
    return CompiledQuery(rows, compile_count(plan, tables, backend))


def compile_rows(
    plan: Plan,
    tables: SchemaTables,
    backend: str,
    *,
    after: Cursor | None = None,
    related_keys: bool = False,
) -> sa.Select[Any]:
    """The page statement of `compile_query` alone (building the count costs as much again)."""
    rows = _Builder(tables, plan, backend)
    where = [] if plan.filter is None else [rows.condition(plan.filter)]
    if after is not None:
        where.append(rows.after(after))
    ordering = [rows.order(key) for key in plan.order]
    extra = [rows.column(key.ref) for key in plan.order if related_keys and key.ref.hops]
    # The FROM clause last: building the expressions above is what adds the joins it needs.
    # select(table) rather than select(*columns): the same columns, without coercing each one.
    return (
        sa.select(rows.base, *extra)
        .select_from(rows.from_clause())
        .where(*where)
        .order_by(*ordering)
        .limit(plan.limit)
        .offset(plan.start)
    )


def compile_count(plan: Plan, tables: SchemaTables, backend: str) -> sa.Select[Any]:
    """How many records match `plan`'s filter."""
    count_from, count_where = compile_filter(plan, tables, backend)
    return sa.select(sa.func.count()).select_from(count_from).where(count_where)


def compile_filter(plan: Plan, tables: SchemaTables, backend: str) -> tuple[FromClause, Condition]:
    """The FROM clause (with joins) and WHERE condition of `plan`'s filter, for other statements."""
    builder = _Builder(tables, plan, backend)
    condition = builder.condition(plan.filter)
    return builder.from_clause(), condition


@dataclass
class _Builder:
    """Builds expressions for one statement, adding one join per relationship path it meets."""

    tables: SchemaTables
    plan: Plan
    backend: str
    joins: dict[tuple[str, ...], tuple[Any, Condition]] = field(default_factory=dict)

    @property
    def base(self) -> sa.Table:
        return self.tables.table(self.plan.entity)

    @property
    def postgres(self) -> bool:
        return self.backend == "postgresql"

    def from_clause(self) -> FromClause:
        joined: FromClause = self.base
        for target, on in self.joins.values():
            joined = joined.outerjoin(target, on)
        return joined

    def source(self, ref: FieldRef) -> Any:
        """The table (or join alias) that holds `ref`'s final field."""
        current: Any = self.base
        prefix: tuple[str, ...] = ()
        for hop in ref.hops:
            prefix = (*prefix, hop.field.name)
            if prefix not in self.joins:
                alias = self.tables.table(hop.target).alias(f"j{len(self.joins) + 1}")
                self.joins[prefix] = (alias, current.c[hop.field.name] == alias.c.Id)
            current = self.joins[prefix][0]
        return current

    def column(self, ref: FieldRef) -> ColumnElement[Any]:
        name = REVISION if ref.is_system and ref.field.name == "Revision" else ref.field.name
        return self.source(ref).c[name]  # type: ignore[no-any-return]

    def folded(self, ref: FieldRef) -> ColumnElement[Any]:
        """The column with A-Z lowered only (`core.query.ast.fold_case`): lower() under "C" on PostgreSQL."""
        column = self.column(ref)
        return sa.func.lower(column.collate("C") if self.postgres else column)

    def ordered(self, ref: FieldRef) -> ColumnElement[Any]:
        """The column as ordering comparisons and ORDER BY see it (code point order for text)."""
        column = self.column(ref)
        return column.collate("C") if self.postgres and ref.field.type in TEXT_TYPES else column

    def bind(self, target: Field, value: Any) -> ColumnElement[Any]:
        encoded = codecs.encoder(self.backend, target)(value)
        return sa.bindparam(None, encoded, type_=bind_type(target))

    def condition(self, node: PlanNode | None) -> Condition:
        if node is None:
            return sa.true()
        if isinstance(node, Predicate):
            return self.predicate(node)
        children = [self.condition(child) for child in node.children]
        if not children:
            return sa.true() if node.logic is Logic.AND else sa.false()
        return sa.and_(*children) if node.logic is Logic.AND else sa.or_(*children)

    def predicate(self, predicate: Predicate) -> Condition:
        column = self.column(predicate.ref)
        operator = predicate.operator
        if predicate.value is None and not predicate.values and operator in (Operator.EQ, Operator.NE):
            return column.is_(None) if operator is Operator.EQ else column.is_not(None)
        if operator in NEGATED:
            return sa.or_(column.is_(None), sa.not_(self.positive(predicate, NEGATED[operator])))
        return self.positive(predicate, operator)

    def positive(self, predicate: Predicate, operator: Operator) -> Condition:
        ref, value = predicate.ref, predicate.value
        if ref.field.type is FieldType.MULTI_CHOICE_SET and operator is Operator.CONTAINS:
            return _has_member(self.column(ref), int(value))
        if operator is Operator.IN:
            return self.column(ref).in_([self.bind(ref.field, item) for item in predicate.values])
        if operator in FOLDED:
            return self.positive_folded(ref, FOLDED[operator], value)
        if operator in AFFIX_BUILDERS:
            build = AFFIX_BUILDERS[operator][self.postgres]
            return build(self.column(ref), value)
        compare = COMPARISONS[operator]
        column = self.ordered(ref) if operator is not Operator.EQ else self.column(ref)
        return compare(column, self.bind(ref.field, value))

    def positive_folded(self, ref: FieldRef, operator: Operator, value: str) -> Condition:
        """A case-insensitive operator: its case-sensitive twin on the folded column.

        The planner has already folded the value (core/query/values.py)."""
        column = self.folded(ref)
        if operator is Operator.EQ:
            return column == _text(value)
        return AFFIX_BUILDERS[operator][self.postgres](column, value)

    def order(self, key: SortKey) -> ColumnElement[Any]:
        """Nulls first ascending, last descending; a column that is never null gets no NULLS clause,
        so PostgreSQL can walk its plain index either way (storage/catalog.py builds the others'
        indexes NULLS FIRST for the same reason)."""
        column = self.ordered(key.ref)
        if not _nullable(key.ref):
            return column.desc() if key.descending else column.asc()
        return column.desc().nulls_last() if key.descending else column.asc().nulls_first()

    def after(self, cursor: Cursor) -> Condition:
        """Rows strictly after `cursor` in the plan's order (keyset pagination)."""
        keys = self.plan.order
        if all(not key.descending for key in keys) and all(value is not None for value in cursor):
            left = sa.tuple_(*(self.ordered(key.ref) for key in keys))
            right = sa.tuple_(
                *(self.bind(key.ref.field, value) for key, value in zip(keys, cursor, strict=True))
            )
            # The implied `k1 >= c1` lets PostgreSQL seek an index on k1 alone.
            return sa.and_(self.ordered(keys[0].ref) >= self.bind(keys[0].ref.field, cursor[0]), left > right)
        return self.after_chain(keys, cursor)

    def after_chain(self, keys: Sequence[SortKey], cursor: Cursor) -> Condition:
        """(k1 after c1) OR (k1 = c1 AND k2 after c2) OR ... with nulls placed as ORDER BY places them.

        The whole chain is AND-ed with the range it implies on the first key (`k1 <= c1` when
        descending), which an index on k1 can seek to: without it the database reads every row
        before the cursor, and a deep page costs what an OFFSET does.
        """
        branches: list[Condition] = []
        equal: list[Condition] = []
        for key, value in zip(keys, cursor, strict=True):
            column = self.ordered(key.ref)
            bound = None if value is None else self.bind(key.ref.field, value)
            beyond = _beyond(column, bound, key.descending, _nullable(key.ref))
            if beyond is not None:
                branches.append(sa.and_(*equal, beyond))
            equal.append(column.is_(None) if bound is None else column == bound)
        chain = sa.or_(*branches) if branches else sa.false()
        first = keys[0]
        start = self.bind(first.ref.field, cursor[0]) if cursor[0] is not None else None
        seek = _seek(self.ordered(first.ref), start, first.descending, _nullable(first.ref))
        return chain if seek is None else sa.and_(seek, chain)


def _nullable(ref: FieldRef) -> bool:
    """System columns of the entity itself are never null; anything read through a join may be."""
    return not ref.is_system or bool(ref.hops)


def _beyond(
    column: ColumnElement[Any], bound: ColumnElement[Any] | None, descending: bool, nullable: bool = True
) -> Condition | None:
    """Values after `bound` in one key's order: nulls are first ascending and last descending."""
    if not descending:
        return column.is_not(None) if bound is None else column > bound
    if bound is None:
        return None
    return sa.or_(column < bound, column.is_(None)) if nullable else column < bound


def _seek(
    column: ColumnElement[Any], bound: ColumnElement[Any] | None, descending: bool, nullable: bool
) -> Condition | None:
    """The range of the first key that holds every row after the cursor (None: no useful range)."""
    if bound is None:
        return column.is_(None) if descending else None
    if not descending:
        return column >= bound
    return sa.or_(column <= bound, column.is_(None)) if nullable else column <= bound


def bind_type(target: Field) -> TypeEngine[Any]:
    """The parameter's SQL type; decimals bind as plain NUMERIC so a value is never rounded to the scale."""
    if target.type is FieldType.DECIMAL:
        return sa.Numeric().with_variant(sa.Float(), "sqlite")
    return column_type(target)


def _has_member(column: ColumnElement[Any], number_id: int) -> Condition:
    """Whether a multi-choice set stored as JSON text "[1,3]" holds `number_id`.

    Wrapping the list in commas (",1,3,") lets one pattern of digits and commas find a whole
    id; such a pattern has no wildcard and no letters, so LIKE is exact on both backends.
    """
    inner = sa.func.substr(column, 2, sa.func.length(column) - 2)
    comma = sa.literal_column("','", sa.Text())
    wrapped = comma.concat(inner).concat(comma)
    return wrapped.like(sa.bindparam(None, f"%,{number_id},%", type_=sa.Text()))


def like_escape(text: str) -> str:
    """`text` with LIKE's wildcards and the escape character itself escaped."""
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def _text(value: str) -> ColumnElement[Any]:
    return sa.bindparam(None, value, type_=sa.Text())


def _length(value: str) -> ColumnElement[Any]:
    return sa.bindparam(None, len(value), type_=sa.Integer())


def _like(pattern: Callable[[str], str]) -> Callable[[ColumnElement[Any], str], Condition]:
    return lambda column, value: column.like(_text(pattern(like_escape(value))), escape=ESCAPE)


def _sqlite_contains(column: ColumnElement[Any], value: str) -> Condition:
    return sa.func.instr(column, _text(value)) > 0


def _sqlite_starts(column: ColumnElement[Any], value: str) -> Condition:
    return sa.func.substr(column, 1, _length(value)) == _text(value)


def _sqlite_ends(column: ColumnElement[Any], value: str) -> Condition:
    size = sa.func.length(column)
    return sa.and_(size >= _length(value), sa.func.substr(column, size - _length(value) + 1) == _text(value))


AFFIX_BUILDERS: dict[Operator, dict[bool, Callable[[ColumnElement[Any], str], Condition]]] = {
    Operator.CONTAINS: {True: _like(lambda v: f"%{v}%"), False: _sqlite_contains},
    Operator.STARTS_WITH: {True: _like(lambda v: f"{v}%"), False: _sqlite_starts},
    Operator.ENDS_WITH: {True: _like(lambda v: f"%{v}"), False: _sqlite_ends},
}
"""Per operator: the PostgreSQL (True) and SQLite (False) builder."""

COMPARISONS: dict[Operator, Callable[[ColumnElement[Any], ColumnElement[Any]], Condition]] = {
    Operator.EQ: lambda column, bound: column == bound,
    Operator.GT: lambda column, bound: column > bound,
    Operator.LT: lambda column, bound: column < bound,
    Operator.GE: lambda column, bound: column >= bound,
    Operator.LE: lambda column, bound: column <= bound,
}
