"""A new user's first commands: `--version`, `serve --help`, readable logs, one start line, a taken port."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx
import orjson
import pytest

from recordbase import __version__
from recordbase.api.observability import log_format
from recordbase.settings import Settings
from tests.conftest import LiveServer

pytestmark = pytest.mark.anyio
CLI = [sys.executable, "-m", "recordbase.cli"]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, check=False)


def test_version_and_serve_help() -> None:
    version = cli("--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"recordbase {__version__}")
    helped = cli("serve", "--help")
    assert helped.returncode == 0
    for flag in ("--port", "--host", "--log-format", "--workers", "--database-url", "--data-dir"):
        assert flag in helped.stdout, flag


def test_a_taken_port_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = subprocess.run(
            [*CLI, "serve", "--port", str(port), "--data-dir", str(tmp_path / "data")],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"error: 127.0.0.1:{port} is already in use; is another server running? Choose another with --port."
    )
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was created


def test_bad_log_format_is_refused() -> None:
    done = cli("serve", "--log-format", "xml")
    assert done.returncode == 2 and "console or json" in done.stderr


@pytest.mark.parametrize(("stdout", "stderr", "expected"), [(True, True, "console"), (False, True, "json")])
def test_auto_log_format_follows_the_terminal(
    monkeypatch: pytest.MonkeyPatch, stdout: bool, stderr: bool, expected: str
) -> None:
    class Stream(io.StringIO):
        def __init__(self, tty: bool) -> None:
            super().__init__()
            self.tty = tty

        def isatty(self) -> bool:
            return self.tty

    monkeypatch.setattr(sys, "stdout", Stream(stdout))
    monkeypatch.setattr(sys, "stderr", Stream(stderr))
    assert log_format(Settings(log_format="auto")) == expected
    assert log_format(Settings(log_format="json")) == "json"
    assert log_format(Settings(log_format="console")) == "console"


class Logged(LiveServer):
    """`recordbase serve` on a fresh data directory, its output (not a terminal) kept in a file."""

    def __init__(self, settings: Settings, log: Path) -> None:
        super().__init__(settings)
        self.log = log

    def start(self) -> None:
        command = [*CLI, "serve", "--port", str(self.port)]
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(command, env=self.env, stdout=sink, stderr=sink)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("recordbase did not start within 60 s")


async def test_first_start_logs_one_start_line_and_no_migration_chatter(
    settings: Settings, tmp_path: Path
) -> None:
    server = Logged(settings, tmp_path / "serve.log")
    server.start()
    try:
        await anyio.sleep(0.5)
        text = server.log.read_text()
    finally:
        server.stop()
    entries = [orjson.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert entries and all(e["level"] != "debug" for e in entries)
    token_file = settings.data_dir / "admin-token"
    started = [e["event"] for e in entries if str(e["event"]).startswith("recordbase ")]
    base = f"http://127.0.0.1:{server.port}"
    assert started == [
        f"recordbase {__version__} listening on {base}, docs at {base}/api/docs, admin token in {token_file}"
    ]
    assert not [e for e in entries if str(e["logger"]).startswith("alembic")]
    assert not [e for e in entries if "Uvicorn running" in str(e["event"])]
    assert f"Admin token (also saved in {token_file})" in text and "Traceback" not in text
