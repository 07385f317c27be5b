"""`recordbase user|app|role …`: administration from the command line, as the built-in administrator.

The same `Directory` the administration API uses, so every change is audited and takes effect on
the next request of every server process.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from recordbase.app import open_services
from recordbase.cli_options import settings_from
from recordbase.core.actors import SYSTEM
from recordbase.errors import RecordbaseError
from recordbase.services import Services
from recordbase.settings import Settings

user_app = typer.Typer(help="Users (they sign in with a login and password).", no_args_is_help=True)
app_app = typer.Typer(
    help="Applications (client credentials, HTTP Basic on Pipeliner routes).", no_args_is_help=True
)
role_app = typer.Typer(help="Roles and their assignments.", no_args_is_help=True)

DatabaseOption = Annotated[
    str | None, typer.Option("--database-url", help="sqlite:///PATH or postgresql://…")
]
DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Directory for SQLite data and files.")
]


def _run(database_url: str | None, data_dir: Path | None, work: Callable[[Services], Awaitable[Any]]) -> None:
    """Open the services, run `work`, print its result as JSON; errors become exit code 1."""
    settings: Settings = settings_from(database_url, data_dir)

    async def main() -> Any:
        async with open_services(settings) as services:
            return await work(services)

    try:
        result = asyncio.run(main())
    except RecordbaseError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(1) from None
    if result is not None:
        sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")


@user_app.command("create")
def user_create(
    name: Annotated[str, typer.Argument(help="Display name.")],
    login: Annotated[str, typer.Option(help="Sign-in name.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, help="At least 12 characters.")],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create a user; prints its id."""
    _run(
        database_url, data_dir, lambda s: s.directory.create_principal(SYSTEM, "user", name, login, password)
    )


@user_app.command("list")
def user_list(database_url: DatabaseOption = None, data_dir: DataDirOption = None) -> None:
    _run(database_url, data_dir, lambda s: s.directory.list_principals("user"))


@user_app.command("disable")
def user_disable(
    principal_id: str,
    enable: Annotated[bool, typer.Option("--enable", help="Enable again instead.")] = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Disable (or, with --enable, re-enable) a user or application; its tokens stop working at once."""
    _run(database_url, data_dir, lambda s: s.directory.set_disabled(SYSTEM, principal_id, not enable))


@app_app.command("create")
def app_create(name: str, database_url: DatabaseOption = None, data_dir: DataDirOption = None) -> None:
    """Create an application; prints its client id and secret (the secret is shown only now)."""
    _run(
        database_url,
        data_dir,
        lambda s: s.directory.create_principal(SYSTEM, "application", name, None, None),
    )


@app_app.command("list")
def app_list(database_url: DatabaseOption = None, data_dir: DataDirOption = None) -> None:
    _run(database_url, data_dir, lambda s: s.directory.list_principals("application"))


@role_app.command("list")
def role_list(database_url: DatabaseOption = None, data_dir: DataDirOption = None) -> None:
    _run(database_url, data_dir, lambda s: s.directory.list_roles())


@role_app.command("create")
def role_create(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A role as JSON (docs/security.md).")
    ],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create a custom role from a JSON definition; entities and fields it names must exist."""
    body = orjson.loads(file.read_bytes())
    _run(database_url, data_dir, lambda s: s.directory.save_role(SYSTEM, body, None, s.schemas.current))


@role_app.command("assign")
def role_assign(
    role: Annotated[str, typer.Argument(help="Role id or name.")],
    principal: Annotated[str, typer.Argument(help="User, application or group: its id, or a login.")],
    remove: Annotated[bool, typer.Option("--remove", help="Unassign instead.")] = False,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Assign a role to a user, application or group (or remove it)."""

    async def work(s: Services) -> None:
        principal_id = await s.directory.principal_ref(principal)
        await s.directory.assignment(SYSTEM, role, principal_id, add=not remove)

    _run(database_url, data_dir, work)
