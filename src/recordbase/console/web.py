"""The console's plumbing: the signed-in session, the in-process API client, CSRF, page rendering.

The console is a client of the public API. Every page calls the API with the token kept in the
session cookie, through the same ASGI app in process (no socket), so it sees exactly what the
token may see and answers with the API's own validation messages. The actor computed here only
decides which controls to show; the API decides what is allowed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from recordbase import __version__
from recordbase.console.cookies import COOKIE, COOKIE_PATH, REFRESH_COOKIE, Session, set_session
from recordbase.core.actors import Actor
from recordbase.core.permissions import AdminRight
from recordbase.errors import NotAuthenticated
from recordbase.services import Services

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")


class ApiError(Exception):
    """A non-2xx answer of the API: its status, message and field errors, shown as they came."""

    def __init__(self, status: int, message: str, field_errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field_errors = field_errors


class Api:
    """The public API, called in process with one token."""

    def __init__(self, request: Request, token: str) -> None:
        self.app = request.app
        self.token = token

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; its own task, so the inner request's context (request id) stays its own."""
        return await asyncio.create_task(self._send(method, path, **kwargs))

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app)
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with httpx.AsyncClient(transport=transport, base_url="http://console.local") as client:
            return await client.request(method, path, headers=headers, **kwargs)

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The decoded answer of a 2xx; ApiError otherwise."""
        response = await self.call(method, path, **kwargs)
        raise_for(response)
        return response.json() if response.content else None


def raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    message = body.get("error_description") or body.get("error") or body.get("message") or response.text
    raise ApiError(response.status_code, str(message), list(body.get("fieldErrors") or []))


@dataclass(frozen=True)
class Console:
    """One signed-in console request: who, with which token, and what to show them."""

    request: Request
    actor: Actor
    api: Api

    @property
    def can_admin(self) -> bool:
        return self.actor.permissions.has_right(AdminRight.MANAGE_PERMISSIONS)

    @property
    def can_design(self) -> bool:
        return self.actor.permissions.has_right(AdminRight.CUSTOMIZE_SCHEMA)

    def render(self, template: str, status: int = 200, **values: Any) -> Response:
        return render(self.request, template, status, console=self, **values)


def render(request: Request, template: str, status: int = 200, **values: Any) -> Response:
    values.setdefault("console", None)
    response = TEMPLATES.TemplateResponse(
        request, template, {"version": __version__, "status": status, **values}, status_code=status
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = CSP
    return response


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def same_origin(request: Request) -> bool:
    """CSRF check for cookie-authenticated posts: Origin (or Referer) must name this server."""
    source = request.headers.get("origin") or request.headers.get("referer") or ""
    parts = urlsplit(source)
    return bool(parts.netloc) and parts.netloc == request.headers.get("host", "")


Page = Callable[[Console], Awaitable[Response]]


def page(handler: Page) -> Callable[[Request], Awaitable[Response]]:
    """A console page: signed in (else to the login page), same-origin posts, API errors shown as pages."""

    async def endpoint(request: Request) -> Response:
        if request.method != "GET" and not same_origin(request):
            return render(request, "error.html", 403, message="Cross-site request refused.")
        console, renewed = await signed_in(request), None
        if console is None:
            renewed = await refreshed(request)
            console = await console_for(request, renewed.token) if renewed else None
        if console is None:
            return RedirectResponse(f"{COOKIE_PATH}/login", status_code=303)
        response = await _run(handler, console)
        if renewed is not None:
            set_session(request, response, renewed)
        return response

    return endpoint


async def _run(handler: Page, console: Console) -> Response:
    try:
        return await handler(console)
    except ApiError as error:
        return console.render("error.html", error.status, message=error.message, errors=error.field_errors)


async def refreshed(request: Request) -> Session | None:
    """An expired password sign-in renewed with its refresh token (used once, then rotated)."""
    refresh = request.cookies.get(REFRESH_COOKIE, "")
    if not refresh:
        return None
    try:
        granted = await Api(request, "").json(
            "POST", "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": refresh}
        )
    except ApiError:
        return None
    return grant_session(granted)


def grant_session(granted: dict[str, Any]) -> Session:
    return Session(
        str(granted["access_token"]), int(granted.get("expires_in", 3600)), granted.get("refresh_token")
    )


async def signed_in(request: Request) -> Console | None:
    return await console_for(request, request.cookies.get(COOKIE, ""))


async def console_for(request: Request, token: str) -> Console | None:
    """The console of a token, or None when the API would not accept it."""
    if not token:
        return None
    services: Services = request.app.state.services
    try:
        actor = await services.auth.authenticate_bearer(token)
    except NotAuthenticated:
        return None
    return Console(request, actor, Api(request, token))


def see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def forbidden(console: Console) -> Response:
    return console.render("error.html", 403, message="Your role may not open this page.")
