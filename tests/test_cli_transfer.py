"""`recordbase import` and `recordbase export` against a live server (docs/import-export.md)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
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


def progress_of(source: Path) -> dict[str, object]:
    mark = source.with_name(source.name + ".progress")
    try:
        return dict(json.loads(mark.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


async def test_a_killed_import_resumes_exactly_and_a_finished_one_stays_finished(
    live_server: LiveServer, tmp_path: Path
) -> None:
    http = prepare(live_server)
    total = 4000
    source = tmp_path / "many.csv"
    source.write_text("title,count\r\n" + "".join(f"t{i},{i}\r\n" for i in range(total)), encoding="utf-8")
    env = {**live_server.env, "RECORDBASE_URL": live_server.url, "RECORDBASE_TOKEN": live_server.token}
    command = [sys.executable, "-m", "recordbase.cli", "import", "Item", str(source), "--chunk", "50"]
    client = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: ASYNC220
    deadline = time.monotonic() + 120
    while int(str(progress_of(source).get("rows", 0))) < 300 and time.monotonic() < deadline:
        time.sleep(0.02)  # noqa: ASYNC251 - polling a file the child writes
    client.send_signal(signal.SIGKILL)  # the client dies mid-way, as with a power cut
    client.wait()
    mark = progress_of(source)
    assert client.returncode == -signal.SIGKILL and not mark["finished"], mark
    assert 300 <= int(str(mark["rows"])) < total
    # The worst moment: the server committed chunks the mark does not count yet.
    behind = {**mark, "rows": int(str(mark["rows"])) - 150}
    source.with_name("many.csv.progress").write_text(json.dumps(behind), encoding="utf-8")
    resumed = cli(live_server, "import", "Item", str(source), "--chunk", "50", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "already there" in resumed.stdout, resumed.stdout
    assert count(http) == total
    exported = cli(live_server, "export", "Item", "--format", "jsonl")
    titles = [json.loads(line)["title"] for line in exported.stdout.splitlines()]
    assert titles == [f"t{i}" for i in range(total)]  # each row once, in file order
    again = cli(live_server, "import", "Item", str(source), "--resume")
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout
    assert count(http) == total
    http.close()


@pytest.mark.parametrize("remote", [True, False])
async def test_a_fixed_rejects_file_imports_again(
    live_server: LiveServer, tmp_path: Path, remote: bool
) -> None:
    http = prepare(live_server)
    source = tmp_path / "items.csv"
    source.write_text("title,count\r\n" + "\r\n".join([*ROWS, "bad,x"]) + "\r\n", encoding="utf-8")
    first = cli(live_server, "import", "Item", str(source), remote=remote)
    assert first.returncode == 1 and count(http) == 7, first.stdout + first.stderr
    rejects = tmp_path / "items.csv.errors.csv"
    lines = rejects.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "title,count,Error" and lines[1].startswith("bad,x,")
    rejects.write_text(
        lines[0] + "\r\n" + lines[1].replace("bad,x,", "fixed,8,", 1) + "\r\n", encoding="utf-8"
    )
    second = cli(live_server, "import", "Item", str(rejects), remote=remote)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "1 rows read, 1 inserted, 0 rejected" in second.stdout
    assert count(http) == 8
    http.close()
