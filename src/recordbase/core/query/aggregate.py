"""Aggregates, group by, binnings and joins in the UiPath query body (docs/query.md, Aggregates).

    spec = parse_aggregation(body)            # None when the body has none of them
    plan = plan_aggregation(spec, plan, schema, permissions)

Wire forms, as the uipath SDK sends them:

- `aggregates`: `[{function, field, alias?, distinct?}]`, function COUNT, SUM, AVG, MIN, MAX
  (also `COUNT_DISTINCT`, or COUNT with `"distinct": true`); `field` may be `*` for COUNT.
- `groupBy`: field names.
- `binnings` (the SDK sends them to `/api/v2/…/query`): `[{fieldName, aggregateFunction?, alias?,
  binSize? | datePart?, binName?}]`: the records are grouped by the bin of `fieldName` (`binSize`:
  numeric ranges `[k*size, (k+1)*size)`, the key is the range's start; `datePart`: `year`, `month` or
  `day` of a date or date-time, the key `"2024"`, `"2024-05"`, `"2024-05-01"`) under the key
  `binName` (default `fieldName`); with `aggregateFunction`, `alias` holds that function of the field
  in each bin.
- `joins`: `[{entityName, joinType: LeftJoin|InnerJoin, joinFieldName, relatedEntityName,
  relatedFieldName}]`: recordbase joins along relationships: `joinFieldName` is a relationship field
  of the queried entity pointing at `relatedEntityName`, and `relatedFieldName` is `Id`. The joined
  entity's fields are then named `RelatedEntity.field` in `selectedFields`, `groupBy` and
  `aggregates`. Any other join is refused (`UNSUPPORTED`).

Permissions are the query engine's: every field named must be readable (else the generic 403), a
joined entity must be readable, and nothing may be grouped or aggregated through an entity the
caller reads "own records only" (as sorting through it is refused).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from recordbase.core.fields import KINDS
from recordbase.core.fields.base import FieldValueError
from recordbase.core.permissions import Permissions
from recordbase.core.query import access
from recordbase.core.query.ast import split_path
from recordbase.core.query.plan import FieldRef, Plan, resolve
from recordbase.core.schema import FieldType, Schema
from recordbase.errors import FieldError, InvalidQuery, Unsupported

FUNCTIONS = ("COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX")
NUMERIC = frozenset({FieldType.INTEGER, FieldType.DECIMAL, FieldType.AUTO_NUMBER})
TEMPORAL = frozenset({FieldType.DATE, FieldType.DATETIME})
UNGROUPABLE = frozenset({FieldType.MULTI_CHOICE_SET, FieldType.FILE})
DATE_PARTS = ("year", "month", "day")
JOIN_TYPES = {"leftjoin": False, "left": False, "innerjoin": True, "inner": True}
MAX_ITEMS = 50


@dataclass(frozen=True)
class JoinSpec:
    relationship: str
    related: str
    inner: bool


@dataclass(frozen=True)
class MeasureSpec:
    function: str
    field: str
    name: str


@dataclass(frozen=True)
class BinSpec:
    field: str
    name: str
    size: Decimal | None = None
    part: str | None = None


@dataclass(frozen=True)
class AggregationSpec:
    """What the body asks beyond records: measures over groups (and bins), or joined rows."""

    measures: tuple[MeasureSpec, ...] = ()
    group_by: tuple[str, ...] = ()
    bins: tuple[BinSpec, ...] = ()
    joins: tuple[JoinSpec, ...] = ()


@dataclass(frozen=True)
class Measure:
    function: str
    ref: FieldRef | None
    """None: COUNT(*)."""
    name: str


@dataclass(frozen=True)
class Key:
    """One column of each result row that is not a measure: a grouped field, a bin, or a selected field."""

    ref: FieldRef
    name: str
    size: Decimal | None = None
    part: str | None = None


@dataclass(frozen=True)
class AggregationPlan:
    """`plan` (already authorized) gives entity, filter, page; rows are `keys` then `measures`."""

    plan: Plan
    keys: tuple[Key, ...]
    measures: tuple[Measure, ...]
    inner: tuple[FieldRef, ...]
    """Relationship hops joined as InnerJoin: rows without a related record are dropped."""
    grouped: bool


@dataclass
class _Errors:
    found: list[FieldError] = field(default_factory=list)

    def add(self, where: str, code: str, message: str) -> None:
        self.found.append(FieldError(where, code, message))


def parse_aggregation(body: Mapping[str, Any]) -> AggregationSpec | None:
    """The aggregation part of a query body, or None when it asks for plain records."""
    if not any(body.get(key) for key in ("aggregates", "groupBy", "binnings", "joins")):
        return None
    errors = _Errors()
    bins, bin_measures = _bins(_list(body, "binnings", errors), errors)
    spec = AggregationSpec(
        measures=(*_measures(_list(body, "aggregates", errors), errors), *bin_measures),
        group_by=tuple(_names(_list(body, "groupBy", errors), errors)),
        bins=tuple(bins),
        joins=tuple(_joins(_list(body, "joins", errors), errors)),
    )
    if errors.found:
        raise InvalidQuery.collected(errors.found)
    return spec


def _list(body: Mapping[str, Any], key: str, errors: _Errors) -> list[Any]:
    raw = body.get(key)
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_ITEMS:
        errors.add(key, "INVALID_AGGREGATE", f"'{key}' must be a list of at most {MAX_ITEMS} items.")
        return []
    return raw


def _names(raw: list[Any], errors: _Errors) -> list[str]:
    if not all(isinstance(item, str) and item for item in raw):
        errors.add("groupBy", "INVALID_AGGREGATE", "'groupBy' must be a list of field names.")
        return []
    return list(dict.fromkeys(raw))


def _measures(raw: list[Any], errors: _Errors) -> list[MeasureSpec]:
    found = []
    for index, item in enumerate(raw):
        where = f"aggregates[{index}]"
        function = str(item.get("function", "")).upper() if isinstance(item, Mapping) else ""
        name = item.get("field") if isinstance(item, Mapping) else None
        if function == "COUNT" and item.get("distinct") is True:
            function = "COUNT_DISTINCT"
        if function not in FUNCTIONS or not isinstance(name, str) or not name:
            known = ", ".join(FUNCTIONS)
            errors.add(where, "INVALID_AGGREGATE", f"'{where}' needs a 'field' and a 'function' ({known}).")
            continue
        alias = item.get("alias")
        label = alias if isinstance(alias, str) and alias else f"{function}_{name}".replace("*", "all")
        found.append(MeasureSpec(function, name, label))
    return found


def _bins(raw: list[Any], errors: _Errors) -> tuple[list[BinSpec], list[MeasureSpec]]:
    """The bins, and the measure each bin's `aggregateFunction` asks for."""
    found: list[BinSpec] = []
    measures: list[MeasureSpec] = []
    for index, item in enumerate(raw):
        where = f"binnings[{index}]"
        name = item.get("fieldName") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or not name:
            errors.add(where, "INVALID_BINNING", f"'{where}' needs a 'fieldName'.")
            continue
        size, part = _bin_size(item.get("binSize")), item.get("datePart")
        if (size is None) == (part is None) or (part is not None and part not in DATE_PARTS):
            message = f"'{where}' needs 'binSize' (a positive number) or 'datePart' (year, month, day)."
            errors.add(where, "INVALID_BINNING", message)
            continue
        key = item.get("binName") if isinstance(item.get("binName"), str) else name
        found.append(BinSpec(name, key, size, part))
        function = item.get("aggregateFunction")
        if function is not None:
            measures += _measures([{"function": function, "field": name, "alias": item.get("alias")}], errors)
    return found, measures


def _bin_size(raw: object) -> Decimal | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        return None
    try:
        size = Decimal(str(raw))
    except InvalidOperation:
        return None
    return size if size.is_finite() and size > 0 else None


def _joins(raw: list[Any], errors: _Errors) -> list[JoinSpec]:
    found = []
    for index, item in enumerate(raw):
        where = f"joins[{index}]"
        if not isinstance(item, Mapping):
            errors.add(where, "INVALID_AGGREGATE", f"'{where}' must be an object.")
            continue
        kind = JOIN_TYPES.get(str(item.get("joinType", "LeftJoin")).lower())
        relationship, related = item.get("joinFieldName"), item.get("relatedEntityName")
        if kind is None or not isinstance(relationship, str) or not isinstance(related, str):
            message = f"'{where}' needs 'joinFieldName', 'relatedEntityName', joinType LeftJoin or InnerJoin."
            errors.add(where, "INVALID_AGGREGATE", message)
            continue
        if str(item.get("relatedFieldName", "Id")) != "Id":
            raise Unsupported("Joins must follow a relationship field to the related entity's 'Id'.")
        found.append(JoinSpec(relationship, related, kind))
    return found


def plan_aggregation(
    spec: AggregationSpec,
    plan: Plan,
    select: Sequence[str] | None,
    schema: Schema,
    permissions: Permissions,
) -> AggregationPlan:
    """Resolve and check every name of `spec` against the authorized `plan`'s entity.

    Without measures, groups or bins (joins alone) the rows are the selected fields (default: `Id`
    and the readable fields of the entity), one row per record."""
    planner = _Planner(plan, schema, permissions, spec.joins)
    keys = [planner.key(name) for name in spec.group_by] + [planner.bin(item) for item in spec.bins]
    measures = [planner.measure(item) for item in spec.measures]
    grouped = bool(keys or measures)
    if not grouped:
        readable = [f.name for f in plan.entity.fields if permissions.can_read_field(plan.entity, f.name)]
        keys = [planner.key(name) for name in (select or ("Id", *readable))]
    inner = tuple(planner.inner_refs())
    planner.raise_errors()
    return AggregationPlan(
        plan,
        tuple(k for k in keys if k is not None),
        tuple(m for m in measures if m is not None),
        inner,
        grouped,
    )


@dataclass
class _Planner:
    plan: Plan
    schema: Schema
    permissions: Permissions
    joins: tuple[JoinSpec, ...]
    errors: _Errors = field(default_factory=_Errors)

    def __post_init__(self) -> None:
        self.by_entity = {j.related.lower(): j for j in self.joins}
        for join in self.joins:
            try:
                ref = resolve((join.relationship, "Id"), self.plan.entity, self.schema, 3)
            except FieldValueError as error:
                self.errors.add(join.relationship, error.code, error.message)
                continue
            if ref.entity.name.lower() != join.related.lower():
                message = f"Join '{join.relationship}' -> '{join.related}': joins follow relationships only."
                raise Unsupported(message)

    def resolve(self, name: str) -> FieldRef | None:
        path = split_path(name)
        join = self.by_entity.get(path[0].lower()) if len(path) == 2 else None
        if join is not None:
            path = (join.relationship, path[1])
        try:
            ref = resolve(path, self.plan.entity, self.schema, 3)
        except FieldValueError as error:
            self.errors.add(name, error.code, error.message)
            return None
        access.require_path(self.plan.entity, ref, self.permissions)
        if access.own_only_hops(ref, self.permissions):
            raise access.forbidden()
        return ref

    def key(self, name: str) -> Key | None:
        ref = self.resolve(name)
        if ref is not None and ref.field.type in UNGROUPABLE:
            message = f"Field '{name}' of type {ref.field.type.value} cannot be grouped."
            self.errors.add(name, "NOT_GROUPABLE", message)
        return None if ref is None else Key(ref, name)

    def bin(self, spec: BinSpec) -> Key | None:
        ref = self.resolve(spec.field)
        if ref is None:
            return None
        wanted = NUMERIC if spec.size is not None else TEMPORAL
        if ref.field.type not in wanted:
            kind = "a number" if spec.size is not None else "a date or date-time"
            self.errors.add(spec.field, "INVALID_BINNING", f"Binning field '{spec.field}' must be {kind}.")
        return Key(ref, spec.name, spec.size, spec.part)

    def measure(self, spec: MeasureSpec) -> Measure | None:
        if spec.field == "*":
            if spec.function != "COUNT":
                self.errors.add(spec.name, "INVALID_AGGREGATE", "Only COUNT takes '*'.")
            return Measure("COUNT", None, spec.name)
        ref = self.resolve(spec.field)
        if ref is None:
            return None
        kind = ref.field.type
        if spec.function in ("SUM", "AVG") and kind not in NUMERIC:
            message = f"{spec.function} needs a number field, not '{spec.field}'."
            self.errors.add(spec.field, "INVALID_AGGREGATE", message)
        if spec.function in ("MIN", "MAX") and kind in UNGROUPABLE | {FieldType.BOOLEAN}:
            message = f"{spec.function} cannot apply to '{spec.field}'."
            self.errors.add(spec.field, "INVALID_AGGREGATE", message)
        return Measure(spec.function, ref, spec.name)

    def inner_refs(self) -> list[FieldRef]:
        found = []
        for join in self.joins:
            if join.inner:
                ref = self.resolve(f"{join.related}.Id")
                if ref is not None:
                    found.append(ref)
        return found

    def raise_errors(self) -> None:
        if self.errors.found:
            raise InvalidQuery.collected(self.errors.found)


def render_row(agg: AggregationPlan, row: tuple[Any, ...]) -> dict[str, Any]:
    """One result row as JSON: field values as records show them, counts and sums as numbers."""
    out: dict[str, Any] = {}
    for key, value in zip(agg.keys, row, strict=False):
        plain = key.size is not None or key.part is not None
        out[key.name] = value if value is None or plain else _render(key.ref, value)
    for measure, value in zip(agg.measures, row[len(agg.keys) :], strict=True):
        typed = measure.ref is not None and measure.function in ("MIN", "MAX") and value is not None
        out[measure.name] = _render(measure.ref, value) if typed and measure.ref else value
    return out


def _render(ref: FieldRef, value: Any) -> Any:
    return KINDS[ref.field.type].render(ref.field, value)
