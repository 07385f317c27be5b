"""Issue 11: a single update is one statement that writes the record without reading it first and
answers it as written. Many concurrent updates of one record: every one applies, with a revision of
its own, and each answer shows the record exactly as its own write left it. Both backends."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from tests.api.helpers import create_entity, field
from tests.conftest import Api
from tests.events.test_outbox import events
from tests.security.test_permissions import make_role, user_headers

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


async def test_an_update_answers_and_announces_the_record_as_its_statement_wrote_it(api: Api) -> None:
    """A single update is written without reading its record first (`UPDATE … RETURNING`, core/batch.py
    `unread`): its answer, and its event's revision and owner, come from the row as written; under an
    "own records only" rule, another's record is not written at all (no event) and answers exactly
    as when it is read first (403)."""
    await create_entity(api, "Tally", [field("fld0", "INT"), field("fld1", "INT")])
    role = {"name": "OwnUpdates", "entities": {"Tally": {"actions": ["read", "create", "update"],
                                                          "ownOnly": ["update"]}}}  # fmt: skip
    await make_role(api, role)
    ann = await user_headers(api, "ann-tally", ["OwnUpdates"])
    admins = (await api.post(f"{BASE}/insert", json={"fld0": 1})).json()
    anns = (await api.post(f"{BASE}/insert", json={"fld0": 2}, headers=ann)).json()

    refused = await api.post(f"{BASE}/update/{admins['Id']}", json={"fld1": 9}, headers=ann)
    assert refused.status_code == 403, refused.text
    mine = await api.post(f"{BASE}/update/{anns['Id']}", json={"fld1": 3}, headers=ann)
    assert mine.status_code == 200, mine.text
    theirs = await api.post(f"{BASE}/update/{anns['Id']}", json={"fld0": 4})  # the admin, on Ann's record
    assert theirs.status_code == 200, theirs.text
    assert (theirs.json()["fld0"], theirs.json()["fld1"]) == (4, 3), "the answer includes the earlier write"
    assert theirs.json() == (await api.get(f"{BASE}/read/{anns['Id']}")).json()

    updated = [e for e in await events(api) if e.operation.value == "updated"]
    assert [(e.record_id, e.fields, e.revision) for e in updated] == [
        (anns["Id"], ("fld1",), 2),
        (anns["Id"], ("fld0",), 3),
    ]
    assert {e.owner_id for e in updated} == {anns["CreatedBy"]} != {admins["CreatedBy"]}
    assert [e.actor_id for e in updated] == [anns["CreatedBy"], admins["CreatedBy"]]
    assert (await api.get(f"{BASE}/read/{admins['Id']}")).json()["fld1"] is None
