"""Sign in (login + password through the OAuth password grant, or a pasted token), sign out, landing."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from recordbase.console.cookies import COOKIE_PATH, REFRESH_COOKIE, Session, clear_session, set_session
from recordbase.console.web import (
    Api,
    ApiError,
    Console,
    console_for,
    grant_session,
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
    session = Session(token)
    if not token:
        try:
            session = await password_grant(Api(request, ""), login_name, password)
        except ApiError as error:
            return render(request, "login.html", error.status, message=error.message, login=login_name)
    if await console_for(request, session.token) is None:
        return render(request, "login.html", 401, message="That token is not valid.")
    response = see_other(f"{COOKIE_PATH}/")
    set_session(request, response, session)
    return response


async def password_grant(api: Api, login_name: str, password: str) -> Session:
    form = {"grant_type": "password", "username": login_name, "password": password}
    return grant_session(await api.json("POST", "/oauth/token", data=form))


@page
async def logout(console: Console) -> Response:
    """POST /console/logout: a password sign-in is revoked (its refresh token's whole family); a pasted
    personal or admin token is only forgotten."""
    refresh = console.request.cookies.get(REFRESH_COOKIE)
    for token in (refresh, console.api.token):
        if token and not token.startswith("rb_"):
            await console.api.call("POST", "/oauth/revoke", data={"token": token})
    response = see_other(f"{COOKIE_PATH}/login")
    clear_session(response)
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


async def not_found(request: Request) -> Response:
    """Any other console address: a page, not the API's JSON 404."""
    return render(request, "error.html", 404, message="There is no such page.")


async def root(request: Request) -> Response:
    """GET /: the console."""
    return see_other(f"{COOKIE_PATH}/")
