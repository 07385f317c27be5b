"""Relationship expansion (`expansionLevel`, docs/compat-uipath.md#expansion-levels) and the plain
JSON form of records.

Level 0 leaves a relationship as the target's Id; 1 makes it `{Id}`; 2 the target record
with its own relationships as `{Id}`; 3 one level deeper. Each level costs one query per
relationship field for the whole page, never one per record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from recordbase.core.fields import KINDS
from recordbase.core.fields.base import PlainKind
from recordbase.core.fields.temporal import format_datetime
from recordbase.core.permissions import Action, Permissions, RowRule
from recordbase.core.ports import Record, RecordStore
from recordbase.core.schema import Entity, Field, FieldType, Schema

MAX_LEVEL = 3


@dataclass(frozen=True)
class Related:
    """A relationship value after expansion: the target's id, and its record when expanded."""

    id: str
    entity: Entity
    record: Record | None = None


async def expand(
    store: RecordStore,
    schema: Schema,
    entity: Entity,
    records: list[Record],
    level: int,
    permissions: Permissions | None = None,
) -> None:
    """Replace relationship values in `records` (in place) according to `level`.

    A related record is expanded only when the caller may read it (entity, and "own records only"
    rules); otherwise it stays `{Id}`, which is the value of a field the caller can already read.
    """
    if level <= 0:
        return
    for f in entity.fields:
        if f.type is not FieldType.RELATIONSHIP:
            continue
        target = schema.find_entity(f.reference_entity or "")
        ids = {r[f.name] for r in records if isinstance(r.get(f.name), str)}
        if target is None or not ids:
            continue
        found: dict[str, Record] = {}
        if level >= 2 and _may_read(permissions, target) is not None:
            found = _visible(permissions, target, await store.fetch_by_ids(schema, target, ids))
            await expand(store, schema, target, list(found.values()), level - 1, permissions)
        for r in records:
            if isinstance(r.get(f.name), str):
                r[f.name] = Related(r[f.name], target, found.get(r[f.name]))


def _hidden(entity: Entity, permissions: Permissions | None) -> frozenset[str]:
    """Fields to leave out; only fields under access control can be, so most entities cost nothing."""
    guarded = entity.guarded_fields
    if permissions is None or not guarded:
        return frozenset()
    return frozenset(name for name in guarded if not permissions.can_read_field(entity, name))


def _may_read(permissions: Permissions | None, entity: Entity) -> RowRule | None:
    return RowRule() if permissions is None else permissions.row_rule(entity, Action.READ)


def _visible(permissions: Permissions | None, entity: Entity, found: dict[str, Record]) -> dict[str, Record]:
    rule = _may_read(permissions, entity)
    if rule is None:
        return {}
    if rule.created_by is None:
        return found
    return {key: r for key, r in found.items() if r["CreatedBy"] == rule.created_by}


def plain(
    entity: Entity, record: Record, level: int = 1, permissions: Permissions | None = None
) -> dict[str, Any]:
    """A record as JSON-ready values with UiPath's system names; relationships as already expanded.

    Fields the caller may not read are left out, here and in every expanded record.
    """
    out: dict[str, Any] = {
        "Id": record["Id"],
        "CreatedBy": record["CreatedBy"],
        "CreateTime": format_datetime(record["CreateTime"]),
        "UpdatedBy": record["UpdatedBy"],
        "UpdateTime": format_datetime(record["UpdateTime"]),
    }
    hidden = _hidden(entity, permissions)
    for f, render, linked in _renderers(entity):
        name = f.name
        if hidden and name in hidden:
            continue
        value = record.get(name)
        if value is None:
            out[name] = None
        elif linked:
            out[name] = _linked(f, value, level, permissions)
        else:
            out[name] = value if render is None else render(f, value)
    return out


Render = Callable[[Field, Any], Any]


def _renderers(entity: Entity) -> tuple[tuple[Field, Render | None, bool], ...]:
    """Each field with its type's `render` (None where that returns the value as it is) and whether
    it links (a relationship or a file): worked out once per entity, since a page or a batch
    renders many records of the same fields."""
    found: tuple[tuple[Field, Render | None, bool], ...] | None = entity.derived.get(__name__)
    if found is None:
        found = entity.derived[__name__] = tuple(
            (f, _renderer(f), f.type in (FieldType.RELATIONSHIP, FieldType.FILE)) for f in entity.fields
        )
    return found


def _renderer(f: Field) -> Render | None:
    kind = KINDS[f.type]
    return None if getattr(type(kind), "render", None) is PlainKind.render else kind.render


def _linked(f: Field, value: Any, level: int, permissions: Permissions | None) -> Any:
    """A relationship (an id, or `Related` once expanded) or a file (its object) at `level`."""
    if isinstance(value, Related):
        if value.record is None:
            return {"Id": value.id}
        return plain(value.entity, value.record, level, permissions)
    if f.type is FieldType.FILE:
        return value.get("Id") if level == 0 else KINDS[f.type].render(f, value)
    return value if level == 0 else {"Id": value}
