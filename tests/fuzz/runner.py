"""Run schemathesis against a live recordbase: seed a schema, write the description, fuzz it three
ways (a valid admin token, no token, a wrong token). Used by test_fuzz.py and `python -m tests.fuzz`."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import LiveServer
from tests.fuzz.seed import seed

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@dataclass(frozen=True)
class Outcome:
    mode: str
    returncode: int
    output: str

    @property
    def passed(self) -> bool:
        return self.returncode == 0

    def summary(self) -> str:
        """The failures and the summary: what a CI log needs."""
        start = self.output.find("=== FAILURES ===")
        return self.output[start if start >= 0 else -4000 :][-20000:]


def fuzz_server(server: LiveServer, token: str, max_examples: int, workdir: Path) -> list[Outcome]:
    """Seed the running server, write its description, and fuzz it with each kind of credential."""
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        seed(client)
    spec = workdir / "openapi.json"
    spec.write_text(server.command("openapi"), encoding="utf-8")
    credentials = [("valid token", token), ("no token", None), ("wrong token", "rb_" + "x" * 43)]
    return [run(spec, server.url, mode, secret, max_examples, workdir) for mode, secret in credentials]


def run(spec: Path, url: str, mode: str, token: str | None, max_examples: int, workdir: Path) -> Outcome:
    command = [
        str(SCHEMATHESIS), "--config-file", str(CONFIG), "--no-color", "run", str(spec), "--url", url,
        "--max-examples", str(max_examples), "--seed", "1", "--request-timeout", "30",
        "--generation-database", "none",
    ]  # fmt: skip
    if token is not None:
        command += ["--header", f"Authorization: Bearer {token}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, cwd=workdir, check=False)
    return Outcome(mode, done.returncode, done.stdout + done.stderr)
