"""UiPath batch scenarios (insert-batch, update-batch, delete-batch), each on SQLite and PostgreSQL.

Every scenario reads the database afterwards: a batch answer is only trusted once the stored
records agree with it.
"""

from __future__ import annotations

import asyncio
import gc
import random
import uuid
import warnings
from typing import Any

import pytest

from recordbase.storage.records import RecordWriter
from tests.api.helpers import DF, DS, create_entity, field, standard_entities
from tests.conftest import Api, LiveServer

pytestmark = pytest.mark.anyio

BASE = f"{DS}/EntityService/Customer"
MISSING = "00000000-0000-0000-0000-000000011a3d"


async def stored(api: Api, entity: str = "Customer") -> list[dict[str, Any]]:
    """Every record of the entity, read back through the list endpoint."""
    response = await api.get(f"{DS}/EntityService/{entity}/read", params={"limit": 1000, "expansionLevel": 0})
    assert response.status_code == 200, response.text
    return list(response.json()["value"])


async def names(api: Api) -> set[str]:
    return {r["fullName"] for r in await stored(api)}


async def insert(api: Api, records: list[Any], **params: str) -> Any:
    return await api.post(f"{BASE}/insert-batch", json=records, params=params)


@pytest.mark.parametrize(
    "prefix",
    [
        f"{DS}/EntityService/Customer",
        f"{DF}/EntityService/entity/{{Customer}}",
        f"{DF}/v3/entities/entity/{{Customer}}",
        "/api/EntityService/customer",
    ],
)
async def test_all_route_families_insert_update_delete(api: Api, prefix: str) -> None:
    ids = await standard_entities(api)
    base = prefix.format(**ids)
    inserted = await api.post(f"{base}/insert-batch", json=[{"fullName": "A"}, {"fullName": "B", "age": 3}])
    assert inserted.status_code == 200, inserted.text
    created = inserted.json()["successRecords"]
    assert [r["fullName"] for r in created] == ["A", "B"] and inserted.json()["failureRecords"] == []
    assert all(isinstance(r["Id"], str) for r in created)
    changes = [{"Id": created[0]["Id"], "age": 7}, {"Id": created[1]["Id"], "fullName": "B2"}]
    updated = await api.post(f"{base}/update-batch", json=changes)
    assert updated.status_code == 200, updated.text
    assert [(r["fullName"], r["age"]) for r in updated.json()["successRecords"]] == [("A", 7), ("B2", 3)]
    assert {(r["fullName"], r["age"]) for r in await stored(api)} == {("A", 7), ("B2", 3)}
    deleted = await api.post(f"{base}/delete-batch", json=[r["Id"] for r in created])
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["successRecords"] == updated.json()["successRecords"]
    assert await stored(api) == []


async def test_success_records_read_back_identically(api: Api) -> None:
    await standard_entities(api)
    body = [{"fullName": f"N{i}", "age": i, "email": f"n{i}@x.io", "tags": [1]} for i in range(5)]
    response = await insert(api, body)
    assert response.status_code == 200
    for record in response.json()["successRecords"]:
        read = await api.get(f"{BASE}/read/{record['Id']}")
        assert read.json() == record
    seqs = sorted(r["seq"] for r in response.json()["successRecords"])
    assert seqs == [1, 2, 3, 4, 5]


async def test_partial_failure_keeps_every_success_and_answers_400(api: Api) -> None:
    await standard_entities(api)
    body = [
        {"fullName": "ok1"},
        {"age": 5},
        {"fullName": "ok2", "age": 999},
        {"fullName": "ok3", "nope": 1},
        {"fullName": "ok4"},
        "not a record",
    ]
    response = await insert(api, body)
    assert response.status_code == 400
    result = response.json()
    assert [r["fullName"] for r in result["successRecords"]] == ["ok1", "ok4"]
    failures = result["failureRecords"]
    assert [f["record"] for f in failures] == [body[1], body[2], body[3], {}]
    assert all(isinstance(f["error"], str) and f["error"] for f in failures)
    assert [f["fieldErrors"][0]["code"] for f in failures] == [
        "REQUIRED",
        "OUT_OF_RANGE",
        "UNKNOWN_FIELD",
        "INVALID_TYPE",
    ]
    assert await names(api) == {"ok1", "ok4"}


async def test_fail_on_first_stops_and_keeps_earlier_records(api: Api) -> None:
    await standard_entities(api)
    body = [{"fullName": "a"}, {"fullName": "b"}, {"age": "x"}, {"fullName": "c"}, {"age": 1}]
    response = await insert(api, body, failOnFirst="true")
    assert response.status_code == 400
    result = response.json()
    assert [r["fullName"] for r in result["successRecords"]] == ["a", "b"]
    assert [f["record"] for f in result["failureRecords"]] == [{"age": "x"}]
    assert await names(api) == {"a", "b"}


async def test_fail_on_first_false_is_the_default(api: Api) -> None:
    await standard_entities(api)
    response = await insert(api, [{"age": 1}, {"fullName": "kept"}], failOnFirst="false")
    assert response.status_code == 400 and await names(api) == {"kept"}


async def test_atomic_writes_nothing_when_one_record_fails(api: Api) -> None:
    await standard_entities(api)
    body = [{"fullName": "a"}, {"fullName": "b", "customerX": 1}, {"age": -1}]
    response = await insert(api, body, atomic="true")
    assert response.status_code == 400
    result = response.json()
    assert result["successRecords"] == []
    assert [f["record"] for f in result["failureRecords"]] == [body[1], body[2]]
    assert await stored(api) == []
    again = await insert(api, [{"fullName": "a"}, {"fullName": "b"}], atomic="true")
    assert again.status_code == 200 and await names(api) == {"a", "b"}


async def test_atomic_unique_conflict_is_409(api: Api) -> None:
    await standard_entities(api)
    await insert(api, [{"fullName": "first", "email": "e@x.io"}])
    response = await insert(api, [{"fullName": "new"}, {"fullName": "dup", "email": "e@x.io"}], atomic="true")
    assert response.status_code == 409
    assert response.json()["failureRecords"][0]["code"] == "VALIDATION_FAILED"
    assert await names(api) == {"first"}


async def test_unique_values_clash_with_stored_and_within_the_batch(api: Api) -> None:
    await standard_entities(api)
    await insert(api, [{"fullName": "old", "email": "old@x.io"}])
    body = [
        {"fullName": "a", "email": "new@x.io"},
        {"fullName": "b", "email": "new@x.io"},
        {"fullName": "c", "email": "old@x.io"},
        {"fullName": "d", "email": "d@x.io"},
    ]
    response = await insert(api, body)
    assert response.status_code == 400
    failures = response.json()["failureRecords"]
    assert [f["record"]["fullName"] for f in failures] == ["b", "c"]
    assert {f["fieldErrors"][0]["code"] for f in failures} == {"NOT_UNIQUE"}
    assert "earlier record of this batch" in failures[0]["error"]
    assert {(r["fullName"], r["email"]) for r in await stored(api)} == {
        ("old", "old@x.io"),
        ("a", "new@x.io"),
        ("d", "d@x.io"),
    }


async def test_an_invalid_first_holder_does_not_block_a_later_unique_value(api: Api) -> None:
    await standard_entities(api)
    body = [{"email": "x@x.io"}, {"fullName": "b", "email": "x@x.io"}]
    response = await insert(api, body)
    assert [f["record"] for f in response.json()["failureRecords"]] == [body[0]]
    assert {r["email"] for r in await stored(api)} == {"x@x.io"}


async def test_relationship_targets_checked_for_the_whole_batch(api: Api) -> None:
    await standard_entities(api)
    customer = (await insert(api, [{"fullName": "C"}])).json()["successRecords"][0]
    body = [
        {"title": "good", "customer": customer["Id"]},
        {"title": "bad", "customer": MISSING},
        {"title": "none"},
    ]
    response = await api.post(f"{DS}/EntityService/Purchase/insert-batch", json=body)
    assert response.status_code == 400
    failure = response.json()["failureRecords"][0]
    assert failure["error"].endswith(f"Relation Purchase.customer={MISSING} to Customer doesn't exist!")
    assert failure["fieldErrors"][0]["code"] == "RELATION_NOT_FOUND"
    assert {r["title"] for r in await stored(api, "Purchase")} == {"good", "none"}


async def test_update_batch_needs_ids_and_reports_unknown_ones(api: Api) -> None:
    await standard_entities(api)
    created = (await insert(api, [{"fullName": "a"}, {"fullName": "b"}])).json()["successRecords"]
    body = [
        {"Id": created[0]["Id"], "age": 1},
        {"age": 2},
        {"Id": str(uuid.uuid4()), "age": 3},
        {"Id": "not-a-uuid", "age": 4},
        {"Id": 12, "age": 5},
        {"Id": created[1]["Id"].upper(), "notes": "x"},
        {"Id": created[0]["Id"], "age": 6},
    ]
    response = await api.post(f"{BASE}/update-batch", json=body)
    assert response.status_code == 400
    result = response.json()
    assert [(r["fullName"], r["age"], r["notes"]) for r in result["successRecords"]] == [
        ("a", 1, None),
        ("b", None, "x"),
    ]
    failures = result["failureRecords"]
    assert [f["code"] for f in failures] == [
        "VALIDATION_FAILED",
        "RECORD_NOT_FOUND",
        "RECORD_NOT_FOUND",
        "VALIDATION_FAILED",
        "VALIDATION_FAILED",
    ]
    assert failures[0]["error"] == "[Id] Record must include 'Id'."
    assert failures[-1]["fieldErrors"][0]["code"] == "DUPLICATE_IN_BATCH"
    assert {(r["fullName"], r["age"], r["notes"]) for r in await stored(api)} == {
        ("a", 1, None),
        ("b", None, "x"),
    }


async def test_update_batch_validates_against_stored_values(api: Api) -> None:
    await standard_entities(api)
    created = (await insert(api, [{"fullName": "a", "email": "a@x.io"}, {"fullName": "b"}])).json()
    a, b = created["successRecords"]
    body = [{"Id": a["Id"], "email": "a@x.io"}, {"Id": b["Id"], "email": "a@x.io"}, {"Id": b["Id"]}]
    response = await api.post(f"{BASE}/update-batch", json=body, params={"atomic": "true"})
    assert response.status_code == 400
    codes = [f["fieldErrors"][0]["code"] for f in response.json()["failureRecords"]]
    assert codes == ["NOT_UNIQUE", "DUPLICATE_IN_BATCH"]
    cleared = await api.post(f"{BASE}/update-batch", json=[{"Id": a["Id"], "fullName": None}])
    assert cleared.json()["failureRecords"][0]["fieldErrors"][0]["code"] == "REQUIRED"
    assert {r["fullName"] for r in await stored(api)} == {"a", "b"}


async def test_delete_batch_reports_missing_referenced_and_bad_ids(api: Api) -> None:
    await standard_entities(api)
    created = (await insert(api, [{"fullName": n} for n in "abc"])).json()["successRecords"]
    await api.post(f"{DS}/EntityService/Purchase/insert", json={"title": "t", "customer": created[1]["Id"]})
    body = [created[0]["Id"], created[1]["Id"], MISSING, 7, created[0]["Id"], {"Id": created[2]["Id"]}]
    response = await api.post(f"{BASE}/delete-batch", json=body)
    assert response.status_code == 400
    result = response.json()
    assert [r["Id"] for r in result["successRecords"]] == [created[0]["Id"], created[2]["Id"]]
    failures = result["failureRecords"]
    assert [f["code"] for f in failures] == [
        "RECORD_REFERENCED",
        "RECORD_NOT_FOUND",
        "VALIDATION_FAILED",
        "VALIDATION_FAILED",
    ]
    assert [f["record"] for f in failures[:2]] == [created[1], {"Id": MISSING}]
    assert await names(api) == {"b"}


async def test_delete_batch_fail_on_first_and_atomic(api: Api) -> None:
    await standard_entities(api)
    ids = [r["Id"] for r in (await insert(api, [{"fullName": n} for n in "abcd"])).json()["successRecords"]]
    atomic = await api.post(f"{BASE}/delete-batch", json=[ids[0], MISSING], params={"atomic": "true"})
    assert atomic.status_code == 400 and atomic.json()["successRecords"] == []
    assert await names(api) == set("abcd")
    first = await api.post(
        f"{BASE}/delete-batch", json=[ids[0], MISSING, ids[1]], params={"failOnFirst": "true"}
    )
    assert first.status_code == 400
    assert [r["Id"] for r in first.json()["successRecords"]] == [ids[0]]
    assert await names(api) == set("bcd")


async def test_records_of_a_self_referencing_entity_delete_together(api: Api) -> None:
    from tests.api.helpers import create_entity, field

    await create_entity(
        api,
        "Node",
        [field("label"), field("parent", "UNIQUEIDENTIFIER", "Relationship", referenceEntityName="Node")],
    )
    url = f"{DS}/EntityService/Node"
    root = (await api.post(f"{url}/insert", json={"label": "root"})).json()
    child = (await api.post(f"{url}/insert", json={"label": "child", "parent": root["Id"]})).json()
    alone = await api.post(f"{url}/delete-batch", json=[root["Id"]])
    assert alone.status_code == 400 and alone.json()["failureRecords"][0]["code"] == "RECORD_REFERENCED"
    together = await api.post(f"{url}/delete-batch", json=[root["Id"], child["Id"]])
    assert together.status_code == 200, together.text
    assert await stored(api, "Node") == []


async def test_bodies_that_are_not_batches(api: Api) -> None:
    await standard_entities(api)
    for body in ({"fullName": "x"}, "x", 3):
        response = await insert(api, body)  # type: ignore[arg-type]
        assert response.status_code == 400 and response.json()["code"] == "INVALID_REQUEST"
    bad = await api.post(f"{BASE}/insert-batch", content=b"[{", headers={"content-type": "application/json"})
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_JSON"
    flag = await insert(api, [{"fullName": "x"}], failOnFirst="maybe")
    assert flag.status_code == 400
    empty = await insert(api, [])
    assert empty.status_code == 200 and empty.json() == {"successRecords": [], "failureRecords": []}
    unknown = await api.post(f"{DS}/EntityService/Nope/insert-batch", json=[{}])
    assert unknown.status_code == 404 and unknown.json()["code"] == "ENTITY_NOT_FOUND"
    assert await stored(api) == []


async def test_a_batch_above_the_limit_is_refused_whole(api: Api) -> None:
    await standard_entities(api)
    limit = api.services.settings.batch_limit
    response = await insert(api, [{"fullName": f"n{i}"} for i in range(limit + 1)])
    assert response.status_code == 413 and response.json()["code"] == "BATCH_TOO_LARGE"
    assert str(limit) in response.json()["error"]
    for path in ("update-batch", "delete-batch"):
        other = await api.post(f"{BASE}/{path}", json=[MISSING] * (limit + 1))
        assert other.status_code == 413
    assert await stored(api) == []
    full = await insert(api, [{"fullName": f"n{i}", "age": i % 100} for i in range(limit)])
    assert full.status_code == 200 and len(full.json()["successRecords"]) == limit
    assert len(await stored(api)) == limit


async def test_a_refusal_the_checks_missed_falls_back_record_by_record(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When a concurrent writer takes a unique value after the check, only that record fails."""
    await standard_entities(api)
    await insert(api, [{"fullName": "holder", "email": "taken@x.io"}])

    async def nothing_taken(self: RecordWriter, *args: Any) -> dict[Any, str]:
        return {}

    monkeypatch.setattr(RecordWriter, "taken_values", nothing_taken)
    body = [{"fullName": "a"}, {"fullName": "dup", "email": "taken@x.io"}, {"fullName": "c"}]
    partial = await insert(api, body)
    assert partial.status_code == 400
    assert [f["record"]["fullName"] for f in partial.json()["failureRecords"]] == ["dup"]
    assert partial.json()["failureRecords"][0]["fieldErrors"][0]["code"] == "NOT_UNIQUE"
    assert await names(api) == {"holder", "a", "c"}
    stop = await insert(api, [{"fullName": "d"}, *body[1:]], failOnFirst="true")
    assert [r["fullName"] for r in stop.json()["successRecords"]] == ["d"]
    assert await names(api) == {"holder", "a", "c", "d"}
    atomic = await insert(api, [{"fullName": "e"}, *body[1:]], atomic="true")
    assert atomic.status_code == 409 and atomic.json()["successRecords"] == []
    assert await names(api) == {"holder", "a", "c", "d"}


async def test_concurrent_update_batches_neither_deadlock_nor_lose_writes(api: Api) -> None:
    await standard_entities(api)
    ids = [
        r["Id"]
        for r in (await insert(api, [{"fullName": f"n{i}", "age": 0} for i in range(40)])).json()[
            "successRecords"
        ]
    ]
    rounds = 8

    async def bump(seed: int) -> None:
        order = ids[:]
        random.Random(seed).shuffle(order)
        response = await api.post(f"{BASE}/update-batch", json=[{"Id": i, "notes": str(seed)} for i in order])
        assert response.status_code == 200, response.text

    await asyncio.gather(*(bump(seed) for seed in range(rounds)))
    store = api.services.records.store
    schema, entity = await api.services.records.entity("Customer")
    records = await store.fetch_by_ids(schema, entity, ids)
    assert {r["Revision"] for r in records.values()} == {1 + rounds}


async def test_concurrent_insert_batches_with_clashing_unique_values(api: Api) -> None:
    """Two batches racing for the same unique values: each value is stored once, nothing is lost."""
    await standard_entities(api)
    emails = [f"u{i}@x.io" for i in range(30)]

    async def send(seed: int) -> Any:
        order = emails[:]
        random.Random(seed).shuffle(order)
        return await insert(api, [{"fullName": f"{seed}-{e}", "email": e} for e in order])

    responses = await asyncio.gather(*(send(seed) for seed in range(4)))
    assert all(r.status_code in (200, 400) for r in responses), [r.text for r in responses]
    succeeded = sum(len(r.json()["successRecords"]) for r in responses)
    rows = await stored(api)
    assert succeeded == len(rows) == len(emails)
    assert sorted(r["email"] for r in rows) == sorted(emails)


@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("v3", [False, True])
async def test_the_uipath_sdk_reads_partial_failures_as_answers(live_server: LiveServer, v3: bool) -> None:
    """insert_records / update_records / delete_records (and _v3) on a 400 with the batch body."""
    from tests.sdk.test_uipath_sdk import fields, sdk_for

    entities = sdk_for(live_server)
    call = (lambda name: getattr(entities, f"{name}_v3")) if v3 else (lambda name: getattr(entities, name))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            entity_id = call("create_entity")("Customer", fields())
            inserted = call("insert_records")(
                entity_id, [{"fullName": "A"}, {"count": "x"}, {"fullName": "B"}]
            )
            assert [r.fullName for r in inserted.success_records] == ["A", "B"]
            assert len(inserted.failure_records) == 1 and "count" in inserted.failure_records[0].error
            a, b = (r.id for r in inserted.success_records)
            changes = [{"Id": a, "count": 1}, {"Id": MISSING, "count": 2}]
            updated = call("update_records")(entity_id, changes, fail_on_first=True)
            assert [r.count for r in updated.success_records] == [1] and len(updated.failure_records) == 1
            deleted = call("delete_records")(entity_id, [a, MISSING])
            assert [r.id for r in deleted.success_records] == [a] and len(deleted.failure_records) == 1
            remaining = call("list_records")(entity_id, start=0, limit=10)
            assert [r.id for r in remaining] == [b]
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


LONG_NAME = "f" + "x" * 79  # beyond PostgreSQL's 63-byte identifiers
TRICKY = [
    {
        "fullName": 'Ünïcødé "quoted" \\ back\\slash\n😀',
        "notes": "tab\there, {json: [1, 2]}, null, \u2028 and ' quotes '",
        "age": 150, "balance": 12345678901.1, "active": True, "birthday": "0001-01-01",
        "lastSeen": "2024-02-29T23:59:59.999Z", "status": "Won", "tags": ["Red", "Blue"],
        "externalId": "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
    },
    {
        "fullName": "", "notes": None, "age": 0, "balance": "-0.10", "active": False,
        "birthday": "9999-12-31", "lastSeen": "1970-01-01T00:00:00+05:30", "tags": [],
    },
    {"fullName": "only a name", "balance": 0},
]  # fmt: skip


def _values(record: dict[str, Any]) -> dict[str, Any]:
    """A record without what the server assigns (ids, times, auto-numbers, unique test values)."""
    return {k: v for k, v in record.items() if k not in {"Id", "CreateTime", "UpdateTime", "seq", "email"}}


async def test_a_batch_stores_every_type_exactly_as_single_writes_do(api: Api) -> None:
    """PostgreSQL writes a batch as one JSON text (storage/recordset.py), single records as typed
    parameters: both must store the same values, long field names and text escapes included."""
    await standard_entities(api)
    await create_entity(api, "Wide", [field(LONG_NAME), field("num", "INT")])
    batch = await insert(api, [{**r, "email": f"b{i}@x"} for i, r in enumerate(TRICKY)], expansionLevel="0")
    assert batch.status_code == 200, batch.text
    singles = []
    for i, record in enumerate(TRICKY):
        one = await api.post(
            f"{BASE}/insert", json={**record, "email": f"s{i}@x"}, params={"expansionLevel": 0}
        )
        assert one.status_code == 200, one.text
        singles.append(one.json())
    by_id = {r["Id"]: r for r in await stored(api)}
    assert [_values(by_id[r["Id"]]) for r in batch.json()["successRecords"]] == [
        _values(by_id[r["Id"]]) for r in singles
    ]
    first = by_id[batch.json()["successRecords"][0]["Id"]]
    assert first["fullName"] == TRICKY[0]["fullName"] and first["balance"] == 12345678901.1
    assert first["externalId"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert by_id[batch.json()["successRecords"][1]["Id"]]["lastSeen"] == "1969-12-31T18:30:00.000Z"
    # Two records changing the same fields are one statement on PostgreSQL, one record is another.
    ids = [r["Id"] for r in batch.json()["successRecords"]]
    change = {"notes": 'é\\"\n', "balance": "99.99", "birthday": "2000-02-29", "tags": ["Green"]}
    updated = await api.post(f"{BASE}/update-batch", json=[{"Id": i, **change} for i in ids[:2]])
    assert updated.status_code == 200, updated.text
    single = await api.post(f"{BASE}/update-batch", json=[{"Id": ids[2], **change}])
    assert single.status_code == 200, single.text
    after = {r["Id"]: r for r in await stored(api)}
    changed = [{k: after[record_id][k] for k in change} for record_id in ids]
    assert changed[0] == changed[1] == changed[2] and changed[0]["notes"] == change["notes"]
    assert changed[0]["balance"] == 99.99 and changed[0]["birthday"] == "2000-02-29"
    wide = [{LONG_NAME: f"value {i} \\ ' \"", "num": i} for i in range(3)]
    stored_wide = await api.post(f"{DS}/EntityService/Wide/insert-batch", json=wide)
    assert stored_wide.status_code == 200, stored_wide.text
    assert sorted((r[LONG_NAME], r["num"]) for r in await stored(api, "Wide")) == [
        (w[LONG_NAME], w["num"]) for w in wide
    ]
