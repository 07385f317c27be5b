"""HTTP status for each error class (the core knows no statuses), and the UiPath error envelope."""

from __future__ import annotations

from typing import Any

from recordbase import errors
from recordbase.files.errors import FileStorageError

STATUS: list[tuple[type[errors.RecordbaseError], int]] = [
    (errors.InvalidJson, 400),
    (errors.BadRequest, 400),
    (errors.PayloadTooLarge, 413),
    (errors.UnsupportedMediaType, 415),
    (errors.NotAuthenticated, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.SchemaError, 400),
    (errors.InvalidClient, 401),
    (errors.OAuthError, 400),
    (errors.RateLimited, 429),
    (FileStorageError, 503),
]

UNAUTHENTICATED_TEXT = (
    "You are not authenticated to access Data Service. "
    "Make sure your Assistant or Robot is connected to a modern folder in your account."
)
FORBIDDEN_TEXT = (
    "You don't have permission to access the entity, field or record or you are using an unsupported "
    "robot type. Please contact your administrator for necessary permissions."
)


def status_for(error: errors.RecordbaseError) -> int:
    if isinstance(error, errors.ValidationFailed):
        return 409 if error.is_conflict else 400
    return next((status for kind, status in STATUS if isinstance(error, kind)), 500)


def dataservice_body(error: errors.RecordbaseError, trace_id: str) -> dict[str, Any]:
    """`{error, code, traceId}` as the uipath SDK parses it, plus the field errors when there are any."""
    body: dict[str, Any] = {"error": error.message, "code": error.code, "traceId": trace_id}
    if isinstance(error, errors.ValidationFailed):
        body["fieldErrors"] = [{"field": e.field, "code": e.code, "message": e.message} for e in error.errors]
    return body
