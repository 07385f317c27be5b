"""`recordbase webhook …`: webhook subscriptions from the command line, owned by the built-in system
principal (an administrator). The same WebhookService as the API (docs/events.md)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from recordbase.api.webhooks import delivery_view
from recordbase.cli_admin import DatabaseOption, DataDirOption, _run
from recordbase.core.actors import SYSTEM
from recordbase.core.webhooks import UIPATH, public_view
from recordbase.services import Services

webhook_app = typer.Typer(help="Webhook subscriptions and their deliveries.", no_args_is_help=True)
WebhookId = Annotated[str, typer.Argument(help="The subscription's id.")]


@webhook_app.command("create")
def webhook_create(
    url: Annotated[str, typer.Argument(help="Where deliveries are POSTed (http or https).")],
    event: Annotated[
        list[str], typer.Option("--event", help="Customer.created, Customer.*, * (repeatable).")
    ],
    filter_json: Annotated[
        str | None, typer.Option("--filter", help="A UiPath filterGroup, as JSON (one entity only).")
    ] = None,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Subscribe a URL; prints the subscription with its signing secret (shown only here)."""
    try:
        found = None if filter_json is None else json.loads(filter_json)
    except ValueError:
        typer.echo("error: --filter is not JSON", err=True)
        raise typer.Exit(1) from None

    async def work(s: Services) -> Any:
        sub = await s.webhooks.create(SYSTEM, url, list(event), found, UIPATH)
        return public_view(sub, with_secret=True)

    _run(database_url, data_dir, work)


@webhook_app.command("list")
def webhook_list(database_url: DatabaseOption = None, data_dir: DataDirOption = None) -> None:
    """Every subscription (without secrets)."""

    async def work(s: Services) -> Any:
        return [public_view(sub) for sub in await s.webhooks.visible(SYSTEM)]

    _run(database_url, data_dir, work)


@webhook_app.command("deliveries")
def webhook_deliveries(
    webhook_id: WebhookId,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """A subscription's delivery log: status, attempts, last error."""

    async def work(s: Services) -> Any:
        return [
            delivery_view(d) for d in await s.webhooks.log(SYSTEM, webhook_id, max(1, min(limit, 1000)), 0)
        ]

    _run(database_url, data_dir, work)


@webhook_app.command("redeliver")
def webhook_redeliver(
    webhook_id: WebhookId,
    delivery_id: Annotated[str, typer.Argument(help="The delivery's id (from `deliveries`).")],
    database_url: DatabaseOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Send a delivery again, with a fresh retry window (a running server sends it)."""
    _run(database_url, data_dir, lambda s: s.webhooks.redeliver(SYSTEM, webhook_id, delivery_id))


def _toggle(disabled: bool, webhook_id: str, database_url: str | None, data_dir: Any) -> None:
    async def work(s: Services) -> Any:
        return public_view(await s.webhooks.set_disabled(SYSTEM, webhook_id, disabled))

    _run(database_url, data_dir, work)


@webhook_app.command("disable")
def webhook_disable(
    webhook_id: WebhookId, database_url: DatabaseOption = None, data_dir: DataDirOption = None
) -> None:
    """Stop deliveries (they wait until the subscription is enabled)."""
    _toggle(True, webhook_id, database_url, data_dir)


@webhook_app.command("enable")
def webhook_enable(
    webhook_id: WebhookId, database_url: DatabaseOption = None, data_dir: DataDirOption = None
) -> None:
    """Resume deliveries, clearing the failure streak."""
    _toggle(False, webhook_id, database_url, data_dir)


@webhook_app.command("delete")
def webhook_delete(
    webhook_id: WebhookId, database_url: DatabaseOption = None, data_dir: DataDirOption = None
) -> None:
    """Delete a subscription and its delivery log."""
    _run(database_url, data_dir, lambda s: s.webhooks.delete(SYSTEM, webhook_id))
