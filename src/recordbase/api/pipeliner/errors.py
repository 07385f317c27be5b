"""Pipeliner's error objects (docs/compat-pipeliner.md), rendered from the one error table
(api/errors.py) and, for the errors of one field, the field codes below.

Codes 40000, 40002, 120 and 117 are Pipeliner's own; the others are recordbase's, chosen so that
a code's first three digits are its HTTP status. docs/errors.md lists every one.
"""

from __future__ import annotations

from typing import Any

from recordbase import errors
from recordbase.api.errors import INTERNAL, row_for
from recordbase.api.http import JSONResponse
from recordbase.core.batch import Outcome
from recordbase.core.schema import Entity
from recordbase.errors import FieldError, RecordbaseError

FIELD_VALIDATION = (40002, "ERROR_FIELD_VALIDATION")
UNAUTHENTICATED_TEXT = "Authentication required: send the API key and secret of the space (HTTP Basic)."

# Codes nested in a field error (`field_errors[].errors[]`), by the core's field error code.
FIELD_CODES: dict[str, tuple[int, str]] = {
    "RELATION_NOT_FOUND": (120, "ERROR_RELATIONS_DOESNT_EXIST"),
    "REQUIRED": (40010, "ERROR_FIELD_REQUIRED"),
    "INVALID_TYPE": (40011, "ERROR_FIELD_INVALID_TYPE"),
    "INVALID_VALUE": (40012, "ERROR_FIELD_INVALID_VALUE"),
    "TOO_LONG": (40013, "ERROR_FIELD_TOO_LONG"),
    "OUT_OF_RANGE": (40014, "ERROR_FIELD_OUT_OF_RANGE"),
    "TOO_MANY_DECIMALS": (40015, "ERROR_FIELD_TOO_MANY_DECIMALS"),
    "UNKNOWN_CHOICE": (40016, "ERROR_FIELD_UNKNOWN_OPTION"),
    "NOT_UNIQUE": (40017, "ERROR_FIELD_NOT_UNIQUE"),
    "UNKNOWN_FIELD": (40018, "ERROR_FIELD_UNKNOWN"),
    "READ_ONLY": (40019, "ERROR_FIELD_READ_ONLY"),
    "FILE_FIELD_NOT_WRITABLE": (40020, "ERROR_FIELD_FILE_NOT_WRITABLE"),
    "DUPLICATE_IN_BATCH": (40021, "ERROR_DUPLICATE_IN_BATCH"),
}
FIELD_FALLBACK = FIELD_CODES["INVALID_VALUE"]


def status_for(error: RecordbaseError) -> int:
    return row_for(error).pipeliner


def error_body(error: RecordbaseError) -> dict[str, Any]:
    """Pipeliner's `Error` object, for an error outside any record."""
    row = row_for(error)
    message = UNAUTHENTICATED_TEXT if isinstance(error, errors.NotAuthenticated) else error.message
    return {
        "code": row.code,
        "name": row.name,
        "message": message,
        "http_status": row.pipeliner,
        "success": False,
    }


def error_response(error: RecordbaseError) -> JSONResponse:
    """The response for an error outside any record; a 401 asks for Basic credentials, as Pipeliner does."""
    response = JSONResponse(error_body(error), status_code=status_for(error))
    if isinstance(error, errors.NotAuthenticated):
        response.headers["WWW-Authenticate"] = 'Basic realm="restapi"'
    if isinstance(error, errors.RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def internal_body() -> dict[str, Any]:
    return {
        "code": INTERNAL.code,
        "name": INTERNAL.name,
        "message": "Internal server error.",
        "http_status": INTERNAL.pipeliner,
        "success": False,
    }


class Names:
    """How the core's field names read on the wire: a relationship `owner` is `owner_id`."""

    def __init__(self, entity: Entity, wire: dict[str, str]) -> None:
        self.entity = entity
        self.wire = wire

    def field_name(self, core: str) -> str:
        return self.wire.get(core, core)

    def field_id(self, core: str) -> str | None:
        found = self.entity.field(core)
        return found.id if found is not None else None

    def message(self, error: FieldError) -> str:
        """The error's text with the field called by its wire name."""
        return error.named(self.field_name(error.field))


def item_error(
    error: RecordbaseError, names: Names, entity_id: str | None, index: int | None
) -> dict[str, Any]:
    """The error object for one record: the seed's validation shape, or `Error` plus the record's place."""
    body = error_body(error)
    body.update(
        {
            "entity_id": entity_id,
            "entity_name": names.entity.name,
            "entity_errors": [],
            "field_errors": [],
            "step_checklist_errors": [],
            "entity_index": index,
        }
    )
    if isinstance(error, errors.ValidationFailed):
        _validation(body, error.errors, names)
    return {**body, "http_status": body.pop("http_status"), "success": body.pop("success")}


def outcome_error(outcome: Outcome, names: Names, index: int | None) -> dict[str, Any]:
    assert outcome.error is not None
    return item_error(outcome.error, names, outcome.id, index)


def _validation(body: dict[str, Any], problems: tuple[FieldError, ...], names: Names) -> None:
    """Fill message, `entity_errors` and `field_errors` (grouped by field) from the core's list."""
    body["message"] = "".join("\n" + names.message(e) for e in problems)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for problem in problems:
        number, name = FIELD_CODES.get(problem.code, FIELD_FALLBACK)
        entry = {"code": number, "name": name, "message": names.message(problem)}
        if not problem.field:
            body["entity_errors"].append(entry)
            continue
        wire = names.field_name(problem.field)
        grouped.setdefault(problem.field, []).append(
            {**entry, "field_id": names.field_id(problem.field), "field_name": wire}
        )
    body["field_errors"] = [
        {
            "field_id": names.field_id(field),
            "field_name": names.field_name(field),
            "name": FIELD_VALIDATION[1],
            "code": FIELD_VALIDATION[0],
            "errors": entries,
        }
        for field, entries in grouped.items()
    ]
