"""`recordbase import` and `recordbase export` against a live server (docs/import-export.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::ResourceWarning")]

ROWS = [f"n{i},{i}" for i in range(7)]


def cli(server: LiveServer, *args: str, remote: bool = True) -> subprocess.CompletedProcess[str]:
    """The command with the server's database settings; `remote`: and its URL and token too."""
    env = (
        {**server.env, "RECORDBASE_URL": server.url, "RECORDBASE_TOKEN": server.token}
        if remote
        else server.env
    )
    return subprocess.run(
        [sys.executable, "-m", "recordbase.cli", *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def prepare(server: LiveServer) -> httpx.Client:
    server.token = server.command("token", "create", "--admin")
    http = httpx.Client(base_url=f"{server.url}/api", headers={"Authorization": f"Bearer {server.token}"})
    fields = [
        {"name": "title", "sqlType": {"name": "NVARCHAR"}, "fieldDisplayType": "Basic"},
        {"name": "count", "sqlType": {"name": "INT"}, "fieldDisplayType": "Basic"},
    ]
    created = http.post("/Entity", json={"entityDefinition": {"name": "Item", "fields": fields}})
    assert created.status_code == 200, created.text
    return http


def count(http: httpx.Client) -> int:
    return int(http.get("/EntityService/Item/read").json()["totalRecordCount"])


async def test_import_then_export(live_server: LiveServer, tmp_path: Path) -> None:
    http = prepare(live_server)
    source = tmp_path / "items.csv"
    source.write_text("title,count\r\n" + "\r\n".join(ROWS) + "\r\n", encoding="utf-8")
    done = cli(live_server, "import", "Item", str(source), "--chunk", "3")
    assert done.returncode == 0, done.stderr
    assert "7 rows read, 7 inserted, 0 rejected" in done.stdout
    assert "rows" in done.stderr  # plain progress lines when not on a terminal
    assert count(http) == 7
    out = tmp_path / "out.csv"
    exported = cli(live_server, "export", "Item", "--filter", "count lt 3", "--output", str(out))
    assert exported.returncode == 0, exported.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "Id,title,count" and [line.split(",", 1)[1] for line in lines[1:]] == ROWS[:3]
    jsonl = cli(live_server, "export", "Item", "--format", "jsonl")
    assert [json.loads(line)["title"] for line in jsonl.stdout.splitlines()] == [f"n{i}" for i in range(7)]
    http.close()


async def test_rejects_exit_non_zero_and_resume_skips_done_chunks(
    live_server: LiveServer, tmp_path: Path
) -> None:
    http = prepare(live_server)
    source = tmp_path / "items.csv"
    source.write_text("title,count\r\n" + "\r\n".join([*ROWS, "bad,x"]) + "\r\n", encoding="utf-8")
    (tmp_path / "items.csv.progress").write_text(json.dumps({"rows": 6}), encoding="utf-8")
    done = cli(live_server, "import", "Item", str(source), "--chunk", "3", "--resume")
    assert done.returncode == 1, done.stderr
    assert "2 rows read, 1 inserted, 1 rejected, 6 skipped" in done.stdout
    errors = (tmp_path / "items.csv.errors.csv").read_text(encoding="utf-8").splitlines()
    assert errors[0] == "title,count,Error" and errors[1].startswith("bad,x,")
    assert count(http) == 1
    refused = cli(live_server, "import", "Nope", str(source))
    assert refused.returncode == 2 and "Nope" in refused.stderr
    http.close()


async def test_import_and_export_straight_against_the_database(
    live_server: LiveServer, tmp_path: Path
) -> None:
    """Without --url (and RECORDBASE_URL) rows go through the core as the system actor."""
    http = prepare(live_server)
    source = tmp_path / "items.csv"
    source.write_text("title,count\r\n" + "\r\n".join([*ROWS, "bad,x"]) + "\r\n", encoding="utf-8")
    done = cli(live_server, "import", "Item", str(source), "--chunk", "4", remote=False)
    assert done.returncode == 1, done.stderr
    assert "8 rows read, 7 inserted, 1 rejected" in done.stdout
    errors = (tmp_path / "items.csv.errors.csv").read_text(encoding="utf-8").splitlines()
    assert errors[0] == "title,count,Error" and errors[1].startswith("bad,x,")
    assert count(http) == 7
    exported = cli(live_server, "export", "Item", "--format", "jsonl", "--filter", "count ge 5", remote=False)
    assert exported.returncode == 0, exported.stderr
    assert [json.loads(line)["title"] for line in exported.stdout.splitlines()] == ["n5", "n6"]
    http.close()
