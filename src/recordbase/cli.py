"""The `recordbase` command: serve, tokens, schema files, the OpenAPI description."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
import uvicorn
import yaml

from recordbase.api.observability import configure_logging, prepare_metrics_directory
from recordbase.api.openapi import build_document, dialects
from recordbase.app import open_services
from recordbase.core.actors import SYSTEM_ACTOR_ID
from recordbase.core.schema import Schema
from recordbase.errors import RecordbaseError
from recordbase.schemafile import export_schema, load_document
from recordbase.services import Services
from recordbase.settings import Settings
from recordbase.storage.migrate import migrate

app = typer.Typer(
    help="recordbase: a self-hosted data service.", no_args_is_help=True, pretty_exceptions_enable=False
)
token_app = typer.Typer(help="Bearer tokens.", no_args_is_help=True)
schema_app = typer.Typer(help="Declarative schema files.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(schema_app, name="schema")

DatabaseOption = Annotated[
    str | None, typer.Option("--database-url", help="sqlite:///PATH or postgresql://…")
]
DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Directory for SQLite data and files.")
]


def settings_from(database_url: str | None, data_dir: Path | None, **more: object) -> Settings:
    """Flags win over the environment; they are also exported so that worker processes see them."""
    given = {"database_url": database_url, "data_dir": data_dir, **more}
    for key, value in given.items():
        if value is not None:
            os.environ[f"RECORDBASE_{key.upper()}"] = str(value)
    return Settings()


def run(work: object) -> None:
    try:
        asyncio.run(work)  # type: ignore[arg-type]
    except RecordbaseError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(1) from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Start the server (SQLite in ./recordbase-data unless a database URL is given)."""
    settings = settings_from(database_url, data_dir, host=host, port=port, workers=workers)
    configure_logging(settings)
    run(_bootstrap(settings))
    prepare_metrics_directory(settings)
    uvicorn.run(
        "recordbase.app:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        log_config=None,
        access_log=False,
    )


async def _bootstrap(settings: Settings) -> None:
    """Migrate, and on a new installation create an admin token, print it once and keep it in the data dir."""
    await migrate(settings)
    async with open_services(settings) as services:
        if await services.tokens.store.has_admin_token():
            return
        token = await services.tokens.create_admin_token("initial admin")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / "admin-token"
    path.write_text(token + "\n", encoding="utf-8")
    path.chmod(0o600)
    typer.echo(f"Admin token (also saved in {path}):\n  {token}", err=True)


@token_app.command("create")
def token_create(
    admin: Annotated[bool, typer.Option("--admin", help="A token with every permission.")] = False,
    name: Annotated[str, typer.Option(help="A label for the token.")] = "cli",
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create a bearer token and print only the token on stdout (for scripts)."""
    if not admin:
        typer.echo("error: only --admin tokens exist in this version; pass --admin.", err=True)
        raise typer.Exit(2)

    async def work() -> None:
        async with open_services(settings_from(database_url, data_dir)) as services:
            sys.stdout.write(await services.tokens.create_admin_token(name) + "\n")

    run(work())


@schema_app.command("apply")
def schema_apply(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="YAML or JSON schema file.")],
    prune: Annotated[bool, typer.Option(help="Also remove fields the file does not list.")] = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Bring the schema to what FILE declares, in one transaction; a second run changes nothing."""

    async def work() -> None:
        document = load_document(file)
        async with open_services(settings_from(database_url, data_dir)) as services:
            done = await services.schema_service.apply(document, SYSTEM_ACTOR_ID, prune=prune)
        for line in done or ["no changes"]:
            typer.echo(line)

    run(work())


@schema_app.command("export")
def schema_export(
    format: Annotated[str, typer.Option(help="yaml or json.")] = "yaml",
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Print the current schema in the format `schema apply` reads."""

    async def work() -> None:
        async with open_services(settings_from(database_url, data_dir)) as services:
            document = export_schema(await _current(services))
        if format == "json":
            sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
        else:
            sys.stdout.write(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))

    run(work())


@app.command("openapi")
def openapi_command(
    dialect: Annotated[str | None, typer.Option(help="Only this dialect's routes, e.g. dataservice.")] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Print the OpenAPI 3.1 description of the current schema, as served at /api/openapi.json."""
    if dialect is not None and dialect not in dialects():
        typer.echo(f"error: no dialect '{dialect}'; there are: {', '.join(dialects())}", err=True)
        raise typer.Exit(2)

    async def work() -> None:
        async with open_services(settings_from(database_url, data_dir)) as services:
            document = build_document(await _current(services), services.settings, dialect)
        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")

    run(work())


async def _current(services: Services) -> Schema:
    return await services.schemas.reload()


if __name__ == "__main__":
    app()
