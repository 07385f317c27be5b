"""Access: users, applications (the secret shown once), roles and assignments; personal tokens."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.responses import Response

from recordbase.console.web import ApiError, Console, forbidden, page, see_other

ADMIN = "/api/admin"
KINDS = ("users", "applications", "groups")


async def _form(console: Console) -> FormData:
    async with console.request.form(max_files=0, max_fields=20) as form:
        return form


async def _access_page(console: Console, status: int = 200, **values: Any) -> Response:
    if not console.can_admin:
        return forbidden(console)
    principals = {kind: await console.api.json("GET", f"{ADMIN}/{kind}") for kind in KINDS}
    names = {p["id"]: p.get("name") or p.get("login") or p["id"] for ps in principals.values() for p in ps}
    roles = await console.api.json("GET", f"{ADMIN}/roles")
    role_names = {r["id"]: r["name"] for r in roles}
    assignments = await console.api.json("GET", f"{ADMIN}/assignments")
    return console.render(
        "access.html",
        status,
        principals=principals,
        roles=roles,
        assignments=assignments,
        names=names,
        role_names=role_names,
        **values,
    )


@page
async def access(console: Console) -> Response:
    return await _access_page(console)


async def _admin_post(console: Console, method: str, path: str, body: Any = None) -> Response | Any:
    """One administration call; its answer, or the access page with the API's message."""
    try:
        return await console.api.json(method, f"{ADMIN}{path}", json=body)
    except ApiError as error:
        if error.status == 403:
            return forbidden(console)
        return await _access_page(console, error.status, error=error)


@page
async def create_principal(console: Console) -> Response:
    kind = console.request.path_params["kind"]
    if kind not in KINDS:
        return forbidden(console)
    form = await _form(console)
    body = {k: str(form[k]) for k in ("name", "login", "password") if form.get(k)}
    created = await _admin_post(console, "POST", f"/{kind}", body)
    if isinstance(created, Response):
        return created
    if kind == "applications":
        return await _access_page(console, 201, created_app=created)
    return see_other("/console/access")


@page
async def create_role(console: Console) -> Response:
    form = await _form(console)
    try:
        entities = json.loads(str(form.get("entities") or "{}"))
    except ValueError:
        return await _access_page(console, 400, error=ApiError(400, "Entities must be JSON.", []))
    body = {"name": str(form.get("name", "")), "rights": form.getlist("rights"), "entities": entities}
    done = await _admin_post(console, "POST", "/roles", body)
    return done if isinstance(done, Response) else see_other("/console/access")


@page
async def assign(console: Console) -> Response:
    """Assign (or, with `remove`, unassign) a role to a principal."""
    form = await _form(console)
    method = "DELETE" if form.get("remove") else "PUT"
    path = f"/roles/{form.get('role', '')}/assignments/{form.get('principal', '')}"
    done = await _admin_post(console, method, path)
    return done if isinstance(done, Response) else see_other("/console/access")


async def _tokens_page(console: Console, status: int = 200, **values: Any) -> Response:
    listed = await console.api.json("GET", f"{ADMIN}/tokens")
    return console.render("tokens.html", status, tokens=listed, **{"created": None, **values})


@page
async def update_principal(console: Console) -> Response:
    """Disable or enable a user or application, or set a new password (`PATCH /principals/{id}`)."""
    form = await _form(console)
    body: dict[str, Any] = {}
    if form.get("disabled") in ("true", "false"):
        body["disabled"] = form["disabled"] == "true"
    if form.get("password"):
        body["password"] = str(form["password"])
    principal_id = quote(console.request.path_params["principal_id"])
    done = await _admin_post(console, "PATCH", f"/principals/{principal_id}", body)
    return done if isinstance(done, Response) else see_other("/console/access")


@page
async def tokens(console: Console) -> Response:
    return await _tokens_page(console)


@page
async def revoke_token(console: Console) -> Response:
    await console.api.json("DELETE", f"{ADMIN}/tokens/{quote(console.request.path_params['token_id'])}")
    return see_other("/console/tokens")


@page
async def create_token(console: Console) -> Response:
    """A personal access token for oneself, shown once."""
    form = await _form(console)
    body: dict[str, Any] = {"name": str(form.get("name") or "console token")}
    if str(form.get("expiresInDays", "")).isdigit():
        body["expiresInDays"] = int(str(form["expiresInDays"]))
    try:
        created = await console.api.json("POST", f"{ADMIN}/tokens", json=body)
    except ApiError as error:
        return await _tokens_page(console, error.status, error=error)
    return await _tokens_page(console, 201, created=created["token"])
