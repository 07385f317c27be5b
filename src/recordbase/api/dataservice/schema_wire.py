"""The UiPath wire form of entities, fields and choice sets, both directions
(docs/compat-uipath.md#schema-wire-form)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from recordbase.core.catalog import ChoiceSetDraft, EntityDraft, EntityPatch
from recordbase.core.schema import ChoiceSet, Entity, Field, FieldType, Schema
from recordbase.errors import BadRequest, SchemaError

# (sqlType.name, fieldDisplayType) for each type.
WIRE_TYPES: dict[FieldType, tuple[str, str]] = {
    FieldType.TEXT: ("NVARCHAR", "Basic"),
    FieldType.MULTILINE_TEXT: ("MULTILINE", "Basic"),
    FieldType.INTEGER: ("BIGINT", "Basic"),
    FieldType.DECIMAL: ("DECIMAL", "Basic"),
    FieldType.BOOLEAN: ("BIT", "Basic"),
    FieldType.DATE: ("DATE", "Basic"),
    FieldType.DATETIME: ("DATETIMEOFFSET", "Basic"),
    FieldType.CHOICE_SET: ("INT", "ChoiceSetSingle"),
    FieldType.MULTI_CHOICE_SET: ("NVARCHAR", "ChoiceSetMultiple"),
    FieldType.RELATIONSHIP: ("UNIQUEIDENTIFIER", "Relationship"),
    FieldType.FILE: ("UNIQUEIDENTIFIER", "File"),
    FieldType.AUTO_NUMBER: ("DECIMAL", "AutoNumber"),
    FieldType.UUID: ("UNIQUEIDENTIFIER", "Basic"),
}
BY_DISPLAY_TYPE = {
    "file": FieldType.FILE,
    "relationship": FieldType.RELATIONSHIP,
    "choicesetsingle": FieldType.CHOICE_SET,
    "choicesetmultiple": FieldType.MULTI_CHOICE_SET,
    "autonumber": FieldType.AUTO_NUMBER,
}
BY_SQL_TYPE = {
    "NVARCHAR": FieldType.TEXT,
    "MULTILINE": FieldType.MULTILINE_TEXT,
    "MULTILINE_MAX": FieldType.MULTILINE_TEXT,
    "INT": FieldType.INTEGER,
    "BIGINT": FieldType.INTEGER,
    "DECIMAL": FieldType.DECIMAL,
    "FLOAT": FieldType.DECIMAL,
    "REAL": FieldType.DECIMAL,
    "BIT": FieldType.BOOLEAN,
    "DATE": FieldType.DATE,
    "DATETIMEOFFSET": FieldType.DATETIME,
    "DATETIME2": FieldType.DATETIME,
    "DATETIME": FieldType.DATETIME,
    "UNIQUEIDENTIFIER": FieldType.UUID,
}
DISPLAY_TYPES = frozenset({"basic", *BY_DISPLAY_TYPE})
# Keys a field, its sqlType or an entity body may carry: what the uipath SDKs send on create
# (docs/compat-uipath.md) and what recordbase renders (so fetched metadata can be sent back).
# Anything else is refused by name: a misspelt `type` must not silently make a text field.
FIELD_KEYS = frozenset(
    {
        "id", "name", "displayName", "description", "sqlType", "fieldDisplayType", "isPrimaryKey",
        "isForeignKey", "isExternalField", "isHiddenField", "isUnique", "isRequired", "isSystemField",
        "isAttachment", "isRbacEnabled", "isEncrypted", "defaultValue", "choiceSetId", "choicesetId",
        "ChoiceSetId", "referenceEntityName", "referenceFieldName", "referenceName", "referenceType",
        "referenceEntity", "referenceChoiceset", "referenceField",
    }
)  # fmt: skip
SQL_TYPE_KEYS = frozenset(
    {"name", "Name", "lengthLimit", "LengthLimit", "maxValue", "MaxValue", "minValue", "MinValue",
     "decimalPrecision", "DecimalPrecision"}
)  # fmt: skip
ENTITY_KEYS = frozenset(
    {
        "id", "name", "displayName", "description", "entityType", "isRbacEnabled", "fields",
        "entityDefinition", "folderId", "isInsightsEnabled", "externalFields", "entityClassId",
        "sourceJoinConditionDetails", "sourceJoinCriteria", "recordCount",
    }
)  # fmt: skip
SYSTEM_FIELD_WIRE = [
    ("Id", "UNIQUEIDENTIFIER", True),
    ("CreatedBy", "UNIQUEIDENTIFIER", False),
    ("CreateTime", "DATETIMEOFFSET", False),
    ("UpdatedBy", "UNIQUEIDENTIFIER", False),
    ("UpdateTime", "DATETIMEOFFSET", False),
]


def entity_json(
    entity: Entity, schema: Schema, visible: frozenset[str] | None = None, *, with_fields: bool = True
) -> dict[str, Any]:
    """The entity as the SDK parses it; `visible` limits the fields shown (None: all)."""
    body: dict[str, Any] = {
        "id": entity.id,
        "name": entity.name,
        "displayName": entity.label,
        "entityType": "Entity",
        "description": entity.description,
        "isRbacEnabled": entity.rbac,
        "externalFields": [],
        "sourceJoinCriteria": [],
    }
    if with_fields:
        body["fields"] = [
            *(_system_field(*s) for s in SYSTEM_FIELD_WIRE),
            *(field_json(f, schema) for f in entity.fields if visible is None or f.name in visible),
        ]
    return body


def field_json(field: Field, schema: Schema) -> dict[str, Any]:
    sql_name, display_type = WIRE_TYPES[field.type]
    body: dict[str, Any] = {
        "id": field.id,
        "name": field.name,
        "displayName": field.label,
        "description": field.description,
        "sqlType": _sql_type(field, sql_name),
        "fieldDisplayType": display_type,
        "isPrimaryKey": False,
        "isForeignKey": field.type is FieldType.RELATIONSHIP,
        "isExternalField": False,
        "isHiddenField": False,
        "isUnique": field.unique,
        "isRequired": field.required,
        "isSystemField": False,
        "isAttachment": field.type is FieldType.FILE,
        "isRbacEnabled": field.rbac,
        "isEncrypted": False,
        "defaultValue": _default_text(field),
        "choiceSetId": field.choice_set_id,
        "referenceType": "ManyToOne" if field.type is FieldType.RELATIONSHIP else None,
    }
    if field.type is FieldType.RELATIONSHIP:
        target = schema.find_entity(field.reference_entity or "")
        body["referenceName"] = field.reference_entity
        body["referenceEntity"] = entity_json(target, schema, with_fields=False) if target else None
    if field.choice_set_id:
        choice_set = schema.find_choice_set(field.choice_set_id)
        body["referenceChoiceset"] = choice_set_json(choice_set) if choice_set else None
    return body


def choice_set_json(choice_set: ChoiceSet) -> dict[str, Any]:
    return {
        "id": choice_set.id,
        "name": choice_set.name,
        "displayName": choice_set.label,
        "entityType": "ChoiceSet",
        "description": choice_set.description,
        "isRbacEnabled": False,
        "recordCount": len(choice_set.values),
    }


def choice_values_json(choice_set: ChoiceSet) -> list[dict[str, Any]]:
    return [
        {"Id": v.id, "Name": v.name, "DisplayName": v.display_name, "NumberId": v.number_id}
        for v in choice_set.values
    ]


def _system_field(name: str, sql_name: str, primary: bool) -> dict[str, Any]:
    return {
        "id": name,
        "name": name,
        "displayName": name,
        "description": "",
        "sqlType": {"name": sql_name},
        "fieldDisplayType": "Basic",
        "isPrimaryKey": primary,
        "isForeignKey": False,
        "isExternalField": False,
        "isHiddenField": False,
        "isUnique": primary,
        "isRequired": primary,
        "isSystemField": True,
        "isAttachment": False,
        "isRbacEnabled": False,
        "isEncrypted": False,
        "defaultValue": None,
        "referenceType": None,
    }


def _sql_type(field: Field, sql_name: str) -> dict[str, Any]:
    """Constraints in both spellings: the Python SDK reads PascalCase, the TypeScript SDK camelCase."""
    limits = {
        "LengthLimit": field.max_length,
        "MaxValue": _number(field.max_value),
        "MinValue": _number(field.min_value),
        "DecimalPrecision": field.decimal_places,
    }
    camel = {key[0].lower() + key[1:]: value for key, value in limits.items()}
    return {"name": sql_name, **limits, **camel}


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _default_text(field: Field) -> str | None:
    if field.default is None:
        return None
    if isinstance(field.default, bool):
        return "true" if field.default else "false"
    return str(field.default)


# Parsing ---------------------------------------------------------------------------------------


def parse_entity_draft(body: Any, schema: Schema) -> EntityDraft:
    """The SDK's create body (`{displayName, entityDefinition: {name, fields}}`) or a flat one."""
    if not isinstance(body, dict):
        raise BadRequest("The entity definition must be a JSON object.")
    nested = body.get("entityDefinition")
    definition: dict[str, Any] = nested if isinstance(nested, dict) else body
    refuse_unknown_keys(body, ENTITY_KEYS, "The entity")
    refuse_unknown_keys(definition, ENTITY_KEYS, "The entity definition")
    for where in (body, definition):
        wrong = [k for k in ("name", "displayName", "description") if not isinstance(where.get(k) or "", str)]
        if wrong:
            raise SchemaError(f"The entity's {', '.join(wrong)} must be a string.")
    fields = definition.get("fields") or []
    if not isinstance(fields, list):
        raise BadRequest("'fields' must be an array.")
    return EntityDraft(
        name=str(definition.get("name") or ""),
        display_name=body.get("displayName") or definition.get("displayName") or "",
        description=body.get("description") or definition.get("description") or "",
        rbac=_flag(definition, "isRbacEnabled", _flag(body, "isRbacEnabled", False)),
        fields=tuple(parse_field(f, schema) for f in fields),
    )


def parse_entity_patch(body: Any, schema: Schema) -> EntityPatch:
    if not isinstance(body, dict):
        raise BadRequest("The entity update must be a JSON object.")
    removes = body.get("removeFields") or []
    if not isinstance(removes, list) or not all(
        isinstance(r, dict) and isinstance(r.get("name"), str) for r in removes
    ):
        raise BadRequest("Each field in removeFields must include a non-empty 'name' string.")
    return EntityPatch(
        display_name=body.get("displayName"),
        description=body.get("description"),
        rbac=None if body.get("isRbacEnabled") is None else _flag(body, "isRbacEnabled", False),
        add_fields=tuple(parse_field(f, schema) for f in _list(body, "addFields")),
        remove_fields=tuple(r["name"] for r in removes),
        update_fields=tuple(parse_field(f, schema) for f in _list(body, "updateFields")),
    )


def parse_field(body: Any, schema: Schema) -> Field:
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        raise BadRequest("Each field must be an object with a 'name'.")
    refuse_unknown_keys(body, FIELD_KEYS, f"Field '{body['name']}'")
    given = body.get("sqlType")
    if given is not None and not isinstance(given, dict):
        raise SchemaError(f"Field '{body['name']}': 'sqlType' must be an object with a 'name'.")
    sql_type: dict[str, Any] = given or {}
    refuse_unknown_keys(sql_type, SQL_TYPE_KEYS, f"Field '{body['name']}' sqlType")
    _check_texts(body)
    kind = _field_type(body, sql_type)
    return Field(
        id="",
        name=body["name"],
        type=kind,
        display_name=body.get("displayName") or "",
        description=body.get("description") or "",
        required=_flag(body, "isRequired", False),
        unique=_flag(body, "isUnique", False),
        default=_default_value(kind, body.get("defaultValue")),
        max_length=_int(_pick(sql_type, "lengthLimit"))
        if kind in (FieldType.TEXT, FieldType.MULTILINE_TEXT)
        else None,
        min_value=_decimal(_pick(sql_type, "minValue")),
        max_value=_decimal(_pick(sql_type, "maxValue")),
        decimal_places=_int(_pick(sql_type, "decimalPrecision")),
        choice_set_id=body.get("choiceSetId") or body.get("choicesetId") or body.get("ChoiceSetId"),
        reference_entity=body.get("referenceEntityName") or _reference_name(body),
        rbac=_flag(body, "isRbacEnabled", False),
    )


def parse_choice_set_draft(body: Any) -> ChoiceSetDraft:
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        raise BadRequest("A choice set must be an object with a 'name'.")
    values = []
    for item in _list(body, "values"):
        if isinstance(item, str):
            values.append((item, item))
        elif isinstance(item, dict) and isinstance(item.get("name") or item.get("Name"), str):
            name = str(item.get("name") or item.get("Name"))
            values.append((name, str(item.get("displayName") or item.get("DisplayName") or name)))
        else:
            raise BadRequest("Each choice value must be a name or an object with 'name'.")
    return ChoiceSetDraft(
        body["name"], body.get("displayName") or "", body.get("description") or "", tuple(values)
    )


def refuse_unknown_keys(body: dict[str, Any], known: frozenset[str], where: str) -> None:
    unknown = sorted(str(key) for key in body if key not in known)
    if unknown:
        raise SchemaError(f"{where}: unknown key(s) {', '.join(repr(k[:100]) for k in unknown[:20])}.")


TEXT_KEYS = ("displayName", "description", "choiceSetId", "choicesetId", "ChoiceSetId",
             "referenceEntityName", "referenceFieldName", "fieldDisplayType")  # fmt: skip


def _check_texts(body: dict[str, Any]) -> None:
    """Names and labels are strings (or null): a number or object is refused, not stringified."""
    wrong = [key for key in TEXT_KEYS if body.get(key) is not None and not isinstance(body[key], str)]
    if wrong:
        raise SchemaError(f"Field '{body['name']}': {', '.join(wrong)} must be a string.")


def _field_type(body: dict[str, Any], sql_type: dict[str, Any]) -> FieldType:
    display = str(body.get("fieldDisplayType") or "").lower()
    if display in BY_DISPLAY_TYPE:
        return BY_DISPLAY_TYPE[display]
    if display and display not in DISPLAY_TYPES:
        given = body["fieldDisplayType"][:100]
        raise SchemaError(f"Field '{body['name']}': unknown fieldDisplayType '{given}'.")
    raw_name = sql_type.get("name", sql_type.get("Name"))
    if raw_name is not None and not isinstance(raw_name, str):
        raise SchemaError(f"Field '{body['name']}': sqlType.name must be a string.")
    name = str(raw_name or "NVARCHAR").upper()
    if name not in BY_SQL_TYPE:
        raise SchemaError(f"Field '{body['name']}': unknown sqlType '{name[:100]}'.")
    return BY_SQL_TYPE[name]


def _default_value(kind: FieldType, raw: Any) -> Any:
    """The SDK sends defaults as strings; turn them into the value a record body would carry."""
    if raw is None or raw == "":
        return None
    if kind is FieldType.BOOLEAN and isinstance(raw, str):
        return {"true": True, "false": False, "1": True, "0": False}.get(raw.lower(), raw)
    if kind is FieldType.CHOICE_SET and isinstance(raw, str) and raw.isdigit():
        return int(raw)
    return raw


def _reference_name(body: dict[str, Any]) -> str | None:
    reference = body.get("referenceEntity")
    if isinstance(reference, dict) and isinstance(reference.get("name"), str):
        return str(reference["name"])
    return None


def _pick(sql_type: dict[str, Any], camel: str) -> Any:
    pascal = camel[0].upper() + camel[1:]
    return sql_type.get(camel, sql_type.get(pascal))


def _flag(body: dict[str, Any], key: str, default: bool) -> bool:
    """A JSON boolean; `"false"` is not silently true."""
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise BadRequest(f"'{key}' must be true or false.")
    return value


def _int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise SchemaError(f"Expected an integer, got {value!r}.")
    return int(value)


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SchemaError(f"Expected a number, got {value!r}.")
    try:
        return Decimal(str(value))
    except ArithmeticError:
        raise SchemaError(f"Expected a number, got {value!r}.") from None


def _list(body: dict[str, Any], key: str) -> list[Any]:
    value = body.get(key) or []
    if not isinstance(value, list):
        raise BadRequest(f"'{key}' must be an array.")
    return value
