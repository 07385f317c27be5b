"""The administration CLI against real databases: users, applications, roles; the results work over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from recordbase.settings import Settings
from tests.conftest import LiveServer

pytestmark = pytest.mark.anyio


async def test_users_apps_and_roles_from_the_cli(settings: Settings, tmp_path: Path) -> None:
    cli = LiveServer(settings)
    user = json.loads(
        cli.command("user", "create", "Ann", "--login", "ann", "--password", "a long enough pass")
    )
    assert "ann" in [u["login"] for u in json.loads(cli.command("user", "list"))]
    application = json.loads(cli.command("app", "create", "Robot"))
    assert application["clientId"].startswith("app_") and application["clientSecret"]
    role_file = tmp_path / "role.json"
    role_file.write_text(
        json.dumps({"name": "Readers", "rights": ["view_schema"], "entities": {"*": {"actions": ["read"]}}})
    )
    cli.command("role", "create", str(role_file))
    assert "Readers" in [r["name"] for r in json.loads(cli.command("role", "list"))]
    cli.command("role", "assign", "Readers", user["id"])
    cli.start()
    try:
        form = {"grant_type": "password", "username": "ann", "password": "a long enough pass"}
        token = httpx.post(f"{cli.url}/oauth/token", data=form).json()["access_token"]  # noqa: ASYNC210
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{cli.url}/api/Entity", headers=headers).status_code == 200  # noqa: ASYNC210
        cli.command("user", "disable", user["id"])
        assert httpx.get(f"{cli.url}/api/Entity", headers=headers).status_code == 401  # noqa: ASYNC210
    finally:
        cli.stop()


async def test_role_create_refuses_entities_and_fields_that_do_not_exist(
    settings: Settings, tmp_path: Path
) -> None:
    cli = LiveServer(settings)
    role_file = tmp_path / "role.json"
    role_file.write_text(json.dumps({"name": "Ghosts", "entities": {"Nowhere": {"actions": ["read"]}}}))
    refused = subprocess.run(  # noqa: ASYNC221 - the CLI under test, run once
        [sys.executable, "-m", "recordbase.cli", "role", "create", str(role_file)],
        env=cli.env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 1 and "nowhere" in refused.stderr.decode().lower()
    assert "Ghosts" not in [r["name"] for r in json.loads(cli.command("role", "list"))]
