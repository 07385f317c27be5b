"""The body of a batch request, for both dialects: a JSON array, its length observed in the
`recordbase_batch_size` histogram (docs/operations.md) by operation (`insert-batch`, `batch-modify`, …)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from recordbase.api.http import json_body
from recordbase.api.observability import record_batch_size
from recordbase.errors import BadRequest
from recordbase.services import Services


async def batch_body(request: Request, services: Services) -> list[Any]:
    """The request's JSON array; 400 for any other JSON value."""
    body = await json_body(request, services.settings.max_body_bytes)
    if not isinstance(body, list):
        raise BadRequest("The body of a batch must be a JSON array.")
    record_batch_size(request, request.url.path.rsplit("/", 1)[-1], len(body))
    return body
