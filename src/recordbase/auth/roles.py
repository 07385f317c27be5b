"""Roles as JSON (API, CLI and storage) and back; the built-in four cannot be changed or removed."""

from __future__ import annotations

from typing import Any

from recordbase.core.permissions import (
    ALL_ENTITIES,
    BUILTIN_ROLES,
    Action,
    AdminRight,
    EntityGrant,
    FieldGrant,
    Role,
)
from recordbase.core.schema import Schema
from recordbase.errors import BadRequest

ROLE_KEYS = frozenset({"id", "name", "builtin", "rights", "entities", "fields"})
ENTITY_GRANT_KEYS = frozenset({"actions", "ownOnly"})
FIELD_GRANT_KEYS = frozenset({"read", "write"})
MAX_NAME = 200


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
    """Parse a role definition; unknown keys, rights or actions and wrong types are a 400, never ignored."""
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"].strip():
        raise BadRequest("A role needs a 'name'.")
    if len(body["name"]) > MAX_NAME or "\x00" in body["name"]:
        raise BadRequest(f"A role name has at most {MAX_NAME} characters and no NUL.")
    _known_keys(body, ROLE_KEYS, "role")
    try:
        rights = frozenset(AdminRight(r) for r in _list(body.get("rights", []), "rights"))
        entities = {
            _name(name): _entity_grant(grant, name)
            for name, grant in _mapping(body.get("entities", {}), "entities").items()
        }
        fields = {
            _name(entity): {
                _name(name, lower=False): _field_grant(g, f"{entity}.{name}")
                for name, g in _mapping(grants, f"fields.{entity}").items()
            }
            for entity, grants in _mapping(body.get("fields", {}), "fields").items()
        }
    except ValueError as error:
        raise BadRequest(f"Invalid role definition: {error}.") from None
    return Role(role_id, body["name"].strip(), False, rights, entities, fields)


def _known_keys(value: dict[str, Any], known: frozenset[str], where: str) -> None:
    unknown = sorted(set(value) - known)
    if unknown:
        raise BadRequest(f"Unknown key(s) in {where}: {', '.join(unknown)}.")


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(f"'{where}' must be an object.")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise BadRequest(f"'{where}' must be an array.")
    return value


def _name(name: str, *, lower: bool = True) -> str:
    if len(name) > MAX_NAME or "\x00" in name:
        raise BadRequest(f"Names in a role have at most {MAX_NAME} characters and no NUL.")
    return name.lower() if lower else name


def _entity_grant(grant: Any, name: str) -> EntityGrant:
    _known_keys(_mapping(grant, f"entities.{name}"), ENTITY_GRANT_KEYS, f"entities.{name}")
    actions = _list(grant.get("actions", []), f"entities.{name}.actions")
    own = _list(grant.get("ownOnly", []), f"entities.{name}.ownOnly")
    return EntityGrant(frozenset(Action(a) for a in actions), frozenset(Action(a) for a in own))


def _field_grant(grant: Any, where: str) -> FieldGrant:
    _known_keys(_mapping(grant, f"fields.{where}"), FIELD_GRANT_KEYS, f"fields.{where}")
    values = [grant.get(key, False) for key in ("read", "write")]
    if not all(isinstance(v, bool) for v in values):
        raise BadRequest(f"'fields.{where}': read and write are true or false.")
    return FieldGrant(values[0], values[1])


def unknown_grants(role: Role, schema: Schema) -> list[str]:
    """The entities and fields a role names that the schema does not have (`*` is every entity)."""
    missing = [name for name in role.entities if name != ALL_ENTITIES and schema.find_entity(name) is None]
    for entity_name, grants in role.fields.items():
        entity = schema.find_entity(entity_name)
        if entity is None:
            missing.append(entity_name)
            continue
        missing += [f"{entity.name}.{name}" for name in grants if entity.field(name) is None]
    return sorted(set(missing))


def builtin_role(ref: str) -> Role | None:
    lowered = ref.lower()
    return next((r for r in BUILTIN_ROLES if r.id == ref or r.name.lower() == lowered), None)
