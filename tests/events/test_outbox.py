"""The outbox: every committed write appends one event per changed record in its own transaction;
a rolled-back write appends nothing. Read straight from the database after each write."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from recordbase.storage.outbox import EVENT_COLUMNS, decode_event, outbox
from tests.api.helpers import create_entity, field
from tests.conftest import Api

pytestmark = pytest.mark.anyio
BASE = "/api/EntityService/Note"
PIPELINER = "/api/v100/rest/spaces/s1/entities/Note"


async def events(api: Api, *, records_only: bool = True) -> list[Any]:
    query = sa.select(*EVENT_COLUMNS).order_by(outbox.c.seq)
    async with api.services.database.read() as connection:
        found = [decode_event(row) for row in await connection.fetch(query)]
    return [e for e in found if e.record_id is not None] if records_only else found


async def note_entity(api: Api) -> None:
    await create_entity(api, "Note", [field("title", isRequired=True), field("code", isUnique=True)])


async def test_single_and_batch_writes_append_one_event_per_record(api: Api) -> None:
    await note_entity(api)
    one = (await api.post(f"{BASE}/insert", json={"title": "a"})).json()
    batch = await api.post(f"{BASE}/insert-batch", json=[{"title": "b"}, {"title": "c", "code": "x"}])
    assert batch.status_code == 200
    updated = await api.post(f"{BASE}/update/{one['Id']}", json={"code": "y"})
    assert updated.status_code == 200
    assert (await api.delete(f"{BASE}/delete/{one['Id']}")).status_code == 200
    found = await events(api)
    assert [e.operation.value for e in found] == ["created", "created", "created", "updated", "deleted"]
    assert [e.revision for e in found] == [1, 1, 1, 2, None]
    assert found[0].record_id == one["Id"] and found[3].record_id == one["Id"]
    assert found[2].fields == ("title", "code") and found[3].fields == ("code",)
    assert all(e.entity == "Note" and e.actor_id == one["CreatedBy"] for e in found)
    assert found[4].owner_id == one["CreatedBy"]
    assert len({e.id for e in found}) == 5


async def test_rolled_back_atomic_batch_appends_nothing(api: Api) -> None:
    await note_entity(api)
    await api.post(f"{BASE}/insert", json={"title": "a", "code": "taken"})
    before = await events(api)
    atomic = await api.post(
        f"{BASE}/insert-batch",
        json=[{"title": "b"}, {"title": "c", "code": "taken"}],
        params={"atomic": "true"},
    )
    assert atomic.status_code == 409
    bad_update = await api.post(f"{BASE}/update-batch", json=[{"Id": before[0].record_id, "title": None}])
    assert bad_update.status_code == 400
    assert [e.id for e in await events(api)] == [e.id for e in before]


async def test_partial_batch_appends_events_only_for_records_written(api: Api) -> None:
    await note_entity(api)
    response = await api.post(
        f"{BASE}/insert-batch", json=[{"title": "ok"}, {"code": "no title"}, {"title": "ok2"}]
    )
    assert response.status_code == 400
    written = {r["Id"] for r in response.json()["successRecords"]}
    found = await events(api)
    assert {e.record_id for e in found} == written and len(found) == 2


async def test_pipeliner_batches_append_events(api: Api) -> None:
    await note_entity(api)
    created = await api.post(f"{PIPELINER}/batch-modify", json=[{"title": "p1"}, {"title": "p2"}])
    assert created.status_code == 200, created.text
    ids = created.json()["data"]
    deleted = await api.post(f"{PIPELINER}/batch-delete", json=ids)
    assert deleted.status_code == 200, deleted.text
    found = await events(api)
    assert [(e.operation.value, e.record_id) for e in found] == [
        ("created", ids[0]), ("created", ids[1]), ("deleted", ids[0]), ("deleted", ids[1])
    ]  # fmt: skip


async def test_schema_change_appends_one_event(api: Api) -> None:
    await note_entity(api)
    found = [e for e in await events(api, records_only=False) if e.operation.value == "schema_changed"]
    assert [(e.entity, e.fields) for e in found] == [("Note", ("entity.create",))]


async def test_pending_events_are_found_through_an_index_each_backend_reads(api: Api) -> None:
    """SQLite reads pending events through the unique index on `position` (NULL entries in `seq` order,
    migration 0005), so it keeps no partial index on them, which every append would also write;
    PostgreSQL keeps and reads that partial index. The dispatcher's query sorts nothing either way."""
    await note_entity(api)
    assert (await api.post(f"{BASE}/insert", json={"title": "a"})).status_code == 200
    database = api.services.database
    sql = "SELECT seq, id, fields FROM rb_outbox WHERE position IS NULL ORDER BY seq LIMIT 10"
    async with database.read() as connection:
        if database.name == "sqlite":
            names = sa.text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'rb_outbox'")
            indexes = {str(row[0]) for row in await connection.fetch(names)}
            steps = await connection.fetch(sa.text("EXPLAIN QUERY PLAN " + sql))
            plan = " ".join(str(row[-1]) for row in steps)
            assert "rb_outbox_pending" not in indexes, indexes
            assert "(position=?)" in plan and "TEMP B-TREE" not in plan, plan
        else:
            names = sa.text("SELECT indexname FROM pg_indexes WHERE tablename = 'rb_outbox'"
                            " AND schemaname = current_schema()")  # fmt: skip
            indexes = {str(row[0]) for row in await connection.fetch(names)}
            assert "rb_outbox_pending" in indexes, indexes
