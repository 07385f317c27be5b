"""core/batch.py against an in-memory writer: the three modes, checks collected before any write,
and the record-by-record replay when the database refuses a statement.

The same behaviour through HTTP on both databases: tests/api/test_batch.py."""

from __future__ import annotations

import uuid

import pytest

from recordbase.core import batch
from recordbase.core.actors import Actor
from recordbase.core.batch import Item, Mode, Op
from recordbase.core.permissions import everything
from recordbase.core.schema import FieldType, Schema
from recordbase.errors import RecordNotFound, ValidationFailed
from tests.core.fakes import FakeWriter, entity, field

pytestmark = pytest.mark.anyio

CLIENT = entity("Client", field("name", required=True))
ACCOUNT = entity(
    "Account",
    field("title", max_length=10),
    field("code", unique=True),
    field("owner", FieldType.RELATIONSHIP, reference_entity="Client"),
    field("number", FieldType.AUTO_NUMBER, start_value=100),
)
SCHEMA = Schema(1, (CLIENT, ACCOUNT))
ACTOR = Actor("u-1", "tester", everything("u-1"))


async def run(writer: FakeWriter, items: list[Item], mode: Mode) -> list[batch.Slot]:
    slots = await batch.plan(writer, SCHEMA, ACCOUNT, items, ACTOR.permissions)
    return await batch.execute(writer, ACCOUNT, slots, ACTOR, mode)


def inserts(*bodies: dict[str, object]) -> list[Item]:
    return [Item(Op.INSERT, body) for body in bodies]


async def test_partial_keeps_every_valid_record_and_collects_all_problems_of_the_others() -> None:
    writer = FakeWriter(SCHEMA)
    slots = await run(
        writer, inserts({"title": "a"}, {"title": "x" * 11, "nope": 1}, {"title": "c"}), Mode.PARTIAL
    )
    assert [s.error is None for s in slots] == [True, False, True]
    failed = slots[1].error
    assert isinstance(failed, ValidationFailed)
    assert sorted(e.code for e in failed.errors) == ["TOO_LONG", "UNKNOWN_FIELD"]
    assert sorted(r["title"] for r in writer.rows["Account"].values()) == ["a", "c"]
    assert writer.statements == 1  # the survivors in one multi-row insert


async def test_atomic_writes_nothing_when_one_record_fails() -> None:
    writer = FakeWriter(SCHEMA)
    slots = await run(writer, inserts({"title": "a"}, {"title": "x" * 11}), Mode.ATOMIC)
    assert [s.index for s in slots] == [1] and writer.rows["Account"] == {} and writer.statements == 0


async def test_stop_at_first_keeps_records_before_the_failure_and_skips_the_rest() -> None:
    writer = FakeWriter(SCHEMA)
    slots = await run(
        writer, inserts({"title": "a"}, {"title": "x" * 11}, {"title": "c"}), Mode.STOP_AT_FIRST
    )
    assert [s.index for s in slots] == [0, 1]
    assert [r["title"] for r in writer.rows["Account"].values()] == ["a"]


async def test_unique_values_are_checked_against_the_store_and_the_rest_of_the_batch() -> None:
    writer = FakeWriter(SCHEMA)
    await run(writer, inserts({"code": "A1"}), Mode.PARTIAL)
    slots = await run(writer, inserts({"code": "A1"}, {"code": "B2"}, {"code": "B2"}), Mode.PARTIAL)
    codes = [[e.code for e in s.error.errors] if isinstance(s.error, ValidationFailed) else [] for s in slots]
    assert codes == [["NOT_UNIQUE"], [], ["NOT_UNIQUE"]]
    assert isinstance(slots[0].error, ValidationFailed) and slots[0].error.is_conflict


async def test_a_missing_relationship_target_is_named_with_the_field_placeholder() -> None:
    writer = FakeWriter(SCHEMA)
    missing = str(uuid.uuid4())
    (slot,) = await run(writer, inserts({"owner": missing}), Mode.PARTIAL)
    assert isinstance(slot.error, ValidationFailed)
    (problem,) = slot.error.errors
    assert problem.code == "RELATION_NOT_FOUND"
    assert (
        problem.named("owner_id")
        == f"[owner_id] Relation Account.owner_id={missing} to Client doesn't exist!"
    )


async def test_auto_numbers_are_reserved_once_for_all_inserts() -> None:
    writer = FakeWriter(SCHEMA)
    await run(writer, inserts({"title": "a"}, {"title": "b"}), Mode.PARTIAL)
    assert sorted(r["number"] for r in writer.rows["Account"].values()) == [100, 101]


async def test_updates_and_deletes_need_a_known_id_and_repeat_no_id() -> None:
    writer = FakeWriter(SCHEMA)
    (created,) = await run(writer, inserts({"title": "a"}), Mode.PARTIAL)
    key = created.record["Id"] if created.record else ""
    items = [
        Item(Op.UPDATE, {"title": "b"}, key),
        Item(Op.UPDATE, {"title": "c"}, key),
        Item(Op.DELETE, id="not-a-uuid"),
        Item(Op.UPDATE, {"title": "d"}),
    ]
    slots = await run(writer, items, Mode.PARTIAL)
    assert slots[0].error is None and writer.rows["Account"][key]["title"] == "b"
    assert slots[0].record is not None and slots[0].record["Revision"] == 2  # the answer's revision
    assert (
        isinstance(slots[1].error, ValidationFailed) and slots[1].error.errors[0].code == "DUPLICATE_IN_BATCH"
    )
    assert isinstance(slots[2].error, RecordNotFound)
    assert isinstance(slots[3].error, ValidationFailed) and slots[3].error.errors[0].code == "REQUIRED"


async def test_a_refused_statement_is_replayed_record_by_record() -> None:
    writer = FakeWriter(SCHEMA)
    writer.refuse = [ValidationFailed([]), ValidationFailed([])]  # the batch, then its first record
    slots = await run(writer, inserts({"title": "a"}, {"title": "b"}), Mode.PARTIAL)
    assert [s.error for s in slots][1:] == [None]
    assert isinstance(slots[0].error, ValidationFailed)  # the replay's first insert met the refusal
    assert [r["title"] for r in writer.rows["Account"].values()] == ["b"]
