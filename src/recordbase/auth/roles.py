"""Roles as JSON (API, CLI and storage) and back; the built-in four cannot be changed or removed."""

from __future__ import annotations

from typing import Any

from recordbase.core.permissions import (
    BUILTIN_ROLES,
    Action,
    AdminRight,
    EntityGrant,
    FieldGrant,
    Role,
)
from recordbase.errors import BadRequest


def role_to_json(role: Role) -> dict[str, Any]:
    return {
        "id": role.id,
        "name": role.name,
        "builtin": role.builtin,
        "rights": sorted(r.value for r in role.rights),
        "entities": {
            name: {
                "actions": sorted(a.value for a in g.actions),
                "ownOnly": sorted(a.value for a in g.own_only),
            }
            for name, g in role.entities.items()
        },
        "fields": {
            entity: {name: {"read": g.read, "write": g.write} for name, g in grants.items()}
            for entity, grants in role.fields.items()
        },
    }


def role_from_json(role_id: str, body: Any) -> Role:
    """Parse a role definition; unknown rights or actions are a 400, never ignored."""
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"].strip():
        raise BadRequest("A role needs a 'name'.")
    try:
        rights = frozenset(AdminRight(r) for r in body.get("rights", []))
        entities = {
            str(name).lower(): EntityGrant(
                frozenset(Action(a) for a in grant.get("actions", [])),
                frozenset(Action(a) for a in grant.get("ownOnly", [])),
            )
            for name, grant in dict(body.get("entities", {})).items()
        }
        fields = {
            str(entity).lower(): {
                str(name): FieldGrant(bool(g.get("read")), bool(g.get("write")))
                for name, g in dict(grants).items()
            }
            for entity, grants in dict(body.get("fields", {})).items()
        }
    except (ValueError, TypeError, AttributeError) as error:
        raise BadRequest(f"Invalid role definition: {error}.") from None
    return Role(role_id, body["name"].strip(), False, rights, entities, fields)


def builtin_role(ref: str) -> Role | None:
    lowered = ref.lower()
    return next((r for r in BUILTIN_ROLES if r.id == ref or r.name.lower() == lowered), None)
