"""Request helpers shared by both dialects: JSON bodies, query parameters, responses."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import orjson
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from recordbase.errors import BadRequest, InvalidJson, PayloadTooLarge, UnsupportedMediaType
from recordbase.timing import stage

JSON_TYPES = ("application/json", "text/json", "application/problem+json")


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        with stage("render"):
            return orjson.dumps(content)


async def json_body(request: Request, max_bytes: int) -> Any:
    """The request's JSON body; 415 for another media type, 413 above the limit, 400 when malformed."""
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media and media not in JSON_TYPES:
        raise UnsupportedMediaType(f"Expected a JSON body (application/json), got '{media}'.")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"The request body is larger than {max_bytes} bytes.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"The request body is larger than {max_bytes} bytes.")
        chunks.append(chunk)
    try:
        with stage("parse"):
            return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as error:
        raise InvalidJson(f"The request body is not valid JSON: {error}.") from None


def query_param(request: Request, name: str) -> str | None:
    """A query parameter by its documented name, or by that name in another letter case
    (`FailOnFirst`, `ExpansionLevel`: UiPath's own pages write PascalCase, its SDKs camelCase)."""
    params = _query_params(request.scope["query_string"])
    raw = params.get(name)
    if raw is None and params:
        lowered = name.lower()
        raw = next((value for key, value in params.multi_items() if key.lower() == lowered), None)
    return raw


@lru_cache(maxsize=512)
def _query_params(query_string: bytes) -> QueryParams:
    """Parsed once per distinct query string: clients repeat theirs (`?expansionLevel=0`), and
    parsing one costs more than the rest of reading a parameter. `QueryParams` is immutable."""
    return QueryParams(query_string)


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = query_param(request, name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"Query parameter '{name}' must be an integer.") from None
    if not low <= value <= high:
        raise BadRequest(f"Query parameter '{name}' must be between {low} and {high}.")
    return value


def bool_param(request: Request, name: str, default: bool) -> bool:
    raw = query_param(request, name)
    if raw is None or raw == "":
        return default
    lowered = raw.lower()
    if lowered not in ("true", "false", "1", "0"):
        raise BadRequest(f"Query parameter '{name}' must be true or false.")
    return lowered in ("true", "1")
