"""`python -m tests.fuzz [--max-examples N] [--backend sqlite|postgres]`: the fuzzing step outside pytest."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import uuid
from pathlib import Path

import asyncpg

from recordbase.settings import Settings
from tests.conftest import POSTGRES_URL, LiveServer
from tests.fuzz.runner import fuzz_server


def settings_for(backend: str, workdir: Path) -> Settings:
    if backend == "sqlite":
        return Settings(data_dir=workdir / "data", database_url="")
    schema = "fuzz_" + uuid.uuid4().hex[:12]
    return Settings(data_dir=workdir / "data", database_url=POSTGRES_URL, database_schema=schema)


async def drop_schema(settings: Settings) -> None:
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{settings.database_schema}" CASCADE')
    finally:
        await connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-examples", type=int, default=10, help="examples per operation")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], action="append")
    args = parser.parse_args()
    failures = 0
    for backend in args.backend or ["sqlite", "postgres"]:
        with tempfile.TemporaryDirectory() as temporary:
            workdir = Path(temporary)
            settings = settings_for(backend, workdir)
            server = LiveServer(settings)
            token = server.command("token", "create", "--admin")
            server.start()
            try:
                outcomes = fuzz_server(server, token, args.max_examples, workdir)
            finally:
                server.stop()
                if settings.is_postgres:
                    asyncio.run(drop_schema(settings))
        for outcome in outcomes:
            print(f"{backend} / {outcome.mode}: {'passed' if outcome.passed else 'FAILED'}")
            if not outcome.passed:
                failures += 1
                print(outcome.summary())
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
