"""Schemathesis against the generated OpenAPI description, on a real server, on both backends.

Zero 5xx answers and zero answers the description does not allow (status, content type, headers,
body schema), with a valid token, without one and with a wrong one. The number of examples per
operation is pytest's `--max-examples N` (default RECORDBASE_FUZZ_MAX_EXAMPLES, else 10: about a minute
per backend, CI's bounded run); `python -m tests.fuzz --max-examples N` runs the same outside pytest.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import anyio.to_thread
import pytest

from recordbase.settings import Settings
from tests.conftest import LiveServer
from tests.fuzz.runner import fuzz_server

pytestmark = pytest.mark.anyio


@pytest.fixture
def max_examples(request: pytest.FixtureRequest) -> int:
    value = request.config.getoption("--max-examples")
    assert isinstance(value, int) and value >= 1, "--max-examples must be a positive integer"
    return value


async def test_generated_description_holds_under_fuzzing(
    settings: Settings, tmp_path: Path, max_examples: int
) -> None:
    server = LiveServer(settings)
    token = server.command("token", "create", "--admin")
    server.start()
    try:
        outcomes = await anyio.to_thread.run_sync(partial(fuzz_server, server, token, max_examples, tmp_path))
    finally:
        server.stop()
    failed = [f"--- {o.mode} ---\n{o.summary()}" for o in outcomes if not o.passed]
    assert not failed, "\n".join(failed)
