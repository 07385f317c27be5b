"""Issue 11: a single update reads its record before its transaction, without a lock, and writes it
only if the record's revision is unchanged (one statement); when another write got there first, the
update reads and locks the record in its transaction and applies to what is there. Many concurrent
updates of one record: every one applies, with a revision of its own, and each answer shows the
record exactly as its own write left it. Both backends."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from tests.api.helpers import create_entity, field
from tests.conftest import Api
from tests.events.test_outbox import events

pytestmark = pytest.mark.anyio
BASE = "/api/EntityService/Tally"
WRITERS = 12


async def test_concurrent_updates_of_one_record_apply_in_turn(api: Api) -> None:
    await create_entity(api, "Tally", [field(f"fld{k}", "INT") for k in range(WRITERS)])
    created = await api.post(f"{BASE}/insert", json={})
    assert created.status_code == 200, created.text
    record_id = created.json()["Id"]
    answers: dict[int, dict[str, Any]] = {}

    async def update(k: int) -> None:
        response = await api.post(f"{BASE}/update/{record_id}", json={f"fld{k}": k})
        assert response.status_code == 200, response.text
        answers[k] = response.json()

    async with anyio.create_task_group() as group:
        for k in range(WRITERS):
            group.start_soon(update, k)

    updated = [e for e in await events(api) if e.record_id == record_id and e.operation.value == "updated"]
    revision_of = {int(e.fields[0][3:]): e.revision for e in updated}
    assert sorted(revision_of.values()) == list(range(2, WRITERS + 2)), "each update has its own revision"
    for k, answer in answers.items():
        # The answer is the record as this update wrote it: the updates before it, and none after.
        before = {j for j, revision in revision_of.items() if revision <= revision_of[k]}
        assert {f"fld{j}": answer[f"fld{j}"] for j in range(WRITERS)} == {
            f"fld{j}": (j if j in before else None) for j in range(WRITERS)
        }
    final = (await api.get(f"{BASE}/read/{record_id}")).json()
    assert all(final[f"fld{j}"] == j for j in range(WRITERS))


async def test_an_update_whose_record_changed_after_it_was_read_applies_to_the_change(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interleaving made certain: another update commits between this update's read and its
    write (on SQLite, in process, requests otherwise run one after the other)."""
    await create_entity(api, "Tally", [field("fld0", "INT"), field("fld1", "INT")])
    record_id = (await api.post(f"{BASE}/insert", json={})).json()["Id"]
    records = api.services.records
    read_ahead = records._read_ahead
    interleaved: list[int] = []

    async def then_another_write(*args: Any) -> Any:
        known = await read_ahead(*args)
        if not interleaved:
            interleaved.append(1)
            other = await api.post(f"{BASE}/update/{record_id}", json={"fld1": 1})
            assert other.status_code == 200 and other.json()["fld0"] is None, other.text
        return known

    monkeypatch.setattr(records, "_read_ahead", then_another_write)
    answer = await api.post(f"{BASE}/update/{record_id}", json={"fld0": 0})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["fld0"], answer.json()["fld1"]) == (0, 1), "the answer includes the other write"
    updated = [e for e in await events(api) if e.record_id == record_id and e.operation.value == "updated"]
    assert [(e.fields, e.revision) for e in updated] == [(("fld1",), 2), (("fld0",), 3)]
