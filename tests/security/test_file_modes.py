"""Issue 12, security item 3: the data directory is created 0700 and the SQLite database and
admin token 0600; looser modes found at start are reported in the log. Both backends."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from recordbase.app import create_app
from recordbase.cli import _bootstrap
from recordbase.settings import Settings

pytestmark = pytest.mark.anyio


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def private_or_missing(path: Path) -> bool:
    return not path.exists() or mode(path) == 0o600


async def start(settings: Settings) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        pass


async def test_new_installation_is_private(settings: Settings) -> None:
    await _bootstrap(settings)
    await start(settings)
    assert mode(settings.data_dir) == 0o700
    assert mode(settings.data_dir / "admin-token") == 0o600
    if not settings.is_postgres:
        database = settings.data_dir / "recordbase.sqlite3"
        assert mode(database) == 0o600
        for suffix in ("-wal", "-shm"):
            assert private_or_missing(Path(f"{database}{suffix}"))


async def test_loose_modes_are_reported_at_start(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    await _bootstrap(settings)
    settings.data_dir.chmod(0o755)
    (settings.data_dir / "admin-token").chmod(0o644)
    if not settings.is_postgres:
        (settings.data_dir / "recordbase.sqlite3").chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="recordbase.security"):
        await start(settings)
    warnings = [r.getMessage() for r in caplog.records if r.name == "recordbase.security"]
    assert any("data directory" in w and "0755" in w for w in warnings), warnings
    assert any("admin token" in w and "0644" in w for w in warnings), warnings
    if not settings.is_postgres:
        assert any("token-signing key" in w and "chmod 600" in w for w in warnings), warnings
    settings.data_dir.chmod(0o700)
    (settings.data_dir / "admin-token").chmod(0o600)
    if not settings.is_postgres:
        (settings.data_dir / "recordbase.sqlite3").chmod(0o600)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="recordbase.security"):
        await start(settings)
    assert not [r for r in caplog.records if r.name == "recordbase.security"]
