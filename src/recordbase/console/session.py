"""Sign in (login + password through the OAuth password grant, or a pasted token), sign out, landing."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from recordbase.console.web import (
    COOKIE,
    COOKIE_PATH,
    Api,
    ApiError,
    Console,
    console_for,
    page,
    render,
    same_origin,
    see_other,
    signed_in,
)
from recordbase.settings import Settings


async def login_page(request: Request) -> Response:
    if await signed_in(request) is not None:
        return see_other(f"{COOKIE_PATH}/")
    return render(request, "login.html")


async def login(request: Request) -> Response:
    """POST /console/login: the token goes into an HttpOnly, SameSite=Strict cookie, never to scripts."""
    if not same_origin(request):
        return render(request, "login.html", 403, message="Cross-site request refused.")
    async with request.form(max_files=0, max_fields=10) as form:
        login_name, password = str(form.get("login", "")), str(form.get("password", ""))
        token = str(form.get("token", "")).strip()
    lifetime: int | None = None
    if not token:
        try:
            token, lifetime = await password_grant(Api(request, ""), login_name, password)
        except ApiError as error:
            return render(request, "login.html", error.status, message=error.message, login=login_name)
    response = see_other(f"{COOKIE_PATH}/")
    set_cookie(request, response, token, lifetime)
    if await console_for(request, token) is not None:
        return response
    return render(request, "login.html", 401, message="That token is not valid.")


async def password_grant(api: Api, login_name: str, password: str) -> tuple[str, int]:
    form = {"grant_type": "password", "username": login_name, "password": password}
    granted = await api.json("POST", "/oauth/token", data=form)
    return str(granted["access_token"]), int(granted.get("expires_in", 3600))


def set_cookie(request: Request, response: Response, token: str, lifetime: int | None) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=lifetime,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


@page
async def logout(console: Console) -> Response:
    """POST /console/logout: an access token from the password grant is revoked; a pasted one is kept."""
    if not console.api.token.startswith("rb_"):
        await console.api.call("POST", "/oauth/revoke", data={"token": console.api.token})
    response = see_other(f"{COOKIE_PATH}/login")
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
    return response


@page
async def home(console: Console) -> Response:
    settings: Settings = console.request.app.state.services.settings
    base = str(console.request.base_url).rstrip("/")
    return console.render(
        "home.html",
        uipath_url=f"{base}/myorg/mytenant",
        pipeliner_url=f"{base}/api/v100/rest/spaces/default",
        openapi_public=settings.openapi_public,
    )


async def root(request: Request) -> Response:
    """GET /: the console."""
    return see_other(f"{COOKIE_PATH}/")
