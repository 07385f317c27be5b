"""The official `uipath` SDK, unchanged, against a real recordbase process on 127.0.0.1 (wire doc §7).

Every UIPATH_* variable is removed first so nothing can reach the cloud; the token is a
recordbase admin token passed as the SDK's `secret`.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer

# The SDK builds httpx clients per `sdk.entities` access and never closes them; their sockets
# are the SDK's to leak, not ours.
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

for _name in [k for k in os.environ if k.startswith("UIPATH_")] + ["UNATTENDED_USER_ACCESS_TOKEN"]:
    os.environ.pop(_name, None)

from uipath.platform import UiPath  # noqa: E402
from uipath.platform.entities import EntityCreateFieldOptions  # noqa: E402
from uipath.platform.errors import EnrichedException  # noqa: E402


def sdk_for(server: LiveServer) -> Any:
    server.token = server.command("token", "create", "--admin")
    return UiPath(base_url=f"{server.url}/someorg/sometenant", secret=server.token).entities


def fields() -> list[Any]:
    return [
        EntityCreateFieldOptions(field_name="fullName"),
        EntityCreateFieldOptions(field_name="amount", type="DECIMAL"),
        EntityCreateFieldOptions(field_name="count", type="INTEGER"),
        EntityCreateFieldOptions(field_name="active", type="BOOLEAN"),
        EntityCreateFieldOptions(field_name="since", type="DATE"),
    ]


async def test_schema_calls_v3(live_server: LiveServer) -> None:
    entities = sdk_for(live_server)
    entity_id = entities.create_entity_v3("Customer", fields())
    assert isinstance(entity_id, str)
    listed = entities.list_entities_v3()
    assert [e.name for e in listed] == ["Customer"]
    by_id = entities.retrieve_v3(entity_id)
    by_name = entities.retrieve_by_name_v3("Customer")
    assert by_id.id == by_name.id == entity_id
    names = {f.name for f in by_id.fields}
    assert {"Id", "CreateTime", "fullName", "amount", "count", "active", "since"} <= names
    entities.update_entity_metadata_v3(entity_id, {"displayName": "Clients"})
    assert entities.retrieve_v3(entity_id).display_name == "Clients"
    entities.delete_entity_v3(entity_id)
    assert entities.list_entities_v3() == []


async def test_record_calls_v3(live_server: LiveServer) -> None:
    entities = sdk_for(live_server)
    entity_id = entities.create_entity_v3("Customer", fields())
    values = {"fullName": "Ann", "amount": 12.5, "count": 3, "active": True}
    record = entities.insert_record_v3(entity_id, values)
    assert isinstance(record.id, str)
    fetched = entities.get_record_v3(entity_id, record.id)
    assert fetched.id == record.id and fetched.fullName == "Ann" and fetched.amount == 12.5
    updated = entities.update_record_v3(entity_id, record.id, {"count": 4})
    assert updated.count == 4 and updated.fullName == "Ann"
    entities.insert_record_v3(entity_id, {"fullName": "Bo"})
    page = entities.list_records_v3(entity_id, start=0, limit=1)
    assert page.total_count == 2 and len(page) == 1 and page.has_next_page
    entities.delete_record_v3(entity_id, record.id)
    assert entities.list_records_v3(entity_id, start=0, limit=10).total_count == 1
    with pytest.raises(EnrichedException) as missing:
        entities.get_record_v3(entity_id, record.id)
    assert missing.value.status_code == 404


async def test_record_calls_v1(live_server: LiveServer) -> None:
    entities = sdk_for(live_server)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        entity_id = entities.create_entity("Customer", fields())
        record = entities.insert_record(entity_id, {"fullName": "Cy"})
        assert entities.get_record(entity_id, record.id).fullName == "Cy"
        entities.update_record(entity_id, record.id, {"fullName": "Cyd"})
        assert [r.fullName for r in entities.list_records(entity_id, start=0, limit=5)] == ["Cyd"]
        assert entities.retrieve(entity_id).name == "Customer"
        assert entities.retrieve_by_name("Customer").id == entity_id
        assert [e.id for e in entities.list_entities()] == [entity_id]
        entities.delete_record(entity_id, record.id)
        assert entities.list_records(entity_id, start=0, limit=5).total_count == 0


async def test_choice_sets(live_server: LiveServer) -> None:
    entities = sdk_for(live_server)
    headers = {"Authorization": f"Bearer {live_server.token}"}
    created = httpx.post(  # noqa: ASYNC210 - the server is another process; blocking here is harmless
        f"{live_server.url}/someorg/sometenant/datafabric_/api/Entity/choiceset",
        json={"name": "Status", "values": ["Open", "Closed"]},
        headers=headers,
    )
    assert created.status_code == 200
    choice_sets = entities.list_choicesets()
    assert [c.name for c in choice_sets] == ["Status"]
    values = entities.get_choiceset_values(choice_sets[0].id)
    assert [(v.name, v.number_id) for v in values] == [("Open", 0), ("Closed", 1)]
