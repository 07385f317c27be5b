"""The console's routes, mounted beside the API by app.py; not part of the API's route table."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from recordbase.console import access, entities, records, session, transfer

GET, POST = ["GET"], ["POST"]
STATIC = Path(__file__).parent / "static"


def entity_routes() -> list[BaseRoute]:
    return [
        Route("/entities", entities.list_entities, methods=GET),
        Route("/entities", entities.create_entity, methods=POST),
        Route("/choicesets", entities.create_choice_set, methods=POST),
        Route("/entities/{name}", entities.edit_entity, methods=GET),
        Route("/entities/{name}/metadata", entities.update_metadata, methods=POST),
        Route("/entities/{name}/fields", entities.add_field, methods=POST),
        Route("/entities/{name}/fields/{field}/remove", entities.remove_field, methods=POST),
        Route("/entities/{name}/delete", entities.delete_entity, methods=POST),
    ]


def record_routes() -> list[BaseRoute]:
    record, file = "/data/{name}/r/{record_id}", "/data/{name}/r/{record_id}/file/{field}"
    return [
        Route("/data/{name}", records.grid, methods=GET),
        Route("/data/{name}/new", records.new_record, methods=GET),
        Route("/data/{name}/new", records.save_record, methods=POST),
        Route("/data/{name}/delete", records.delete_selected, methods=POST),
        Route("/data/{name}/search", records.search, methods=GET),
        Route("/data/{name}/import", transfer.import_page, methods=GET),
        Route("/data/{name}/import", transfer.import_csv, methods=POST),
        Route("/data/{name}/import/errors/{error_id}", transfer.import_errors, methods=GET),
        Route("/data/{name}/export", transfer.export, methods=GET),
        Route(record, records.detail, methods=GET),
        Route(f"{record}/edit", records.edit_record, methods=GET),
        Route(f"{record}/edit", records.save_record, methods=POST),
        Route(f"{record}/delete", records.delete_record, methods=POST),
        Route(file, transfer.download_file, methods=GET),
        Route(file, transfer.upload_file, methods=POST),
        Route(f"{file}/remove", transfer.remove_file, methods=POST),
    ]


def access_routes() -> list[BaseRoute]:
    return [
        Route("/access", access.access, methods=GET),
        Route("/access/roles", access.create_role, methods=POST),
        Route("/access/assignments", access.assign, methods=POST),
        Route("/access/principals/{principal_id}", access.update_principal, methods=POST),
        Route("/access/{kind}", access.create_principal, methods=POST),
        Route("/tokens", access.tokens, methods=GET),
        Route("/tokens", access.create_token, methods=POST),
        Route("/tokens/{token_id}/revoke", access.revoke_token, methods=POST),
    ]


def console_routes() -> list[BaseRoute]:
    """`/` redirects to `/console/`; everything else lives under `/console`."""
    pages = [
        Route("/", session.home, methods=GET),
        Route("/login", session.login_page, methods=GET),
        Route("/login", session.login, methods=POST),
        Route("/logout", session.logout, methods=POST),
        *entity_routes(),
        *record_routes(),
        *access_routes(),
        Mount("/static", app=StaticFiles(directory=STATIC), name="console-static"),
        Route("/{rest:path}", session.not_found, methods=GET),
    ]
    return [Route("/", session.root, methods=GET), Mount("/console", routes=pages)]
