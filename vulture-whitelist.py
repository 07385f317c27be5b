"""Names vulture (scripts/test) takes for dead code but that are used from outside Python's view:
framework hooks, CLI commands registered by decorator, settings validators, fields of rows and
reports read by tests or by people. Anything truly dead is deleted, not listed here."""

# ruff: noqa
from recordbase import app, cli, cli_admin, settings, schemafile
from recordbase.api import http
from recordbase.core import records
from recordbase.files import sweeper
from recordbase.storage import principals, query

app.app_from_environment  # uvicorn --factory
http.JSONResponse.media_type  # Starlette Response
cli.serve, cli.token_create, cli.schema_apply, cli.schema_export  # typer commands
cli.openapi_command, cli.import_command, cli.export_command
cli_admin.user_create, cli_admin.user_list, cli_admin.user_disable, cli_admin.app_create
cli_admin.app_list, cli_admin.role_list, cli_admin.role_create, cli_admin.role_assign
settings.Settings.model_config, schemafile._Model.model_config  # pydantic
settings.Settings._plain_identifier, settings.Settings._known_format  # pydantic validators
records.Limits.list_default  # a setting's default, kept beside list_max
sweeper.SweepReport.examined  # a report counter
_ = lambda row: row.principal_name  # TokenRow: a column of the row, kept with the others
query.compile_query  # the whole-query compiler; tests/storage/test_query_sql.py

from recordbase.console import fields as console_fields, web as console_web

console_fields.Column.label_of, console_web.Console.can_design  # called from the console's templates
