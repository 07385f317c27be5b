"""Issue 12, security item 9: CSV export escapes formula cells (OWASP CSV injection); both backends."""

from __future__ import annotations

import csv
import io

import pytest

from tests.api.helpers import DF, create_entity, field
from tests.conftest import Api

pytestmark = pytest.mark.anyio

NOTES = f"{DF}/EntityService/Note"
CELLS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tlead", "\rlead", "plain", "a=b"]


async def exported(api: Api, **params: str) -> list[list[str]]:
    response = await api.get(f"{NOTES}/export", params={"$orderby": "seq", **params})
    assert response.status_code == 200, response.text
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"), newline="")))[1:]


async def notes(api: Api) -> None:
    await create_entity(api, "Note", [field("text"), field("seq", "INT"), field("delta", "INT")])
    for seq, text in enumerate(CELLS):
        body = {"text": text, "seq": seq, "delta": -seq}
        assert (await api.post(f"{NOTES}/insert", json=body)).status_code == 200


async def test_formula_cells_are_escaped_by_default(api: Api) -> None:
    await notes(api)
    table = await exported(api)
    assert [row[1] for row in table] == [
        '\'=HYPERLINK("http://x")',
        "'+1+1",
        "'-2+3",
        "'@SUM(A1)",
        "'\tlead",
        "'\rlead",
        "plain",
        "a=b",
    ]
    assert [row[3] for row in table] == [str(-i) if i else "0" for i in range(len(CELLS))]


async def test_escaping_can_be_turned_off_per_request(api: Api) -> None:
    await notes(api)
    assert [row[1] for row in await exported(api, escapeFormulas="false")] == CELLS
    bad = await api.get(f"{NOTES}/export", params={"escapeFormulas": "maybe"})
    assert bad.status_code == 400
