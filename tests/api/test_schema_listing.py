"""Listing sees a schema changed by another process (`recordbase schema apply` while a server runs):
one version check per listing, on SQLite (no notifications) as on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
import pytest

from recordbase.settings import Settings
from tests.api.helpers import DF
from tests.conftest import Api, LiveServer

pytestmark = pytest.mark.anyio
EXAMPLE = Path(__file__).parent.parent.parent / "docs" / "example-schema.yaml"


async def test_listing_sees_a_schema_applied_from_the_command_line(api: Api, settings: Settings) -> None:
    assert (await api.get(f"{DF}/Entity")).json() == []  # the server has loaded the empty schema
    assert (await api.get(f"{DF}/Entity/choiceset")).json() == []
    cli = LiveServer(settings)
    applied = await anyio.to_thread.run_sync(cli.command, "schema", "apply", str(EXAMPLE))
    assert "created entity Account" in applied
    listed = await api.get(f"{DF}/Entity")
    assert listed.status_code == 200
    assert sorted(e["name"] for e in listed.json()) == ["Account", "Client"]
    v3 = await api.get(f"{DF}/v3/entities")
    assert sorted(e["name"] for e in v3.json()) == ["Account", "Client"]
    choice_sets = await api.get(f"{DF}/Entity/choiceset")
    assert "Stage" in [c["name"] for c in choice_sets.json()]
