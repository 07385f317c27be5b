"""JSON Schemas for the OpenAPI description: each entity's records from its fields, and the static bodies.

Component names: an entity's record schema is its name (`Customer`), with `Customer.Insert`,
`Customer.Update` and `Customer.Page` beside it, and `ChoiceSet.{name}` per choice set. Static
schemas start with `rb.`; entity names cannot contain a dot, so the two never collide.
Record schemas follow what the record API renders (core/expand.py `plain`) and accepts
(core/validation.py): a schema that promised less or more would fail the fuzzing step.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from recordbase.core.expand import MAX_LEVEL
from recordbase.core.fields.number import MAX_DIGITS
from recordbase.core.schema import SYSTEM_FIELDS, ChoiceSet, Entity, Field, FieldType, Schema

JSON = dict[str, Any]
NULL: JSON = {"type": "null"}
UUID: JSON = {"type": "string", "format": "uuid"}
DATE_TIME: JSON = {"type": "string", "format": "date-time"}
SERVER_SET = "Set by the server; ignored when sent, so a record as read can be sent back."
ECHO_ONLY = "Set by the server; an update may carry it only unchanged."


def ref(name: str) -> JSON:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: JSON) -> JSON:
    kind = schema.get("type")
    if isinstance(kind, str) and "enum" not in schema:
        return {**schema, "type": [kind, "null"]}
    if "anyOf" in schema:
        return {**schema, "anyOf": [*schema["anyOf"], NULL]}
    return {"anyOf": [schema, NULL]}


def obj(properties: JSON, required: list[str] | None = None, *, closed: bool = False, **extra: Any) -> JSON:
    body: JSON = {"type": "object", "properties": properties, **extra}
    if required:
        body["required"] = required
    if closed:
        body["additionalProperties"] = False
    return body


def insert_name(entity: Entity) -> str:
    return f"{entity.name}.Insert"


def update_name(entity: Entity) -> str:
    return f"{entity.name}.Update"


def page_name(entity: Entity) -> str:
    return f"{entity.name}.Page"


def selected_name(entity: Entity) -> str:
    return f"{entity.name}.Selected"


def batch_name(entity: Entity) -> str:
    return f"{entity.name}.BatchResult"


def query_page_name(entity: Entity) -> str:
    return f"{entity.name}.QueryPage"


def pipeliner_name(entity: Entity) -> str:
    return f"{entity.name}.Pipeliner"


def choice_name(choice_set: ChoiceSet) -> str:
    return f"ChoiceSet.{choice_set.name}"


# Per entity ------------------------------------------------------------------------------------


def entity_components(schema: Schema) -> JSON:
    """Every entity's record, insert, update and page schemas, and every choice set's enumeration."""
    found: JSON = {choice_name(c): choice_schema(c) for c in schema.choice_sets}
    for entity in schema.entities:
        found[entity.name] = record_schema(entity, schema)
        found[insert_name(entity)] = insert_schema(entity, schema)
        found[update_name(entity)] = update_schema(entity, schema)
        found[page_name(entity)] = page_schema(ref(entity.name))
        found[selected_name(entity)] = selected_schema(entity, schema)
        found[batch_name(entity)] = batch_result(ref(selected_name(entity)))
        found[query_page_name(entity)] = query_page(ref(selected_name(entity)))
        found[pipeliner_name(entity)] = pipeliner_record(entity, schema)
    return found


def choice_schema(choice_set: ChoiceSet) -> JSON:
    labels = ", ".join(f"{v.number_id} = {v.name}" for v in choice_set.values)
    return {
        "type": "integer",
        "enum": [v.number_id for v in choice_set.values],
        "x-enum-varnames": [v.name for v in choice_set.values],
        "description": f"NumberId of a value of choice set '{choice_set.name}': {labels}.",
    }


def record_schema(entity: Entity, schema: Schema) -> JSON:
    """A record as read: system fields always present; each field null when empty."""
    properties: JSON = {name: system_value(name) for name in SYSTEM_FIELDS}
    properties |= {f.name: _described(f, nullable(read_value(f, schema))) for f in entity.fields}
    text = entity.description or f"A record of {entity.label}."
    return obj(properties, list(SYSTEM_FIELDS), closed=True, description=text)


def insert_schema(entity: Entity, schema: Schema) -> JSON:
    properties: JSON = {name: _echo(SERVER_SET) for name in SYSTEM_FIELDS}
    for f in entity.fields:
        properties[f.name] = _write_property(f, schema) if f.is_writable else _server_set(f, SERVER_SET)
    required = [f.name for f in entity.fields if f.is_writable and f.required and f.default is None]
    return obj(properties, required, closed=True, description=f"A new record of {entity.label}.")


def update_schema(entity: Entity, schema: Schema) -> JSON:
    """Partial: omitted fields stay as they are, `null` clears one (not a required one)."""
    properties: JSON = {name: _echo(ECHO_ONLY) for name in SYSTEM_FIELDS}
    for f in entity.fields:
        echo = _server_set(f, ECHO_ONLY, "string")  # on an update a file's Id echoes too
        properties[f.name] = _write_property(f, schema) if f.is_writable else echo
    return obj(properties, closed=True, description=f"Changes to a record of {entity.label}.")


def selected_schema(entity: Entity, schema: Schema) -> JSON:
    """A record with only some fields (`selectedFields`, or as deleted): `Id` always, others if present."""
    full = record_schema(entity, schema)
    return {**full, "required": ["Id"], "description": f"A record of {entity.label}, possibly partial."}


def batch_result(item: JSON) -> JSON:
    return obj(
        {"successRecords": {"type": "array", "items": item},
         "failureRecords": {"type": "array", "items": ref("rb.BatchFailure")}},
        ["successRecords", "failureRecords"],
    )  # fmt: skip


def query_page(item: JSON) -> JSON:
    page = page_schema(item)
    page["properties"] |= {"hasNextPage": {"type": "boolean"}, "nextCursor": {"type": "string"}}
    return page


def pipeliner_record(entity: Entity, schema: Schema) -> JSON:
    """A record in Pipeliner's shape (docs/pipeliner.md): `id`, `created`, `modified`, `revision`, and
    each field by name, a relationship as `{name}_id`; expanded relations may be added."""
    properties: JSON = {
        "id": UUID,
        "created": {"type": "string"},
        "modified": {"type": "string"},
        "revision": {"type": "integer"},
    }
    for f in entity.fields:
        if f.type is FieldType.RELATIONSHIP:
            name = f.name if f.name.endswith("_id") else f"{f.name}_id"
            properties.setdefault(name, nullable(dict(UUID)))
        elif f.type is FieldType.DATETIME:
            properties.setdefault(f.name, {"type": ["string", "null"]})
        else:
            properties.setdefault(f.name, nullable(read_value(f, schema)))
    return obj(properties, ["id"], description=f"A record of {entity.label} (Pipeliner dialect).")


def page_schema(item: JSON) -> JSON:
    return obj(
        {"totalRecordCount": {"type": "integer", "minimum": 0}, "value": {"type": "array", "items": item}},
        ["totalRecordCount", "value"],
    )


def system_value(name: str) -> JSON:
    return {**(DATE_TIME if name.endswith("Time") else UUID), "readOnly": True}


def _echo(text: str) -> JSON:
    """A system field in a body: what a read answered (a text) or null; any other value is refused."""
    return {"type": ["string", "null"], "description": text}


def _server_set(f: Field, text: str, *file_types: str) -> JSON:
    """A field clients cannot set: a file field's value as read (its object or null, or `file_types`
    more), or an auto-number, whose value is ignored."""
    if f.type is FieldType.FILE:
        return {"type": ["object", *file_types, "null"], "description": text}
    return {"description": text}


def _write_property(f: Field, schema: Schema) -> JSON:
    value = write_value(f, schema)
    value = _described(f, value if f.required else nullable(value))
    if f.default is not None and isinstance(f.default, str | int | float | bool):
        value["default"] = f.default
    return value


def _described(f: Field, value: JSON) -> JSON:
    """The field's description, or its display name when that says more than its name."""
    text = f.description or (f.display_name if f.display_name != f.name else "")
    return {**value, "description": text} if text else value


def read_value(f: Field, schema: Schema) -> JSON:
    """The value's schema when read, at any `expansionLevel` (0-3)."""
    if f.type is FieldType.RELATIONSHIP:
        target = schema.find_entity(f.reference_entity or "")
        forms = [UUID, ref("rb.RecordRef"), *([ref(target.name)] if target else [])]
        return {"anyOf": forms}
    if f.type is FieldType.FILE:
        return {"anyOf": [ref("rb.File"), {"type": "string"}]}
    if f.type is FieldType.AUTO_NUMBER:
        return {"type": "integer", "readOnly": True}
    return write_value(f, schema)


def write_value(f: Field, schema: Schema) -> JSON:
    """The value's schema in a record body."""
    kind = f.type
    if kind in (FieldType.TEXT, FieldType.MULTILINE_TEXT):
        return {"type": "string", **({"maxLength": f.max_length} if f.max_length else {})}
    if kind in (FieldType.INTEGER, FieldType.DECIMAL):
        return _number(f)
    if kind is FieldType.CHOICE_SET:
        return _choice(f, schema)
    if kind is FieldType.MULTI_CHOICE_SET:
        return {"type": "array", "items": _choice(f, schema), "uniqueItems": True}
    return dict(SIMPLE.get(kind, UUID))


SIMPLE: dict[FieldType, JSON] = {
    FieldType.BOOLEAN: {"type": "boolean"},
    FieldType.DATE: {"type": "string", "format": "date"},
    FieldType.DATETIME: DATE_TIME,
    FieldType.UUID: UUID,
    FieldType.RELATIONSHIP: UUID,
}


def _number(f: Field) -> JSON:
    """Bounds as the field checks them; a decimal also keeps at most MAX_DIGITS significant digits."""
    places = 0 if f.type is FieldType.INTEGER else f.decimal_places or 0
    body: JSON = {"type": "number" if places else "integer"}
    widest = Decimal(10) ** (MAX_DIGITS - places) - Decimal(10) ** -places if places else None
    low, high = f.min_value, f.max_value
    if widest is not None:
        low, high = (
            max(low, -widest) if low is not None else -widest,
            min(high, widest) if high is not None else widest,
        )
    for key, bound in (("minimum", low), ("maximum", high)):
        if bound is not None:
            body[key] = _json_number(bound)
    if places:
        body["x-decimal-places"] = places
    return body


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _choice(f: Field, schema: Schema) -> JSON:
    found = schema.find_choice_set(f.choice_set_id or "")
    return ref(choice_name(found)) if found else {"type": "integer"}


EXPANSION_LEVEL: JSON = {"type": "integer", "minimum": 0, "maximum": MAX_LEVEL, "default": 2}
