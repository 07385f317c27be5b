"""The static schemas of the OpenAPI description (`rb.*`): error envelope, files, entity and field
definitions, choice sets, batch and query bodies, tokens, health. Entity schemas: openapi_shapes.py."""

from __future__ import annotations

from recordbase.api.dataservice.schema_wire import BY_SQL_TYPE
from recordbase.api.openapi_shapes import (
    JSON,
    UUID,
    batch_result,
    obj,
    page_schema,
    query_page,
    ref,
    system_value,
)
from recordbase.core.naming import ENTITY_NAME
from recordbase.core.schema import SYSTEM_FIELDS

STRING: JSON = {"type": "string"}
BOOLEAN: JSON = {"type": "boolean"}
TEXT_OR_NULL: JSON = {"type": ["string", "null"]}
SQL_TYPE_NAMES = sorted(BY_SQL_TYPE)
DISPLAY_TYPES = ["Basic", "File", "Relationship", "ChoiceSetSingle", "ChoiceSetMultiple", "AutoNumber"]

ERROR = obj(
    {
        "error": {**STRING, "description": "What went wrong, for people."},
        "code": {**STRING, "description": "Stable error code (docs/errors.md)."},
        "traceId": {**STRING, "description": "The request id, also returned as X-Request-Id."},
        "fieldErrors": {
            "type": "array",
            "items": obj({"field": STRING, "code": STRING, "message": STRING}, ["field", "code", "message"]),
        },
    },
    ["error", "code", "traceId"],
)
FILE = obj(
    {
        "Id": TEXT_OR_NULL,
        "Name": TEXT_OR_NULL,
        "Path": TEXT_OR_NULL,
        "Size": {"type": ["integer", "null"]},
        "Type": TEXT_OR_NULL,
    },
    description="A file field's value; at expansionLevel 0 only the file's Id (a string).",
)
RECORD_REF = obj({"Id": UUID}, ["Id"], closed=True, description="A related record at expansionLevel 1.")
ANY_RECORD = obj(
    {name: system_value(name) for name in SYSTEM_FIELDS},
    list(SYSTEM_FIELDS),
    description="A record of the entity named in the path; its fields are in that entity's own schema.",
)
RECORD_BODY = obj(
    {}, description="Field values by field name, as in the entity's own `.Insert`/`.Update` schema."
)
SQL_TYPE = obj(
    {
        "name": {"type": "string", "enum": SQL_TYPE_NAMES},
        "lengthLimit": {"type": ["integer", "null"], "minimum": 1},
        "minValue": {"type": ["number", "null"]},
        "maxValue": {"type": ["number", "null"]},
        "decimalPrecision": {"type": ["integer", "null"], "minimum": 0, "maximum": 10},
    }
)
FIELD_DEFINITION = obj(
    {
        "name": {"type": "string", "pattern": ENTITY_NAME.pattern},
        "displayName": STRING,
        "description": STRING,
        "sqlType": SQL_TYPE,
        "fieldDisplayType": {"type": "string", "enum": DISPLAY_TYPES},
        "isRequired": BOOLEAN,
        "isUnique": BOOLEAN,
        "isRbacEnabled": BOOLEAN,
        "defaultValue": TEXT_OR_NULL,
        "choiceSetId": TEXT_OR_NULL,
        "referenceEntityName": TEXT_OR_NULL,
    },
    ["name"],
)
ENTITY_FIELD = obj(
    {
        "id": STRING,
        "name": STRING,
        "displayName": STRING,
        "description": TEXT_OR_NULL,
        "sqlType": obj({"name": STRING}, ["name"]),
        "fieldDisplayType": STRING,
        **{
            key: BOOLEAN
            for key in (
                "isPrimaryKey",
                "isForeignKey",
                "isExternalField",
                "isHiddenField",
                "isUnique",
                "isRequired",
                "isSystemField",
                "isAttachment",
                "isRbacEnabled",
                "isEncrypted",
            )
        },
        "defaultValue": TEXT_OR_NULL,
        "choiceSetId": TEXT_OR_NULL,
        "referenceType": TEXT_OR_NULL,
        "referenceName": TEXT_OR_NULL,
    },
    [
        "id",
        "name",
        "displayName",
        "sqlType",
        "fieldDisplayType",
        "isPrimaryKey",
        "isRequired",
        "isSystemField",
    ],
)
ENTITY = obj(
    {
        "id": STRING,
        "name": STRING,
        "displayName": STRING,
        "entityType": STRING,
        "description": TEXT_OR_NULL,
        "isRbacEnabled": BOOLEAN,
        "fields": {"type": "array", "items": ref("rb.EntityField")},
    },
    ["id", "name", "displayName", "entityType", "isRbacEnabled"],
)
ENTITY_DEFINITION = obj(
    {
        "name": {"type": "string", "pattern": ENTITY_NAME.pattern},
        "displayName": STRING,
        "description": STRING,
        "isRbacEnabled": BOOLEAN,
        "fields": {"type": "array", "items": ref("rb.FieldDefinition")},
    },
    ["name"],
)
ENTITY_CREATE = obj(
    {"displayName": STRING, "description": STRING, "entityDefinition": ref("rb.EntityDefinition")},
    ["entityDefinition"],
)
ENTITY_PATCH = obj(
    {
        "displayName": STRING,
        "description": STRING,
        "isRbacEnabled": BOOLEAN,
        "addFields": {"type": "array", "items": ref("rb.FieldDefinition")},
        "updateFields": {"type": "array", "items": ref("rb.FieldDefinition")},
        "removeFields": {"type": "array", "items": obj({"name": STRING}, ["name"])},
    }
)
CHOICE_SET = obj(
    {
        "id": STRING,
        "name": STRING,
        "displayName": STRING,
        "entityType": {"const": "ChoiceSet"},
        "description": TEXT_OR_NULL,
        "recordCount": {"type": "integer", "minimum": 0},
    },
    ["id", "name", "displayName", "entityType"],
)
CHOICE_SET_CREATE = obj(
    {
        "name": {"type": "string", "pattern": ENTITY_NAME.pattern},
        "displayName": STRING,
        "description": STRING,
        "values": {
            "type": "array",
            "items": {"anyOf": [STRING, obj({"name": STRING, "displayName": STRING}, ["name"])]},
        },
    },
    ["name"],
)
CHOICE_VALUES = obj(
    {
        "jsonValue": {**STRING, "description": "A JSON array of {Id, Name, DisplayName, NumberId}, as text."},
        "totalRecordCount": {"type": "integer", "minimum": 0},
    },
    ["jsonValue", "totalRecordCount"],
)
PAGING_BODY = obj({"start": {"type": "integer", "minimum": 0}, "limit": {"type": "integer", "minimum": 1}})
BATCH_FAILURE = obj(
    {
        "error": STRING,
        "code": STRING,
        "record": {"description": "The item as sent (for delete-batch: {Id})."},
        "fieldErrors": ERROR["properties"]["fieldErrors"],
    },
    ["error", "code"],
)
QUERY = obj(
    {
        "filterGroup": {
            "type": "object",
            "description": "Nested groups of {fieldName, operator, value} (docs/query.md).",
        },
        "sortOptions": {
            "type": "array",
            "items": obj({"fieldName": STRING, "isDescending": BOOLEAN}, ["fieldName"]),
        },
        "selectedFields": {"type": "array", "items": STRING},
        "start": {"type": ["integer", "null"], "minimum": 0},
        "limit": {"type": ["integer", "null"], "minimum": 0, "description": "0 or null: the default."},
    }
)
ANY_PARTIAL = obj({"Id": UUID}, ["Id"], description="A record, possibly partial.")
TOKEN_REQUEST = obj(
    {
        key: STRING
        for key in (
            "grant_type",
            "client_id",
            "client_secret",
            "username",
            "password",
            "refresh_token",
            "scope",
        )
    },
    ["grant_type"],
)
TOKEN = obj(
    {
        "access_token": STRING,
        "token_type": STRING,
        "expires_in": {"type": "integer"},
        "refresh_token": STRING,
        "scope": STRING,
    },
    ["access_token", "token_type"],
)
PIPELINER_ERROR = obj(
    {
        "success": {"const": False},
        "code": {"type": "integer"},
        "name": STRING,
        "message": STRING,
        "http_status": {"type": "integer"},
    },
    ["success", "code", "message"],
    description="Pipeliner's error object (docs/pipeliner.md).",
)
HEALTH = obj({"status": {"const": "ok"}}, ["status"])
READY = obj(
    {
        "status": {"type": "string", "enum": ["ok", "unavailable"]},
        "checks": {"type": "object", "additionalProperties": STRING},
    },
    ["status", "checks"],
)

STATIC_COMPONENTS: JSON = {
    "rb.Error": ERROR,
    "rb.File": FILE,
    "rb.RecordRef": RECORD_REF,
    "rb.Record": ANY_RECORD,
    "rb.RecordBody": RECORD_BODY,
    "rb.RecordPage": page_schema(ref("rb.Record")),
    "rb.Entity": ENTITY,
    "rb.EntityField": ENTITY_FIELD,
    "rb.EntityDefinition": ENTITY_DEFINITION,
    "rb.EntityCreate": ENTITY_CREATE,
    "rb.EntityPatch": ENTITY_PATCH,
    "rb.FieldDefinition": FIELD_DEFINITION,
    "rb.ChoiceSet": CHOICE_SET,
    "rb.ChoiceSetCreate": CHOICE_SET_CREATE,
    "rb.ChoiceValues": CHOICE_VALUES,
    "rb.Paging": PAGING_BODY,
    "rb.BatchFailure": BATCH_FAILURE,
    "rb.BatchResult": batch_result(ref("rb.Selected")),
    "rb.Selected": ANY_PARTIAL,
    "rb.Query": QUERY,
    "rb.QueryPage": query_page(ref("rb.Selected")),
    "rb.TokenRequest": TOKEN_REQUEST,
    "rb.Token": TOKEN,
    "rb.PipelinerError": PIPELINER_ERROR,
    "rb.Health": HEALTH,
    "rb.Ready": READY,
}
