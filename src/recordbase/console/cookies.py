"""The console's session cookies: HttpOnly, SameSite=Strict, scoped to /console, never seen by scripts."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "rb_console"
REFRESH_COOKIE = "rb_console_refresh"
COOKIE_PATH = "/console"
REFRESH_SECONDS = 30 * 24 * 3600  # the refresh token's own lifetime (auth/service.py)


@dataclass(frozen=True)
class Session:
    """What a sign-in or a refresh granted: an access token, its lifetime, and maybe a refresh token."""

    token: str
    lifetime: int | None = None
    refresh: str | None = None


def set_session(request: Request, response: Response, session: Session) -> None:
    _set(request, response, COOKIE, session.token, session.lifetime)
    if session.refresh:
        _set(request, response, REFRESH_COOKIE, session.refresh, REFRESH_SECONDS)


def clear_session(response: Response) -> None:
    for name in (COOKIE, REFRESH_COOKIE):
        response.delete_cookie(name, path=COOKIE_PATH, httponly=True, samesite="strict")


def _set(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
