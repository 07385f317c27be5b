"""What recordbase does not do is refused with 400 `UNSUPPORTED`, never accepted and dropped: Federated
entities, ontology files, `expansions` (both backends, through HTTP)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import DF, field
from tests.conftest import Api

pytestmark = pytest.mark.anyio

DEFINITION = {"name": "Remote", "fields": [field("title")], "externalFields": [], "entityClassId": 9}


@pytest.mark.parametrize(
    "extra",
    [
        {"entityClassId": 10},
        {"externalFields": [{"externalObjectDetail": {"externalObjectName": "Accounts"}, "fields": []}]},
        {"sourceJoinConditionDetails": [{"sourceObjectName": "a", "sourceJoinField": "x"}]},
    ],
)
async def test_federated_entities_are_refused(api: Api, extra: dict[str, Any]) -> None:
    for path in (f"{DF}/v3/entities", f"{DF}/Entity"):
        response = await api.post(
            path, json={"displayName": "Remote", "entityDefinition": {**DEFINITION, **extra}}
        )
        assert response.status_code == 400 and response.json()["code"] == "UNSUPPORTED", response.text
        assert "Federated" in response.json()["error"] or "class" in response.json()["error"]
    assert (await api.get(f"{DF}/v3/entities")).json() == []
    native = await api.post(
        f"{DF}/v3/entities", json={"displayName": "Local", "entityDefinition": DEFINITION}
    )
    assert native.status_code == 200, native.text


async def test_ontology_files_are_refused(api: Api) -> None:
    response = await api.get(f"{DF}/ontologies/Sales/files/owl")
    assert response.status_code == 400 and response.json()["code"] == "UNSUPPORTED"
    assert "Ontologies" in response.json()["error"]
