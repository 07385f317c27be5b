"""One error hierarchy with stable codes.

Core and storage raise these; the HTTP layer (api/errors.py) maps each class to a
status and renders it in the envelope of the dialect that was called. Every code is
listed in docs/errors.md, and a test fails when one is not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

FIELD = "{field}"
"""In a field error's text: the field's name as the dialect spells it (`owner` in UiPath, `owner_id` in
Pipeliner); renderers fill it in (`FieldError.named`), so no message is rewritten after the fact."""


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of one record; `text` may name the field as `FIELD`."""

    field: str
    code: str
    text: str

    @property
    def message(self) -> str:
        """The text with the field's core name."""
        return self.named(self.field)

    def named(self, name: str) -> str:
        """The text with the field called `name` (its wire name)."""
        return self.text.replace(FIELD, name)


class RecordbaseError(Exception):
    """Base of every error a client may see; `code` is stable and documented."""

    code = "INTERNAL_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(RecordbaseError):
    """The request itself is malformed (JSON, parameters, body shape)."""

    code = "INVALID_REQUEST"


class InvalidJson(BadRequest):
    code = "INVALID_JSON"


class PayloadTooLarge(RecordbaseError):
    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(RecordbaseError):
    code = "UNSUPPORTED_MEDIA_TYPE"


class ValidationFailed(RecordbaseError):
    """A record broke one or more field rules; all of them are listed."""

    code = "VALIDATION_FAILED"

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(f"[{e.field}] {e.message}" for e in self.errors) or "Invalid record")

    @property
    def is_conflict(self) -> bool:
        """True when the only problems are unique values already taken (a 409, not a 400)."""
        return bool(self.errors) and all(e.code == "NOT_UNIQUE" for e in self.errors)


class NotAuthenticated(RecordbaseError):
    code = "UNAUTHENTICATED"


class Forbidden(RecordbaseError):
    code = "FORBIDDEN"


class NotFound(RecordbaseError):
    code = "NOT_FOUND"


class EntityNotFound(NotFound):
    code = "ENTITY_NOT_FOUND"


class WebhookNotFound(NotFound):
    code = "WEBHOOK_NOT_FOUND"


class ChoiceSetNotFound(NotFound):
    code = "CHOICE_SET_NOT_FOUND"


class FieldNotFound(NotFound):
    code = "FIELD_NOT_FOUND"


class RecordNotFound(NotFound):
    code = "RECORD_NOT_FOUND"


class Conflict(RecordbaseError):
    code = "CONFLICT"


class NameTaken(Conflict):
    code = "NAME_TAKEN"


class RecordReferenced(Conflict):
    code = "RECORD_REFERENCED"


class SchemaError(RecordbaseError):
    """A schema definition or change that recordbase refuses."""

    code = "INVALID_SCHEMA"


class InvalidName(SchemaError):
    code = "INVALID_NAME"


class ReservedName(SchemaError):
    code = "RESERVED_NAME"


class UnsupportedSchemaChange(SchemaError):
    code = "UNSUPPORTED_SCHEMA_CHANGE"


class StaleSchema(RecordbaseError):
    """Storage met a table or column the cached schema does not match; reload and retry."""

    code = "STALE_SCHEMA"


class InvalidQuery(BadRequest):
    """A filter, sort, projection or page that cannot run; every problem found is listed in `errors`."""

    code = "INVALID_QUERY"

    def __init__(self, message: str, errors: Iterable[FieldError] = ()) -> None:
        super().__init__(message)
        self.errors = tuple(errors)

    @classmethod
    def collected(cls, errors: Iterable[FieldError]) -> InvalidQuery:
        """One error for all the problems, so a client fixes its query in one round trip."""
        found = tuple(errors)
        return cls("; ".join(f"[{e.field}] {e.message}" for e in found) or "Invalid query", found)


class QueryTooComplex(InvalidQuery):
    """A filter nested deeper, or with more conditions, than the configured limits allow."""

    code = "QUERY_TOO_COMPLEX"


class InvalidCursor(BadRequest):
    """A page cursor that was not issued for this query (wrong shape, sort or entity)."""

    code = "INVALID_CURSOR"


class BatchTooLarge(PayloadTooLarge):
    """A batch with more items than the configured limit; refused whole, nothing written."""

    code = "BATCH_TOO_LARGE"


class WriteConflict(Conflict):
    """The database aborted a write to resolve a clash with a concurrent one (a deadlock).

    Batches are retried a few times before a client ever sees this.
    """

    code = "WRITE_CONFLICT"


class OAuthError(RecordbaseError):
    """A token-endpoint failure, rendered as RFC 6749 §5.2 (`error`, `error_description`)."""

    code = "INVALID_GRANT"
    oauth_error = "invalid_grant"


class InvalidClient(OAuthError):
    code = "INVALID_CLIENT"
    oauth_error = "invalid_client"


class UnsupportedGrantType(OAuthError):
    code = "UNSUPPORTED_GRANT_TYPE"
    oauth_error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    code = "INVALID_SCOPE"
    oauth_error = "invalid_scope"


class RateLimited(RecordbaseError):
    """Too many failed logins; `retry_after` seconds until the next attempt is considered."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
