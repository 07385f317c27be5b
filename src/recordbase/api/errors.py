"""The one error table: each error class's HTTP status and Pipeliner code (the core knows no
statuses), and the UiPath error envelope. api/pipeliner/errors.py renders Pipeliner's from the table.

An error takes the row of its own class or, failing that, of its nearest ancestor: a new error class
answers like its parent until it gets a row. docs/errors.md lists every code; tests/api/test_errors.py
renders every class in both dialects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recordbase import errors
from recordbase.files import errors as file_errors


@dataclass(frozen=True)
class Row:
    """How one error class answers: `status` in the UiPath dialect; Pipeliner's numeric `code` and
    `name`, and its status when it differs (`pipeliner_status`)."""

    status: int
    code: int
    name: str
    pipeliner_status: int | None = None

    @property
    def pipeliner(self) -> int:
        return self.status if self.pipeliner_status is None else self.pipeliner_status


# Codes 40000, 117 are Pipeliner's own; the others are recordbase's, each starting with its status.
TABLE: dict[type[errors.RecordbaseError], Row] = {
    errors.RecordbaseError: Row(500, 50000, "ERROR_INTERNAL"),
    errors.BadRequest: Row(400, 117, "ERROR_PARAMETER_INVALID"),
    errors.ValidationFailed: Row(400, 40000, "ERROR_ENTITY_VALIDATION", pipeliner_status=422),
    errors.SchemaError: Row(400, 40001, "ERROR_SCHEMA_INVALID"),
    errors.OAuthError: Row(400, 40003, "ERROR_INVALID_GRANT"),
    errors.NotAuthenticated: Row(401, 40100, "ERROR_UNAUTHENTICATED"),
    errors.InvalidClient: Row(401, 40101, "ERROR_INVALID_CLIENT"),
    errors.Forbidden: Row(403, 40300, "ERROR_FORBIDDEN"),
    errors.RecordNotFound: Row(404, 40400, "ERROR_ENTITY_NOT_FOUND"),
    errors.EntityNotFound: Row(404, 40401, "ERROR_ENTITY_TYPE_NOT_FOUND"),
    errors.NotFound: Row(404, 40402, "ERROR_NOT_FOUND"),
    errors.RecordReferenced: Row(409, 40900, "ERROR_ENTITY_REFERENCED"),
    errors.WriteConflict: Row(409, 40901, "ERROR_WRITE_CONFLICT"),
    errors.Conflict: Row(409, 40902, "ERROR_CONFLICT"),
    errors.PayloadTooLarge: Row(413, 41300, "ERROR_PAYLOAD_TOO_LARGE"),
    errors.UnsupportedMediaType: Row(415, 41500, "ERROR_UNSUPPORTED_MEDIA_TYPE"),
    file_errors.RangeNotSatisfiable: Row(416, 41600, "ERROR_RANGE_NOT_SATISFIABLE"),
    errors.RateLimited: Row(429, 42900, "ERROR_TOO_MANY_REQUESTS"),
    file_errors.FileStorageError: Row(503, 50301, "ERROR_SERVICE_UNAVAILABLE"),
    file_errors.FileContentMissing: Row(500, 50002, "ERROR_FILE_CONTENT_MISSING"),
    errors.StaleSchema: Row(503, 50300, "ERROR_SCHEMA_CHANGED"),
}
INTERNAL = TABLE[errors.RecordbaseError]

UNAUTHENTICATED_TEXT = (
    "You are not authenticated to access Data Service. "
    "Make sure your Assistant or Robot is connected to a modern folder in your account."
)
FORBIDDEN_TEXT = (
    "You don't have permission to access the entity, field or record or you are using an unsupported "
    "robot type. Please contact your administrator for necessary permissions."
)


def row_for(error: errors.RecordbaseError) -> Row:
    """The row of the error's class or its nearest ancestor's."""
    return next((TABLE[kind] for kind in type(error).__mro__ if kind in TABLE), INTERNAL)


def status_for(error: errors.RecordbaseError) -> int:
    """The UiPath dialect's status; a validation failure of taken unique values only is a 409."""
    if isinstance(error, errors.ValidationFailed) and error.is_conflict:
        return 409
    return row_for(error).status


def dataservice_body(error: errors.RecordbaseError, trace_id: str) -> dict[str, Any]:
    """`{error, code, traceId}` as the uipath SDK parses it, plus the field errors when there are any."""
    body: dict[str, Any] = {"error": error.message, "code": error.code, "traceId": trace_id}
    if isinstance(error, errors.ValidationFailed):
        body["fieldErrors"] = [{"field": e.field, "code": e.code, "message": e.message} for e in error.errors]
    return body
