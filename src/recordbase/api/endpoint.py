"""Wrapping handlers: authenticate, run, and render any error in the dialect's envelope."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from recordbase.api.errors import UNAUTHENTICATED_TEXT, dataservice_body, status_for
from recordbase.api.http import JSONResponse, trace_id
from recordbase.core.actors import Actor
from recordbase.errors import NotAuthenticated, RecordbaseError
from recordbase.services import Services

logger = logging.getLogger("recordbase.api")

Handler = Callable[[Request, Actor, Services], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


async def authenticate(request: Request, services: Services) -> Actor:
    """The actor behind the request's bearer token; 401 when there is none or it is not valid."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated(UNAUTHENTICATED_TEXT)
    actor = await services.tokens.authenticate(token.strip())
    if actor is None:
        raise NotAuthenticated(UNAUTHENTICATED_TEXT)
    return actor


def dataservice(handler: Handler) -> Endpoint:
    """A UiPath Data Service endpoint: bearer token required, errors as `{error, code, traceId}`."""

    async def endpoint(request: Request) -> Response:
        request_id = trace_id(request)
        services: Services = request.app.state.services
        try:
            actor = await authenticate(request, services)
            response = await handler(request, actor, services)
        except RecordbaseError as error:
            response = JSONResponse(dataservice_body(error, request_id), status_code=status_for(error))
        except Exception:
            logger.exception("unhandled error", extra={"trace_id": request_id})
            body = {"error": "Internal server error.", "code": "INTERNAL_ERROR", "traceId": request_id}
            response = JSONResponse(body, status_code=500)
        response.headers["X-Request-Id"] = request_id
        return response

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint
