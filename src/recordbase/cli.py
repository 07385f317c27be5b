"""The `recordbase` command: serve, tokens, schema files, the OpenAPI description, import and export."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated

import orjson
import typer
import uvicorn
import yaml

from recordbase import __version__, transfer_client
from recordbase.api.observability import configure_logging, prepare_metrics_directory
from recordbase.api.routes import build_document, dialects
from recordbase.app import open_services
from recordbase.cli_admin import _run, app_app, role_app, user_app
from recordbase.cli_options import settings_from
from recordbase.cli_webhooks import webhook_app
from recordbase.core.actors import SYSTEM, SYSTEM_ACTOR_ID
from recordbase.core.schema import Schema
from recordbase.errors import RecordbaseError
from recordbase.local_files import ADMIN_TOKEN_FILE, make_private_dir, write_private_file
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
app.add_typer(user_app, name="user")
app.add_typer(app_app, name="app")
app.add_typer(role_app, name="role")
app.add_typer(webhook_app, name="webhook")

DatabaseOption = Annotated[
    str | None, typer.Option("--database-url", help="sqlite:///PATH or postgresql://…")
]
DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Directory for SQLite data and files.")
]


def run(work: object) -> None:
    try:
        asyncio.run(work)  # type: ignore[arg-type]
    except RecordbaseError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(1) from None


WORKER_HEALTHCHECK_SECONDS = 60


def _version(shown: bool) -> None:
    if shown:
        typer.echo(f"recordbase {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """recordbase: a self-hosted data service."""


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (default 8000).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default 1).")] = None,
    log_format: Annotated[
        str | None,
        typer.Option(help="Log lines as console (for people) or json; default: console on a terminal."),
    ] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Start the server (SQLite in ./recordbase-data unless a database URL is given)."""
    if log_format not in (None, "console", "json"):
        typer.echo("error: --log-format must be console or json.", err=True)
        raise typer.Exit(2)
    settings = settings_from(
        database_url, data_dir, host=host, port=port, workers=workers, log_format=log_format
    )
    configure_logging(settings)
    _require_free_port(settings.host, settings.port)
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
        # A worker must answer the supervisor's ping within this many seconds or it is killed and
        # replaced; uvicorn's 5 s is less than a worker's start-up takes on a busy machine, where
        # workers were then replaced forever and the server never served.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )


def _require_free_port(host: str, port: int) -> None:
    """Exit with one clear line, not a traceback, when the address cannot be bound (taken, say)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds it
        try:
            probe.bind((host, port))
        except OSError as error:
            reason = (
                "is already in use"
                if error.errno == errno.EADDRINUSE
                else f"cannot be used ({error.strerror})"
            )
            typer.echo(
                f"error: {host}:{port} {reason}; is another server running? Choose another with --port.",
                err=True,
            )
            raise typer.Exit(1) from None


async def _bootstrap(settings: Settings) -> None:
    """Migrate, and on a new installation create an admin token, print it once and keep it in the data dir."""
    await migrate(settings)
    async with open_services(settings) as services:
        if await services.tokens.store.has_admin_token():
            return
        token = await services.tokens.create_admin_token("initial admin")
    make_private_dir(settings.data_dir)
    path = settings.data_dir / ADMIN_TOKEN_FILE
    write_private_file(path, token + "\n")
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


@token_app.command("list")
def token_list(database_url: DatabaseOption = None, data_dir: DataDirOption = None) -> None:
    """List bearer tokens as JSON (id, name, owner, created, expiry, revocation; never the secret)."""
    _run(database_url, data_dir, lambda s: s.directory.list_tokens(None))


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id, as `token list` shows it.")],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Revoke a bearer token; every server process refuses it from its next request on."""
    _run(database_url, data_dir, lambda s: s.directory.revoke_token(SYSTEM, token_id, any_owner=True))
    typer.echo(f"revoked {token_id}", err=True)


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


UrlOption = Annotated[
    str | None, typer.Option("--url", envvar="RECORDBASE_URL", help="The server, e.g. http://127.0.0.1:8000")
]
TokenOption = Annotated[str, typer.Option("--token", envvar="RECORDBASE_TOKEN", help="A bearer token.")]


@app.command("import")
def import_command(
    entity: Annotated[str, typer.Argument(help="Entity name or id.")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV file with a header row.")],
    url: UrlOption = None,
    token: TokenOption = "",
    chunk: Annotated[int, typer.Option(help="Rows per request (one transaction at the default).")] = 1000,
    resume: Annotated[
        bool, typer.Option(help="Go on where FILE.progress stops (exact; a finished import does nothing).")
    ] = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Import FILE into ENTITY through a running server (--url), or straight into the database
    (--database-url / --data-dir, as the system actor); exit 1 when any row was rejected."""
    try:
        with _sender(entity, file, url, token, database_url, data_dir) as send:
            totals = transfer_client.import_file(send, file, chunk, resume)
    except transfer_client.ImportRefused as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    if totals.finished_before:
        typer.echo(f"{file.name} was already imported in full ({totals.skipped} rows); nothing to do.")
        return
    seconds = time.monotonic() - totals.started
    replayed = f", {totals.replayed} already there (resent chunk)" if totals.replayed else ""
    typer.echo(
        f"{totals.total} rows read, {totals.inserted} inserted, {totals.rejected} rejected, "
        f"{totals.skipped} skipped (resume){replayed} in {seconds:.1f} s"
    )
    if totals.errors_file is not None:
        typer.echo(f"rejected rows: {totals.errors_file}")
        raise typer.Exit(1)


@contextlib.contextmanager
def _sender(
    entity: str, file: Path, url: str | None, token: str, database_url: str | None, data_dir: Path | None
) -> Iterator[transfer_client.Sender]:
    if url and database_url is None and data_dir is None:
        with transfer_client.client(url, token) as http:
            yield transfer_client.http_sender(http, entity, file)
        return
    with _direct(database_url, data_dir) as (runner, services):
        yield transfer_client.direct_sender(runner, services, entity, file)


@contextlib.contextmanager
def _direct(database_url: str | None, data_dir: Path | None) -> Iterator[tuple[asyncio.Runner, Services]]:
    """The services, open on an event loop that synchronous code drives one call at a time."""
    settings = settings_from(database_url, data_dir)
    with asyncio.Runner() as runner:
        stack = contextlib.AsyncExitStack()
        services = runner.run(stack.enter_async_context(open_services(settings)))
        try:
            yield runner, services
        finally:
            runner.run(stack.aclose())


@app.command("export")
def export_command(
    entity: Annotated[str, typer.Argument(help="Entity name or id.")],
    url: UrlOption = None,
    token: TokenOption = "",
    format: Annotated[str, typer.Option(help="csv or jsonl.")] = "csv",
    filter: Annotated[str | None, typer.Option(help='An OData $filter, e.g. "age gt 30".')] = None,
    output: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Stream every record of ENTITY the token may read (or all of them, straight from the database
    without --url), as CSV or JSON Lines."""
    if format not in ("csv", "jsonl"):
        typer.echo("error: --format must be csv or jsonl.", err=True)
        raise typer.Exit(2)
    try:
        with _sink(output) as out:
            written = _export(entity, url, token, database_url, data_dir, format, filter, out)
    except transfer_client.ImportRefused as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{written} bytes exported", err=True)


def _export(
    entity: str,
    url: str | None,
    token: str,
    database_url: str | None,
    data_dir: Path | None,
    kind: str,
    filter_text: str | None,
    out: IO[bytes],
) -> int:
    if url and database_url is None and data_dir is None:
        with transfer_client.client(url, token) as http:
            return transfer_client.export_to(http, entity, kind, filter_text, out)
    with _direct(database_url, data_dir) as (runner, services):
        return transfer_client.export_direct(runner, services, entity, kind, filter_text, out)


def _sink(output: Path | None) -> contextlib.AbstractContextManager[IO[bytes]]:
    if output is None:
        return contextlib.nullcontext(sys.stdout.buffer)
    return output.open("wb")


async def _current(services: Services) -> Schema:
    return await services.schemas.reload()


if __name__ == "__main__":
    app()
