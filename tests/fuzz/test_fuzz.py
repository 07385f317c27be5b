"""Schemathesis against the generated OpenAPI description, on a real server, on both backends.

Zero 5xx answers and zero answers the description does not allow (status, content type, headers,
body schema), with a valid token, without one and with a wrong one. The number of examples per
operation is RECORDBASE_FUZZ_MAX_EXAMPLES (default 10, about a minute per backend); `python -m
tests.fuzz --max-examples N` runs the same outside pytest.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import anyio.to_thread
import pytest

from recordbase.settings import Settings
from tests.conftest import LiveServer
from tests.fuzz.runner import fuzz_server

pytestmark = pytest.mark.anyio
MAX_EXAMPLES = int(os.environ.get("RECORDBASE_FUZZ_MAX_EXAMPLES", "10"))


async def test_generated_description_holds_under_fuzzing(settings: Settings, tmp_path: Path) -> None:
    server = LiveServer(settings)
    token = server.command("token", "create", "--admin")
    server.start()
    try:
        outcomes = await anyio.to_thread.run_sync(partial(fuzz_server, server, token, MAX_EXAMPLES, tmp_path))
    finally:
        server.stop()
    failed = [f"--- {o.mode} ---\n{o.summary()}" for o in outcomes if not o.passed]
    assert not failed, "\n".join(failed)
