"""Pipeliner's names and shapes for the core's records (docs/compat-pipeliner.md#fields-and-values).

System fields read `id`, `created`, `modified`, `revision`. A relationship field `owner` is read
and written as `owner_id` (a field already ending in `_id` keeps its name), and `expand=owner`
adds the related record as `owner`. Entity names in paths are plural (`Accounts`); an entity
named in the singular (`Account`) is found under either.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from recordbase.api.pipeliner.errors import Names
from recordbase.core.expand import Related
from recordbase.core.fields import KINDS
from recordbase.core.permissions import Permissions
from recordbase.core.ports import Record
from recordbase.core.schema import Entity, Field, FieldType
from recordbase.errors import BadRequest, FieldError

SYSTEM_KEYS = frozenset({"id", "created", "modified", "revision", "is_deleted"})
"""Server-managed keys; in a request body they are ignored, so a record read can be sent back."""


def entity_candidates(name: str) -> list[str]:
    """The entity a path names: as written, then its singular (`Opportunities` -> `Opportunity`)."""
    found = [name]
    if name.endswith("ies"):
        found.append(name[:-3] + "y")
    if name.endswith("es"):
        found.append(name[:-2])
    if name.endswith("s"):
        found.append(name[:-1])
    return found


def wire_name(field: Field) -> str:
    if field.type is FieldType.RELATIONSHIP and not field.name.endswith("_id"):
        return field.name + "_id"
    return field.name


def relation_key(field: Field) -> str:
    """The key an expanded relationship appears under: the wire name without `_id`."""
    return wire_name(field).removesuffix("_id")


def names(entity: Entity) -> Names:
    wire = {f.name: wire_name(f) for f in entity.fields if wire_name(f) != f.name}
    return Names(entity, {**wire, "Id": "id"})


def to_core(entity: Entity, body: Any) -> tuple[Any, tuple[FieldError, ...]]:
    """A Pipeliner body as a core body, and the keys that name no field (reported with the rest)."""
    if not isinstance(body, Mapping):
        return body, ()
    by_wire = {wire_name(f): f.name for f in entity.fields}
    expanded = {relation_key(f) for f in entity.fields if f.type is FieldType.RELATIONSHIP}
    out: dict[str, Any] = {}
    unknown: list[FieldError] = []
    for key, value in body.items():
        core = by_wire.get(key)
        if core is not None:
            out[core] = value
        elif key in expanded and (value is None or isinstance(value, Mapping)):
            continue  # an expanded relation sent back; `<name>_id` is what writes it
        elif key not in SYSTEM_KEYS:
            unknown.append(FieldError(key, "UNKNOWN_FIELD", f"Entity '{entity.name}' has no field '{key}'."))
    return out, tuple(unknown)


def expansions(entity: Entity, given: str | None) -> frozenset[str]:
    """The `expand` parameter: comma-separated relationship names of this entity."""
    wanted = frozenset(part.strip() for part in (given or "").split(",") if part.strip())
    known = {relation_key(f) for f in entity.fields if f.type is FieldType.RELATIONSHIP}
    unknown = sorted(wanted - known)
    if unknown:
        raise BadRequest(f"Cannot expand {', '.join(unknown)}: not a relationship of '{entity.name}'.")
    return wanted


def render(
    entity: Entity,
    record: Record,
    expand: frozenset[str] = frozenset(),
    permissions: Permissions | None = None,
) -> dict[str, Any]:
    """A record in Pipeliner's shape; relationships in `expand` carry the related record.

    Fields the caller may not read are left out, here and in expanded records.
    """
    out: dict[str, Any] = {
        "id": record["Id"],
        "created": timestamp(record["CreateTime"]),
        "modified": timestamp(record["UpdateTime"]),
        "revision": record["Revision"],
    }
    for f in entity.fields:
        if permissions is not None and not permissions.can_read_field(entity, f.name):
            continue
        value = record.get(f.name)
        if f.type is FieldType.RELATIONSHIP:
            _relation(out, f, value, expand, permissions)
        elif value is None:
            out[f.name] = None
        elif f.type is FieldType.DATETIME:
            out[f.name] = timestamp(value)
        else:
            out[f.name] = KINDS[f.type].render(f, value)
    return out


def _relation(
    out: dict[str, Any], field: Field, value: Any, expand: frozenset[str], permissions: Permissions | None
) -> None:
    related = value if isinstance(value, Related) else None
    out[wire_name(field)] = related.id if related is not None else value
    if relation_key(field) in expand:
        found = related.record if related is not None else None
        out[relation_key(field)] = (
            None
            if found is None or related is None
            else render(related.entity, found, permissions=permissions)
        )


def timestamp(moment: datetime) -> str:
    """Pipeliner's date-time form (P-DATES): `2019-02-01 07:41:49.529970+00:00`, always UTC."""
    return moment.astimezone(UTC).isoformat(sep=" ", timespec="microseconds")
