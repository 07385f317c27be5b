"""Issue 12, security item 8: no link to a record the caller cannot read (answered as for a made-up
id), and Pipeliner `load-only` through a forbidden dot path is a 403; both backends."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.api.helpers import DS, create_entity, field
from tests.conftest import Api
from tests.security.helpers import ADMIN, bearer, create_user, password_token

pytestmark = pytest.mark.anyio

ACCOUNT = f"{DS}/EntityService/Account"
CLIENT = f"{DS}/EntityService/Client"
PIPELINER = "/api/v100/rest/spaces/5b2ad2b4-space/entities/Accounts"


async def crm(api: Api) -> None:
    await create_entity(api, "Client", [field("name"), field("secret", isRbacEnabled=True)])
    await create_entity(
        api,
        "Account",
        [field("name"), field("owner", "UNIQUEIDENTIFIER", "Relationship", referenceEntityName="Client")],
    )


async def user_with(api: Api, login: str, role: dict[str, Any]) -> dict[str, str]:
    assert (await api.post(f"{ADMIN}/roles", json=role)).status_code == 201
    await create_user(api, login, [role["name"]])
    return bearer((await password_token(api, login))["access_token"])


def shape(response: httpx.Response, record_id: str) -> tuple[int, str]:
    return response.status_code, response.text.replace(record_id, "ID")


async def link(api: Api, headers: dict[str, str], owner: str) -> httpx.Response:
    return await api.post(f"{ACCOUNT}/insert", json={"name": "a", "owner": owner}, headers=headers)


async def test_linking_to_an_unreadable_record_looks_like_a_missing_one(api: Api) -> None:
    await crm(api)
    theirs = (await api.post(f"{CLIENT}/insert", json={"name": "bob's"})).json()["Id"]
    rep = {
        "name": "Rep",
        "entities": {
            "Client": {"actions": ["read", "create"], "ownOnly": ["read"]},
            "Account": {"actions": ["read", "create", "update"]},
        },
    }
    ann = await user_with(api, "ann8", rep)
    mine = (await api.post(f"{CLIENT}/insert", json={"name": "ann's"}, headers=ann)).json()["Id"]
    assert (await link(api, ann, mine)).status_code == 200
    made_up = str(uuid.uuid4())
    refused, missing = await link(api, ann, theirs), await link(api, ann, made_up)
    assert refused.status_code == 400, refused.text
    assert shape(refused, theirs)[1].split('"traceId"')[0] == shape(missing, made_up)[1].split('"traceId"')[0]
    batch = await api.post(f"{ACCOUNT}/insert-batch", json=[{"name": "b", "owner": theirs}], headers=ann)
    assert "RELATION_NOT_FOUND" in batch.text
    assert (await api.delete(f"{CLIENT}/delete/{theirs}")).status_code == 200


async def test_linking_into_an_entity_without_read_is_refused(api: Api) -> None:
    await crm(api)
    client = (await api.post(f"{CLIENT}/insert", json={"name": "c"})).json()["Id"]
    clerk = await user_with(
        api, "clerk8", {"name": "AccountsOnly", "entities": {"Account": {"actions": ["read", "create"]}}}
    )
    refused = await link(api, clerk, client)
    assert refused.status_code == 400 and "RELATION_NOT_FOUND" in refused.text
    assert (await api.get(f"{ACCOUNT}/read")).json()["totalRecordCount"] == 0


async def test_pipeliner_load_only_through_a_forbidden_path_is_403(api: Api) -> None:
    await crm(api)
    client = (await api.post(f"{CLIENT}/insert", json={"name": "c", "secret": "s3"})).json()["Id"]
    await api.post(f"{ACCOUNT}/insert", json={"name": "a", "owner": client})
    role = {"name": "Viewer", "entities": {"Account": {"actions": ["read"]}, "Client": {"actions": ["read"]}}}
    viewer = await user_with(api, "viewer8", role)
    allowed = await api.get(
        PIPELINER, params={"load-only": "name,owner.name", "expand": "owner"}, headers=viewer
    )
    assert allowed.status_code == 200, allowed.text
    for load_only in ("name,owner.secret", "owner.secret"):
        response = await api.get(
            PIPELINER, params={"load-only": load_only, "expand": "owner"}, headers=viewer
        )
        assert response.status_code == 403, response.text
        assert "s3" not in response.text
    no_client = await user_with(
        api, "noclient8", {"name": "OnlyAccounts", "entities": {"Account": {"actions": ["read"]}}}
    )
    response = await api.get(PIPELINER, params={"load-only": "owner.name"}, headers=no_client)
    assert response.status_code == 403, response.text
