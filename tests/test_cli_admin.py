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


async def test_tokens_listed_and_revoked_roles_assigned_by_login(settings: Settings) -> None:
    cli = LiveServer(settings)
    cli.command("user", "create", "Bea", "--login", "bea", "--password", "a long enough pass")
    robot = json.loads(cli.command("app", "create", "Robot"))
    cli.command("role", "assign", "Data Reader", "bea")  # a login, not an id
    cli.command("role", "assign", "Data Writer", robot["clientId"])
    token = cli.command("token", "create", "--admin", "--name", "ci")
    listed = json.loads(cli.command("token", "list"))
    (ci,) = [t for t in listed if t["name"] == "ci"]
    assert ci["admin"] is True and ci["revokedAt"] is None and token not in json.dumps(listed)
    with pytest.raises(Exception, match="returned non-zero exit status 1"):
        cli.command("role", "assign", "Data Reader", "nobody")
    cli.start()
    try:
        headers = {"Authorization": f"Bearer {token}"}
        assignments = httpx.get(f"{cli.url}/api/admin/assignments", headers=headers).json()  # noqa: ASYNC210
        users = httpx.get(f"{cli.url}/api/admin/users", headers=headers).json()  # noqa: ASYNC210
        bea = next(u["id"] for u in users if u["login"] == "bea")
        pairs = {(a["principalId"], a["roleId"]) for a in assignments}
        reader, writer = "00000000-0000-0000-0000-00000000a004", "00000000-0000-0000-0000-00000000a003"
        assert (bea, reader) in pairs and (robot["id"], writer) in pairs
        for path in ("/api/admin/nothing", "/api/admin/userz", "/api/admin/tokenss"):
            missing = httpx.get(f"{cli.url}{path}", headers=headers)  # noqa: ASYNC210
            assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND", path
        assert httpx.get(f"{cli.url}/api/Entity", headers=headers).status_code == 200  # noqa: ASYNC210
        cli.command("token", "revoke", ci["id"])
        assert httpx.get(f"{cli.url}/api/Entity", headers=headers).status_code == 401  # noqa: ASYNC210
    finally:
        cli.stop()
    (revoked,) = [t for t in json.loads(cli.command("token", "list")) if t["id"] == ci["id"]]
    assert revoked["revokedAt"] is not None
