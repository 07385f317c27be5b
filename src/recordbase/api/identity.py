"""OAuth2 token and revocation endpoints (RFC 6749, RFC 7009) and the administration API.

Token endpoints answer in RFC 6749's shape (`error`, `error_description`), with recordbase's
`code` and `traceId` beside; never cached (`Cache-Control: no-store`).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from recordbase.api.errors import status_for
from recordbase.api.http import JSONResponse, int_param, json_body
from recordbase.api.observability import current_request_id
from recordbase.auth.directory import KINDS
from recordbase.core.actors import Actor
from recordbase.core.permissions import AdminRight
from recordbase.errors import (
    BadRequest,
    NotFound,
    OAuthError,
    RateLimited,
    RecordbaseError,
    UnsupportedMediaType,
)
from recordbase.services import Services

logger = logging.getLogger("recordbase.api")
MAX_TEXT = 200
"""Names, logins and ids in the administration API: at most this many characters."""
MAX_SECRET = 1024
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


async def form_fields(request: Request) -> dict[str, str]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/json":
        body = await json_body(request, 64 * 1024)
        if not isinstance(body, dict):
            raise BadRequest("The body must be a JSON object.")
        return {str(k): str(v) for k, v in body.items() if isinstance(v, str)}
    if media != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("Send the token request as application/x-www-form-urlencoded.")
    async with request.form(max_files=0, max_fields=20) as form:
        return {k: v for k, v in form.items() if isinstance(v, str)}


def oauth_error(error: RecordbaseError, request_id: str) -> Response:
    status = 401 if error.code == "INVALID_CLIENT" else status_for(error)
    oauth = error.oauth_error if isinstance(error, OAuthError) else "invalid_request"
    body = {"error": oauth, "error_description": error.message, "code": error.code, "traceId": request_id}
    headers = dict(NO_STORE)
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    return JSONResponse(body, status_code=status, headers=headers)


async def token(request: Request) -> Response:
    """POST /oauth/token and /identity_/connect/token: client_credentials, password, refresh_token."""
    request_id = current_request_id() or uuid.uuid4().hex
    services: Services = request.app.state.services
    try:
        granted = await services.auth.grant(await form_fields(request))
    except RecordbaseError as error:
        return oauth_error(error, request_id)
    except Exception:
        logger.exception("unhandled error in the token endpoint")
        body = {"error": "server_error", "error_description": "Internal server error.",
                "code": "INTERNAL_ERROR", "traceId": request_id}  # fmt: skip
        return JSONResponse(body, status_code=500, headers=NO_STORE)
    return JSONResponse(granted.as_json(), headers=NO_STORE)


async def revoke(request: Request) -> Response:
    """POST /oauth/revoke (RFC 7009): always 200, whether or not the token was known."""
    request_id = current_request_id() or uuid.uuid4().hex
    services: Services = request.app.state.services
    try:
        fields = await form_fields(request)
        await services.auth.revoke(fields.get("token", ""))
    except RecordbaseError as error:
        return oauth_error(error, request_id)
    return Response(status_code=200, headers=NO_STORE)


# Administration (Administrator role, `DataService.Admin` scope) -------------------------------------


def require_admin(actor: Actor) -> None:
    actor.permissions.require_right(AdminRight.MANAGE_PERMISSIONS)


def text(body: dict[str, Any], key: str, *, required: bool = False, limit: int = MAX_TEXT) -> str | None:
    """A string member of an admin body: a 400 for another type, over `limit` characters or a NUL."""
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise BadRequest(f"'{key}' must be a {'non-empty ' if required else ''}string.")
    checked(value, key, limit)
    return value


def checked(value: str, what: str, limit: int = MAX_TEXT) -> str:
    if len(value) > limit:
        raise BadRequest(f"'{what}' is longer than {limit} characters.")
    if "\x00" in value:
        raise BadRequest(f"'{what}' must not contain a NUL character.")
    return value


def path_id(request: Request, name: str) -> str:
    """A path parameter of the admin API (an id or a name), bounded like the bodies' names."""
    return checked(str(request.path_params[name]), name)


def principal_kind(request: Request) -> str:
    """`users`, `applications`, `groups` (or the singular); any other `/api/admin/...` path is 404."""
    kind = path_id(request, "kind")
    kind = kind[:-1] if kind.endswith("s") else kind
    if kind not in KINDS:
        raise NotFound("Nothing at this address.")
    return kind


async def list_principals(request: Request, actor: Actor, services: Services) -> Response:
    require_admin(actor)
    return JSONResponse(await services.directory.list_principals(principal_kind(request)))


async def create_principal(request: Request, actor: Actor, services: Services) -> Response:
    require_admin(actor)
    kind = principal_kind(request)
    body = await _object(request, services)
    name = text(body, "name", required=True) or ""
    login, password = text(body, "login"), text(body, "password", limit=MAX_SECRET)
    created = await services.directory.create_principal(actor, kind, name, login, password)
    return JSONResponse(created, status_code=201)


async def update_principal(request: Request, actor: Actor, services: Services) -> Response:
    """PATCH a principal: `{password}` to change the secret, `{disabled: true|false}`."""
    require_admin(actor)
    body = await _object(request, services)
    principal_id = path_id(request, "principal_id")
    password, disabled = text(body, "password", limit=MAX_SECRET), body.get("disabled")
    if disabled is not None and not isinstance(disabled, bool):
        raise BadRequest("'disabled' must be true or false.")
    if password is not None:
        await services.directory.set_secret(actor, principal_id, password)
    if disabled is not None:
        await services.directory.set_disabled(actor, principal_id, disabled)
    return Response(status_code=204)


async def group_member(request: Request, actor: Actor, services: Services) -> Response:
    require_admin(actor)
    group, member = path_id(request, "group_id"), path_id(request, "member_id")
    await services.directory.membership(actor, group, member, add=request.method == "PUT")
    return Response(status_code=204)


async def list_roles(request: Request, actor: Actor, services: Services) -> Response:
    require_admin(actor)
    return JSONResponse(await services.directory.list_roles())


async def save_role(request: Request, actor: Actor, services: Services) -> Response:
    require_admin(actor)
    body = await _object(request, services)
    role_id = path_id(request, "role_id") if "role_id" in request.path_params else None
    await services.schemas.refresh_if_changed()
    saved = await services.directory.save_role(actor, body, role_id, services.schemas.current)
    return JSONResponse(saved, status_code=200 if role_id else 201)


async def delete_role(request: Request, actor: Actor, services: Services) -> Response:
    require_admin(actor)
    await services.directory.delete_role(actor, path_id(request, "role_id"))
    return Response(status_code=204)


async def role_assignment(request: Request, actor: Actor, services: Services) -> Response:
    require_admin(actor)
    role, principal = path_id(request, "role_id"), path_id(request, "principal_id")
    await services.directory.assignment(actor, role, principal, add=request.method == "PUT")
    return Response(status_code=204)


async def list_assignments(request: Request, actor: Actor, services: Services) -> Response:
    require_admin(actor)
    return JSONResponse(await services.directory.assignments())


async def create_token(request: Request, actor: Actor, services: Services) -> Response:
    """A personal access token: for oneself, or (administrators) for any principal."""
    body = await _object(request, services)
    principal_id = text(body, "principalId") or actor.id
    if principal_id != actor.id:
        require_admin(actor)
    scopes = body.get("scopes")
    if scopes is not None and (not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes)):
        raise BadRequest("scopes must be an array of strings.")
    if scopes is not None and not set(scopes) <= actor.scopes:
        raise BadRequest("A token cannot carry scopes its creator does not have.")
    days = body.get("expiresInDays")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650):
        raise BadRequest("expiresInDays must be an integer from 1 to 3650.")
    name = text(body, "name") or "personal access token"
    created = await services.directory.personal_token(
        actor, principal_id, name, scopes or sorted(actor.scopes), days
    )
    return JSONResponse({"token": created}, status_code=201, headers=NO_STORE)


async def list_tokens(request: Request, actor: Actor, services: Services) -> Response:
    """GET /tokens: one's own personal tokens; `principalId=` (administrators) another's, `*` everyone's."""
    wanted = request.query_params.get("principalId") or actor.id
    if wanted != actor.id:
        require_admin(actor)
    return JSONResponse(await services.directory.list_tokens(None if wanted == "*" else wanted))


async def revoke_token(request: Request, actor: Actor, services: Services) -> Response:
    """DELETE /tokens/{token_id}: revoke one's own personal token (administrators: anyone's)."""
    is_admin = actor.permissions.has_right(AdminRight.MANAGE_PERMISSIONS)
    await services.directory.revoke_token(actor, request.path_params["token_id"], any_owner=is_admin)
    return Response(status_code=204)


async def audit_log(request: Request, actor: Actor, services: Services) -> Response:
    require_admin(actor)
    limit = int_param(request, "limit", 100, 1, 1000)
    offset = int_param(request, "start", 0, 0, 2**31)
    return JSONResponse(await services.directory.audit(limit, offset))


async def _object(request: Request, services: Services) -> dict[str, Any]:
    body = await json_body(request, services.settings.max_body_bytes)
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    return body
