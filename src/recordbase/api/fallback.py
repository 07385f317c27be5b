"""Answers no handler gives: no route (404), a route without this method (405), an error outside
any handler (500); each in the `{error, code, traceId}` envelope every endpoint uses.

Starlette answers 405 only when the first partially matching route is also the last one, and lists
that route's methods alone; here the methods come from every route the path matches, so `Allow`
is complete even where one path has a route per method, or a mount would take the path first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from recordbase.api.http import JSONResponse
from recordbase.api.observability import REQUEST_ID, REQUEST_ID_KEY, current_request_id

logger = logging.getLogger("recordbase.api")


def allowed_methods(routes: Sequence[BaseRoute], path: str) -> set[str]:
    """The methods of the routes that match `path` most specifically (fewest path parameters),
    as OpenAPI reads paths: `/api/Entity/choiceset` is GET and POST, not also `/api/Entity/{entity}`'s."""
    found = list(_matching(routes, path, 0))
    fewest = min((params for params, _ in found), default=0)
    return {method for params, methods in found if params == fewest for method in methods}


def _matching(routes: Sequence[BaseRoute], path: str, params: int) -> Iterator[tuple[int, set[str]]]:
    for route in routes:
        if isinstance(route, Mount):
            matched = route.path_regex.match(path)
            if matched:  # a mount's own parameters, less the `{path}` it passes on
                inner = params + len(route.param_convertors) - 1
                yield from _matching(route.routes, "/" + matched.group("path"), inner)
        elif isinstance(route, Route) and route.path_regex.match(path):
            yield params + len(route.param_convertors), route.methods or set()


PIPELINER_PATHS = "/api/v100/rest/"
"""Under this prefix errors take Pipeliner's shape (docs/compat-pipeliner.md), whatever answers them."""
PIPELINER_CODES = {
    404: (40402, "ERROR_NOT_FOUND"),
    405: (40500, "ERROR_METHOD_NOT_ALLOWED"),
    500: (50000, "ERROR_INTERNAL"),
}


def envelope(
    message: str, code: str, status: int, headers: dict[str, str] | None = None, path: str = ""
) -> Response:
    if path.startswith(PIPELINER_PATHS):
        other = (117, "ERROR_PARAMETER_INVALID") if status < 500 else PIPELINER_CODES[500]
        number, name = PIPELINER_CODES.get(status, other)
        pipeliner = {
            "code": number,
            "name": name,
            "message": message,
            "http_status": status,
            "success": False,
        }
        return JSONResponse(pipeliner, status_code=status, headers=headers)
    body = {"error": message, "code": code, "traceId": current_request_id()}
    return JSONResponse(body, status_code=status, headers=headers)


async def http_error(request: Request, error: Exception) -> Response:
    """Starlette's 404/405 (and any other HTTPException), with a complete `Allow` on 405."""
    status = error.status_code if isinstance(error, HTTPException) else 500
    path = request.scope["path"]
    if status in (404, 405):
        methods = allowed_methods(request.app.routes, request.scope["path"])
        if methods and request.method not in methods:
            allow = ", ".join(sorted(methods))
            return envelope(
                f"{request.method} is not allowed here; use {allow}.",
                "METHOD_NOT_ALLOWED",
                405,
                {"Allow": allow},
                path,
            )
        return envelope("Nothing at this address.", "NOT_FOUND", 404, path=path)
    detail = error.detail if isinstance(error, HTTPException) else "Error."
    code = "INVALID_REQUEST" if status < 500 else "INTERNAL_ERROR"
    return envelope(str(detail), code, status, path=path)


async def server_error(request: Request, error: Exception) -> Response:
    """An exception no endpoint caught (middleware, routing): logged, answered as INTERNAL_ERROR."""
    logger.error("unhandled error outside an endpoint", exc_info=error)
    # Starlette answers this outside the observability middleware, whose context has ended:
    # the request id comes from the scope, and goes back as `X-Request-Id` as on every answer.
    request_id = current_request_id() or str(request.scope.get(REQUEST_ID_KEY, ""))
    token = REQUEST_ID.set(request_id)
    try:
        response = envelope("Internal server error.", "INTERNAL_ERROR", 500, path=request.scope["path"])
    finally:
        REQUEST_ID.reset(token)
    if request_id:
        response.headers["X-Request-Id"] = request_id
    return response


EXCEPTION_HANDLERS = {HTTPException: http_error, Exception: server_error}
