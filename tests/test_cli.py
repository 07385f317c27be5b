"""The CLI against real databases: tokens, schema apply (idempotent) and export (round trip)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml

from recordbase.settings import Settings
from tests.conftest import LiveServer

pytestmark = pytest.mark.anyio
EXAMPLE = Path(__file__).parent.parent / "docs" / "example-schema.yaml"


async def test_token_create_prints_only_a_working_token(settings: Settings) -> None:
    cli = LiveServer(settings)
    token = cli.command("token", "create", "--admin")
    assert token.startswith("rb_") and "\n" not in token
    cli.start()
    try:
        ok = httpx.get(f"{cli.url}/api/Entity", headers={"Authorization": f"Bearer {token}"})  # noqa: ASYNC210
        bad = httpx.get(f"{cli.url}/api/Entity", headers={"Authorization": "Bearer rb_nope"})  # noqa: ASYNC210
    finally:
        cli.stop()
    assert ok.status_code == 200 and ok.json() == []
    assert bad.status_code == 401


async def test_schema_apply_is_idempotent_and_export_round_trips(settings: Settings, tmp_path: Path) -> None:
    cli = LiveServer(settings)
    first = cli.command("schema", "apply", str(EXAMPLE))
    assert "created entity Account" in first and "created choice set Stage" in first
    assert cli.command("schema", "apply", str(EXAMPLE)) == "no changes"
    exported = yaml.safe_load(cli.command("schema", "export"))
    assert [e["name"] for e in exported["entities"]] == ["Account", "Client"]
    account = next(e for e in exported["entities"] if e["name"] == "Account")
    kinds = {f["name"]: f["type"] for f in account["fields"]}
    assert kinds["owner_id"] == "relationship" and kinds["number"] == "auto_number"
    assert account["indexes"] == [{"name": "byStageRevenue", "fields": ["stage", "revenue"]}]
    copy = tmp_path / "exported.yaml"
    copy.write_text(yaml.safe_dump(exported))
    assert cli.command("schema", "apply", str(copy)) == "no changes"


async def test_schema_apply_refuses_a_type_change_atomically(settings: Settings, tmp_path: Path) -> None:
    cli = LiveServer(settings)
    cli.command("schema", "apply", str(EXAMPLE))
    changed = yaml.safe_load(EXAMPLE.read_text())
    changed["entities"][0]["fields"][0]["type"] = "integer"
    changed["entities"].append({"name": "Extra", "fields": [{"name": "label", "type": "text"}]})
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(changed))
    with pytest.raises(Exception, match="returned non-zero exit status 1"):
        cli.command("schema", "apply", str(path))
    exported = yaml.safe_load(cli.command("schema", "export"))
    assert "Extra" not in [e["name"] for e in exported["entities"]]
