"""Token security catalogue: every way a credential can be wrong gets 401, on both backends."""

from __future__ import annotations

import time
from types import SimpleNamespace

import jwt
import pytest

from recordbase.auth import jwt_tokens
from tests.api.helpers import DF, DS, standard_entities
from tests.conftest import Api
from tests.security.helpers import ADMIN, PASSWORD, bearer, create_user, password_token

pytestmark = pytest.mark.anyio


def forge(api: Api, **changes: object) -> str:
    """A token signed with the server's own key, with some claims changed."""
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "recordbase",
        "aud": "recordbase",
        "sub": "00000000-0000-0000-0000-000000000001",
        "scope": "DataService.Data.Read DataService.Schema.Read",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": "forged",
    }
    claims.update(changes)
    return jwt.encode(
        {k: v for k, v in claims.items() if v is not None}, api.services.auth.access.key, "HS256"
    )


async def assert_401(api: Api, token: str) -> None:
    response = await api.get(f"{DF}/Entity", headers=bearer(token))
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "UNAUTHENTICATED"


async def test_a_correctly_signed_token_works(api: Api) -> None:
    response = await api.get(f"{DF}/Entity", headers=bearer(forge(api)))
    assert response.status_code == 200


async def test_malformed_token(api: Api) -> None:
    await assert_401(api, "abc.def.ghi")
    await assert_401(api, "not-a-jwt")


async def test_expired_token(api: Api) -> None:
    await assert_401(api, forge(api, exp=int(time.time()) - 60, iat=int(time.time()) - 3600))


async def test_a_token_accepted_before_is_refused_once_it_expires(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each token's claims are verified once per process (auth/jwt_tokens.py); its expiry still counts
    on every request."""
    token = forge(api, exp=int(time.time()) + 60)
    response = await api.get(f"{DF}/Entity", headers=bearer(token))
    assert response.status_code == 200, response.text
    later = time.time() + 60 + jwt_tokens.LEEWAY_SECONDS + 1
    monkeypatch.setattr(jwt_tokens, "time", SimpleNamespace(time=lambda: later))
    await assert_401(api, token)


async def test_not_yet_valid_token(api: Api) -> None:
    await assert_401(api, forge(api, nbf=int(time.time()) + 600))


async def test_wrong_signature(api: Api) -> None:
    token = jwt.encode(
        {"sub": "x", "aud": "recordbase", "iss": "recordbase", "exp": int(time.time()) + 60},
        "other-key-" * 4,
        "HS256",
    )
    await assert_401(api, token)
    head, payload, _ = forge(api).split(".")
    await assert_401(api, f"{head}.{payload}.AAAA")


async def test_alg_none(api: Api) -> None:
    unsigned = jwt.encode(
        {
            "sub": "00000000-0000-0000-0000-000000000001",
            "aud": "recordbase",
            "iss": "recordbase",
            "exp": int(time.time()) + 60,
            "nbf": int(time.time()),
            "iat": int(time.time()),
            "jti": "n",
        },
        None,
        algorithm="none",
    )
    await assert_401(api, unsigned)


async def test_wrong_audience_and_issuer(api: Api) -> None:
    await assert_401(api, forge(api, aud="someone-else"))
    await assert_401(api, forge(api, iss="someone-else"))
    await assert_401(api, forge(api, jti=None))


async def test_password_grant_and_revocation(api: Api) -> None:
    await create_user(api, "ann.lee", ["Data Reader"])
    granted = await password_token(api, "ann.lee")
    assert granted["token_type"] == "Bearer" and granted["expires_in"] == 3600 and granted["refresh_token"]
    assert (await api.get(f"{DF}/Entity", headers=bearer(granted["access_token"]))).status_code == 200
    revoked = await api.post("/oauth/revoke", data={"token": granted["access_token"]})
    assert revoked.status_code == 200
    await assert_401(api, granted["access_token"])


async def test_refresh_rotation_and_reuse_revokes_the_family(api: Api) -> None:
    await create_user(api, "bo.chan", ["Data Reader"])
    first = await password_token(api, "bo.chan")
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    second = await api.post("/oauth/token", data=form)
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    reused = await api.post("/oauth/token", data=form)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    await assert_401(api, rotated["access_token"])
    after = await api.post(
        "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]}
    )
    assert after.status_code == 400


async def test_refresh_cannot_widen_scope(api: Api) -> None:
    await create_user(api, "cy.dale", ["Data Writer"])
    narrow = await password_token(api, "cy.dale", scope="DataService.Data.Read")
    wider = await api.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": narrow["refresh_token"],
            "scope": "DataService.Data.Read DataService.Data.Write",
        },
    )
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"


async def test_client_credentials(api: Api) -> None:
    created = await api.post(f"{ADMIN}/applications", json={"name": "Robot"})
    assert created.status_code == 201
    app = created.json()
    await api.request("PUT", f"{ADMIN}/roles/Data Reader/assignments/{app['id']}")
    form = {
        "grant_type": "client_credentials",
        "client_id": app["clientId"],
        "client_secret": app["clientSecret"],
    }
    granted = await api.post("/identity_/connect/token", data=form)
    assert granted.status_code == 200 and "refresh_token" not in granted.json()
    assert (await api.get(f"{DF}/Entity", headers=bearer(granted.json()["access_token"]))).status_code == 200
    wrong = await api.post("/oauth/token", data={**form, "client_secret": "nope"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"


async def test_unsupported_grant_and_bad_requests(api: Api) -> None:
    assert (await api.post("/oauth/token", data={"grant_type": "implicit"})).json()[
        "error"
    ] == "unsupported_grant_type"
    assert (await api.post("/oauth/token", json=[1])).status_code == 400
    assert (
        await api.post("/oauth/token", content=b"x", headers={"content-type": "text/plain"})
    ).status_code == 415


async def test_brute_force_is_rate_limited(api: Api) -> None:
    await create_user(api, "dee.eve", ["Data Reader"])
    statuses = []
    for attempt in range(12):
        response = await api.post(
            "/oauth/token",
            data={"grant_type": "password", "username": "dee.eve", "password": f"guess{attempt}"},
        )
        statuses.append(response.status_code)
    assert statuses[:10] == [400] * 10 and statuses[10:] == [429, 429]
    limited = await api.post(
        "/oauth/token", data={"grant_type": "password", "username": "dee.eve", "password": PASSWORD}
    )
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0


async def test_disabled_user_loses_access_at_once(api: Api) -> None:
    user_id = await create_user(api, "fay.gus", ["Data Reader"])
    granted = await password_token(api, "fay.gus")
    assert (await api.patch(f"{ADMIN}/principals/{user_id}", json={"disabled": True})).status_code == 204
    await assert_401(api, granted["access_token"])


async def test_personal_access_token_with_expiry_and_scopes(api: Api) -> None:
    await standard_entities(api)
    made = await api.post(
        f"{ADMIN}/tokens", json={"name": "script", "scopes": ["DataService.Data.Read"], "expiresInDays": 7}
    )
    assert made.status_code == 201
    token = made.json()["token"]
    assert (await api.get(f"{DS}/EntityService/Customer/read", headers=bearer(token))).status_code == 200
    write = await api.post(
        f"{DS}/EntityService/Customer/insert", json={"fullName": "X"}, headers=bearer(token)
    )
    assert write.status_code == 403


async def test_audit_log_records_credential_and_role_changes(api: Api) -> None:
    user_id = await create_user(api, "gil.hu", ["Data Reader"])
    await api.patch(f"{ADMIN}/principals/{user_id}", json={"password": "another long password"})
    entries = (await api.get(f"{ADMIN}/audit")).json()
    actions = [e["action"] for e in entries]
    assert {"user.create", "role.assign", "credential.change"} <= set(actions)
    assert all(PASSWORD not in str(e) and "another long password" not in str(e) for e in entries)


async def test_personal_access_token_revocation_applies_at_once(api: Api) -> None:
    made = await api.post(f"{ADMIN}/tokens", json={"name": "script", "expiresInDays": 1})
    token = made.json()["token"]
    assert (await api.get(f"{DF}/Entity", headers=bearer(token))).status_code == 200
    assert (await api.post("/oauth/revoke", data={"token": token})).status_code == 200
    await assert_401(api, token)


async def test_pipeliner_accepts_an_application_key_pair_over_basic(api: Api) -> None:
    await standard_entities(api)
    app = (await api.post(f"{ADMIN}/applications", json={"name": "Crm"})).json()
    await api.request("PUT", f"{ADMIN}/roles/Data Writer/assignments/{app['id']}")
    url = "/api/v100/rest/spaces/default/entities/Customer"
    api.client.headers.pop("Authorization", None)
    good = await api.get(url, auth=(app["clientId"], app["clientSecret"]))
    assert good.status_code == 200 and good.json()["success"] is True
    missing = await api.get(url)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == 'Basic realm="restapi"'
    wrong = await api.get(url, auth=(app["clientId"], "not-the-secret"))
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == 'Basic realm="restapi"'
    garbled = await api.get(url, headers={"Authorization": "Basic !!!"})
    assert garbled.status_code == 401
    statuses = [(await api.get(url, auth=(app["clientId"], f"guess{i}"))).status_code for i in range(10)]
    assert statuses[-1] == 429
