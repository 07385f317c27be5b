"""Wrapping handlers: authenticate, run, and render any error in the dialect's envelope."""

from __future__ import annotations

import base64
import binascii
import logging
import uuid
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from recordbase.api.errors import UNAUTHENTICATED_TEXT, dataservice_body, status_for
from recordbase.api.http import JSONResponse
from recordbase.api.observability import current_request_id
from recordbase.api.pipeliner import errors as pipeliner_errors
from recordbase.core.actors import Actor
from recordbase.errors import NotAuthenticated, OAuthError, RecordbaseError
from recordbase.services import Services
from recordbase.timing import stage

logger = logging.getLogger("recordbase.api")

Handler = Callable[[Request, Actor, Services], Awaitable[Response]]
PublicHandler = Callable[[Request, Services], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]

ANSWERING_ERRORS: set[Endpoint] = set()
"""Every endpoint made here: each answers any error itself and lets no exception out, so the app's
exception handlers have nothing to do for it and api/router.py `DirectDispatch` may call it directly."""


async def authenticate(request: Request, services: Services) -> Actor:
    """The actor behind the request's bearer token; 401 when there is none or it is not valid."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated(UNAUTHENTICATED_TEXT)
    return await services.auth.authenticate_bearer(token.strip())


async def authenticate_basic_or_bearer(request: Request, services: Services) -> Actor:
    """Pipeliner routes also take HTTP Basic with an application's client id and secret."""
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return await authenticate(request, services)
    try:
        login, _, secret = base64.b64decode(credential.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise NotAuthenticated(UNAUTHENTICATED_TEXT) from None
    try:
        return await services.auth.authenticate_basic(login, secret)
    except OAuthError:
        raise NotAuthenticated(UNAUTHENTICATED_TEXT) from None


def dataservice(handler: Handler) -> Endpoint:
    """A UiPath Data Service endpoint: bearer token required, errors as `{error, code, traceId}`.

    `traceId` is the request id the observability middleware assigned (and returns as `X-Request-Id`).
    """

    async def authenticated(request: Request, services: Services) -> Response:
        with stage("auth"):
            actor = await authenticate(request, services)
        return await handler(request, actor, services)

    endpoint = public_dataservice(authenticated)
    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


def public_dataservice(handler: PublicHandler) -> Endpoint:
    """An endpoint that needs no token, with the same error envelope."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request, request.app.state.services)
        except RecordbaseError as error:
            return JSONResponse(dataservice_body(error, _request_id()), status_code=status_for(error))
        except Exception:
            logger.exception("unhandled error")
            body = {"error": "Internal server error.", "code": "INTERNAL_ERROR", "traceId": _request_id()}
            return JSONResponse(body, status_code=500)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    ANSWERING_ERRORS.add(endpoint)
    return endpoint


def _request_id() -> str:
    """The middleware's id; a fresh one only where the app runs without it (never in create_app)."""
    return current_request_id() or uuid.uuid4().hex


def pipeliner(handler: Handler) -> Endpoint:
    """A Pipeliner endpoint: the same credential check; errors as Pipeliner's `Error` object,
    a refused credential with `WWW-Authenticate: Basic realm="restapi"`
    (docs/compat-pipeliner.md#authentication)."""

    async def endpoint(request: Request) -> Response:
        services: Services = request.app.state.services
        try:
            with stage("auth"):
                actor = await authenticate_basic_or_bearer(request, services)
            return await handler(request, actor, services)
        except RecordbaseError as error:
            return pipeliner_errors.error_response(error)
        except Exception:
            logger.exception("unhandled error")
            return JSONResponse(pipeliner_errors.internal_body(), status_code=500)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    ANSWERING_ERRORS.add(endpoint)
    return endpoint
