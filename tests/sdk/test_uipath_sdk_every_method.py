"""Every entity method of the official `uipath` SDK (2.14.44), sync and async, against a real recordbase
process: each passes with checked results or gets a documented 400 (`UNSUPPORTED`). The Data Fabric
queries (SQL, aggregates, group by, binnings, joins) are checked here in depth; `test_every_method`
fails when the SDK has an entity method this module does not call."""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer
from tests.sdk.test_uipath_sdk import fields, sdk_for

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

from uipath.platform.entities import (  # noqa: E402 - test_uipath_sdk clears UIPATH_* first
    DataFabricEntityItem,
    EntitiesService,
    EntityAggregate,
    EntityBinning,
    EntityCreateFieldOptions,
    EntityCreateOptions,
    EntityJoin,
)
from uipath.platform.entities.entities import EntityClass  # noqa: E402
from uipath.platform.errors import EnrichedException  # noqa: E402

NOT_ENTITY_CALLS = {"request", "request_async"}
"""BaseService's generic HTTP helpers, not entity calls."""
ROWS = [
    {"fullName": "Ann", "amount": 12.5, "count": 3, "active": True, "since": "2020-01-01"},
    {"fullName": "Bob", "amount": 5, "count": 1, "active": False, "since": "2021-03-04"},
    {"fullName": "Cy", "count": 7},
    {"fullName": "Dee", "amount": 40, "count": 3, "active": True, "since": "2021-06-30"},
]


class Recorder:
    """The SDK's entities service, noting each method called through it."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.called: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        self.called.add(name)
        return getattr(self.target, name)


def refused(error: pytest.ExceptionInfo[EnrichedException], code: str = "UNSUPPORTED") -> None:
    assert error.value.status_code == 400 and code in error.value.response_content, error.value


async def test_every_method(live_server: LiveServer) -> None:
    sdk = Recorder(sdk_for(live_server))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        customer = await schema_calls(sdk)
        await record_calls(sdk, customer)
        await batch_calls(sdk, customer)
        await query_calls(sdk, customer)
        await sql_calls(sdk)
        await file_calls(sdk)
        await choice_set_calls(sdk, live_server)
        await refusals(sdk)
        await cleanup(sdk, customer)
    public = {name for name, _ in inspect.getmembers(EntitiesService, callable) if not name.startswith("_")}
    assert public - NOT_ENTITY_CALLS - sdk.called == set()


async def schema_calls(sdk: Recorder) -> str:
    customer = sdk.create_entity_v3("Customer", fields())
    purchase = await sdk.create_entity_v3_async(
        "Purchase",
        [
            EntityCreateFieldOptions(field_name="title"),
            EntityCreateFieldOptions(field_name="total", type="INTEGER"),
            EntityCreateFieldOptions(
                field_name="customer", type="RELATIONSHIP", reference_entity_name="Customer"
            ),
        ],
    )
    scratch_v1 = sdk.create_entity("ScratchA", [EntityCreateFieldOptions(field_name="title")])
    scratch_v1_async = await sdk.create_entity_async(
        "ScratchB", [EntityCreateFieldOptions(field_name="title")]
    )
    names = {"Customer", "Purchase", "ScratchA", "ScratchB"}
    assert {e.name for e in sdk.list_entities()} == names
    assert {e.name for e in await sdk.list_entities_async()} == names
    assert {e.name for e in sdk.list_entities_v3()} == names
    assert {e.name for e in await sdk.list_entities_v3_async()} == names
    assert sdk.retrieve(customer).name == (await sdk.retrieve_async(customer)).name == "Customer"
    assert sdk.retrieve_v3(purchase).name == (await sdk.retrieve_v3_async(purchase)).name == "Purchase"
    assert (
        sdk.retrieve_by_name("Customer").id == (await sdk.retrieve_by_name_async("Customer")).id == customer
    )
    assert sdk.retrieve_by_name_v3("Purchase").id == (await sdk.retrieve_by_name_v3_async("Purchase")).id
    sdk.update_entity_metadata(scratch_v1, {"displayName": "One"})
    await sdk.update_entity_metadata_async(scratch_v1, {"displayName": "Two"})
    sdk.update_entity_metadata_v3(scratch_v1_async, {"displayName": "Three"})
    await sdk.update_entity_metadata_v3_async(scratch_v1_async, {"displayName": "Four"})
    assert sdk.retrieve(scratch_v1).display_name == "Two"
    assert sdk.retrieve_v3(scratch_v1_async).display_name == "Four"
    item = DataFabricEntityItem(id=customer, name="Customer", folderId="00000000-0000-0000-0000-000000000000")
    for resolve in (sdk.resolve_entity_set, sdk.resolve_entity_set_v3):
        assert [e.name for e in resolve([item]).entities] == ["Customer"]
    for resolve_async in (sdk.resolve_entity_set_async, sdk.resolve_entity_set_v3_async):
        assert [e.name for e in (await resolve_async([item])).entities] == ["Customer"]
    return customer


async def record_calls(sdk: Recorder, customer: str) -> None:
    inserted = [
        sdk.insert_record(customer, ROWS[0]),
        await sdk.insert_record_async(customer, ROWS[1]),
        sdk.insert_record_v3(customer, ROWS[2]),
        await sdk.insert_record_v3_async(customer, ROWS[3]),
    ]
    ann, bob, cy, dee = (r.id for r in inserted)
    assert sdk.get_record(customer, ann).fullName == "Ann"
    assert (await sdk.get_record_async(customer, bob)).fullName == "Bob"
    assert sdk.get_record_v3(customer, cy).count == 7
    assert (await sdk.get_record_v3_async(customer, dee)).amount == 40
    assert sdk.update_record(customer, cy, {"amount": 1}).amount == 1
    assert (await sdk.update_record_async(customer, cy, {"amount": 2})).amount == 2
    assert sdk.update_record_v3(customer, cy, {"amount": 3}).amount == 3
    assert (await sdk.update_record_v3_async(customer, cy, {"amount": 4})).amount == 4
    assert sdk.list_records(customer, start=0, limit=2).total_count == 4
    assert len(await sdk.list_records_async(customer, start=0, limit=10)) == 4
    assert sdk.list_records_v3(customer, start=3, limit=2).has_next_page is False
    assert (await sdk.list_records_v3_async(customer, start=0, limit=3)).has_next_page


async def batch_calls(sdk: Recorder, customer: str) -> None:
    made: list[str] = []
    for insert in (sdk.insert_records, sdk.insert_records_v3):
        made += [r.id for r in insert(customer, [{"fullName": "Tmp"}]).success_records]
    for insert_async in (sdk.insert_records_async, sdk.insert_records_v3_async):
        made += [r.id for r in (await insert_async(customer, [{"fullName": "Tmp"}])).success_records]
    assert len(made) == 4
    changes = [{"Id": made[0], "count": 9}]
    assert len(sdk.update_records(customer, changes).success_records) == 1
    assert len(sdk.update_records_v3(customer, changes).success_records) == 1
    assert len((await sdk.update_records_async(customer, changes)).success_records) == 1
    assert len((await sdk.update_records_v3_async(customer, changes)).success_records) == 1
    assert len(sdk.delete_records(customer, [made[0]]).success_records) == 1
    assert len(sdk.delete_records_v3(customer, [made[1]]).success_records) == 1
    assert len((await sdk.delete_records_async(customer, [made[2]])).success_records) == 1
    assert len((await sdk.delete_records_v3_async(customer, [made[3]])).success_records) == 1
    batch = httpx.Response(200, json={"successRecords": [{"Id": made[0]}], "failureRecords": []})
    assert [r.id for r in sdk.validate_entity_batch(batch).success_records] == [made[0]]


async def query_calls(sdk: Recorder, customer: str) -> None:
    purchase = sdk.retrieve_by_name_v3("Purchase").id
    ids = {r.fullName: r.id for r in sdk.list_records_v3(customer, start=0, limit=10)}
    for title, total, owner in [("p1", 10, "Ann"), ("p2", 20, "Ann"), ("p3", 5, "Bob")]:
        sdk.insert_record_v3(purchase, {"title": title, "total": total, "customer": ids[owner]})
    by_count = sdk.retrieve_records_v3(
        customer,
        group_by=["count"],
        aggregates=[
            EntityAggregate(function="COUNT", field="Id", alias="n"),
            EntityAggregate(function="SUM", field="amount", alias="total"),
        ],
    )
    assert [(r.count, r.n, r.total) for r in by_count.items] == [(1, 1, 5), (3, 2, 52.5), (7, 1, 4)]
    assert by_count.total_count == 3
    averaged = await sdk.retrieve_records_v3_async(
        customer, aggregates=[EntityAggregate(function="AVG", field="count", alias="mean")]
    )
    assert [r.mean for r in averaged.items] == [3.5]
    binned = sdk.retrieve_records(
        customer,
        binnings=[EntityBinning(field_name="count", aggregate_function="COUNT", alias="people", binSize=5)],
    )
    assert [(r.count, r.people) for r in binned.items] == [(0, 3), (5, 1)]
    yearly = await sdk.retrieve_records_async(
        customer,
        binnings=[EntityBinning(field_name="since", aggregate_function="COUNT", alias="n", datePart="year")],
    )
    assert [(r.since, r.n) for r in yearly.items] == [(None, 0), ("2020", 1), ("2021", 2)]
    join = EntityJoin(entity_name="Purchase", join_type="InnerJoin", join_field_name="customer",
                      related_entity_name="Customer", related_field_name="Id")  # fmt: skip
    spent = sdk.retrieve_records_v3(
        purchase,
        joins=[join],
        group_by=["Customer.fullName"],
        aggregates=[EntityAggregate(function="SUM", field="total", alias="spent")],
    )
    assert [(r.model_dump()["Customer.fullName"], r.spent) for r in spent.items] == [("Ann", 30), ("Bob", 5)]


async def sql_calls(sdk: Recorder) -> None:
    rows = sdk.query_entity_records(
        "SELECT c.fullName, SUM(p.total) AS spent FROM Customer c JOIN Purchase p ON p.customer = c.Id "
        "WHERE p.total > 1 GROUP BY c.fullName ORDER BY spent DESC",
        relationships_as_scalar=True,
    )
    assert rows == [{"fullName": "Ann", "spent": 30}, {"fullName": "Bob", "spent": 5}]
    typed = await sdk.query_entity_records_async(
        "SELECT fullName, amount, active, since FROM Customer WHERE fullName = 'Ann'"
    )
    assert typed == [{"fullName": "Ann", "amount": 12.5, "active": True, "since": "2020-01-01"}]
    related = sdk.query_entity_records("SELECT title, customer FROM Purchase WHERE title = 'p3'")
    assert related[0]["title"] == "p3" and set(related[0]["customer"]) == {"Id"}
    with pytest.raises(EnrichedException) as unknown:
        sdk.query_entity_records("SELECT name FROM sqlite_master WHERE type = 'table'")
    refused(unknown, "UNKNOWN_ENTITY")
    with pytest.raises(EnrichedException) as function:
        sdk.query_entity_records("SELECT pg_read_file('/etc/passwd') FROM Customer WHERE count > 0")
    refused(function, "SQL_VALIDATION")


async def file_calls(sdk: Recorder) -> None:
    document = sdk.create_entity_v3(
        "Document",
        [
            EntityCreateFieldOptions(field_name="title"),
            EntityCreateFieldOptions(field_name="content", type="FILE"),
        ],
    )
    record = sdk.insert_record_v3(document, {"title": "a"}).id
    sdk.upload_attachment(document, record, "content", file=b"one")
    assert sdk.download_attachment(document, record, "content") == b"one"
    await sdk.upload_attachment_async(document, record, "content", file=b"two")
    assert await sdk.download_attachment_async(document, record, "content") == b"two"
    sdk.delete_attachment(document, record, "content")
    await sdk.upload_attachment_async(document, record, "content", file=b"three")
    await sdk.delete_attachment_async(document, record, "content")
    with pytest.raises(EnrichedException) as gone:
        sdk.download_attachment(document, record, "content")
    assert gone.value.status_code == 404
    imported = sdk.import_records(document, file=b"title\nx\ny\n")
    assert imported.inserted_records == 2
    imported_async = await sdk.import_records_async(document, file=b"title\nz\n")
    assert imported_async.total_records == 1
    assert sdk.list_records_v3(document, start=0, limit=10).total_count == 4


async def choice_set_calls(sdk: Recorder, server: LiveServer) -> None:
    created = httpx.post(  # noqa: ASYNC210 - the server is another process; blocking here is harmless
        f"{server.url}/someorg/sometenant/datafabric_/api/Entity/choiceset",
        json={"name": "Stage", "values": ["Open", "Won"]},
        headers={"Authorization": f"Bearer {server.token}"},
    )
    assert created.status_code == 200, created.text
    listed = sdk.list_choicesets()
    assert [c.name for c in listed] == [c.name for c in await sdk.list_choicesets_async()] == ["Stage"]
    values = sdk.get_choiceset_values(listed[0].id)
    assert [(v.name, v.number_id) for v in values] == [("Open", 0), ("Won", 1)]
    assert len(await sdk.get_choiceset_values_async(listed[0].id)) == 2


async def refusals(sdk: Recorder) -> None:
    external = {"externalObjectDetail": {"externalObjectName": "Accounts"}, "fields": []}
    federated = EntityCreateOptions(entity_class=EntityClass.Federated, external_fields=[external])
    with pytest.raises(EnrichedException) as class_refused:
        sdk.create_entity_v3("Remote", [EntityCreateFieldOptions(field_name="title")], federated)
    refused(class_refused)
    with pytest.raises(EnrichedException) as ontology:
        await sdk.get_ontology_file_async("Sales", "owl")
    refused(ontology)
    customer = sdk.retrieve_by_name_v3("Customer").id
    with pytest.raises(EnrichedException) as expansions:
        sdk.retrieve_records_v3(customer, expansions=[{"expandedField": "customer"}])
    refused(expansions)
    assert "Remote" not in {e.name for e in sdk.list_entities_v3()}


async def cleanup(sdk: Recorder, customer: str) -> None:
    ann = sdk.insert_record_v3(customer, {"fullName": "Gone"}).id
    sdk.delete_record(customer, ann)
    for delete in (sdk.delete_record_async, sdk.delete_record_v3_async):
        await delete(customer, sdk.insert_record_v3(customer, {"fullName": "Gone"}).id)
    sdk.delete_record_v3(customer, sdk.insert_record_v3(customer, {"fullName": "Gone"}).id)
    assert "Gone" not in {r.fullName for r in sdk.list_records_v3(customer, start=0, limit=50)}
    sdk.delete_entity(sdk.retrieve_by_name("ScratchA").id)
    await sdk.delete_entity_async(sdk.retrieve_by_name("ScratchB").id)
    sdk.delete_entity_v3(sdk.retrieve_by_name("Document").id)
    purchase = sdk.retrieve_by_name_v3("Purchase").id
    await sdk.delete_entity_v3_async(purchase)
    assert {e.name for e in sdk.list_entities_v3()} == {"Customer"}
    await sdk.aclose()
