"""README's first request and its SDK block, run as written (only the address and token path changed)
against a real `recordbase serve`, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]
README = (Path(__file__).parent.parent.parent / "README.md").read_text()


def sdk_block() -> str:
    found = re.search(r"<!-- readme-sdk -->\n```python\n(.*?)```", README, re.S)
    assert found, "README must keep its SDK block after <!-- readme-sdk -->"
    return found.group(1)


def first_request(server: LiveServer, token: str) -> None:
    """The README's curl commands, sent with httpx (same bodies, same paths)."""
    bodies = re.findall(r"-d '(\{.*?\})'", README)
    paths = re.findall(r"http://127\.0\.0\.1:8000(/api/[^\s,]+)$", README, re.M)  # a curl line's URL ends it
    assert len(bodies) == 2 and paths[:2] == ["/api/Entity", "/api/EntityService/Customer/insert"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for body, path in zip(bodies, paths, strict=False):
        response = httpx.post(f"{server.url}{path}", content=body, headers=headers)
        assert response.status_code == 200, response.text


async def test_readme_sdk_block_runs_as_written(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [k for k in os.environ if k.startswith("UIPATH_")]:
        monkeypatch.delenv(name)
    token_file = Path(live_server.settings.data_dir) / "admin-token"
    first_request(live_server, token_file.read_text().strip())
    code = sdk_block()
    assert "from uipath.platform import UiPath" in code
    code = code.replace("http://127.0.0.1:8000", live_server.url)
    code = code.replace('"recordbase-data/admin-token"', repr(str(token_file)))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {})
    assert printed.getvalue().strip() == "['Ann']"
