"""The public surface is documented: a setting, error code, CLI command or route without docs fails here."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import typer.main
from starlette.routing import Mount, Route

from recordbase import errors
from recordbase.api.routes import routes
from recordbase.cli import app
from recordbase.settings import Settings

ROOT = Path(__file__).parent.parent
SOURCE = ROOT / "src" / "recordbase"
DOCS = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.md"))


def documented_codes() -> set[str]:
    return set(re.findall(r"^\| `([A-Z0-9_]+)` \|", (ROOT / "docs" / "errors.md").read_text(), re.MULTILINE))


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "settings.md").read_text()
    missing = [name for name in Settings.model_fields if f"`{name}`" not in text]
    assert not missing


def test_every_error_class_code_is_documented() -> None:
    codes = {
        cls.code
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.RecordbaseError)
    }
    assert codes - documented_codes() == set()


def test_every_field_error_code_is_documented() -> None:
    pattern = re.compile(r'(?:FieldValueError|FieldError|fail)\([^"\n]*"([A-Z][A-Z_]+)"')
    raised = {code for path in SOURCE.rglob("*.py") for code in pattern.findall(path.read_text())}
    assert raised, "the pattern should find the codes the core raises"
    assert raised - documented_codes() == set()


def test_every_cli_command_is_documented() -> None:
    command = typer.main.get_command(app)
    names = []
    for name, sub in command.commands.items():  # type: ignore[attr-defined]
        children = getattr(sub, "commands", None)
        names += [f"recordbase {name} {child}" for child in children] if children else [f"recordbase {name}"]
    missing = [name for name in names if f"`{name}" not in DOCS]
    assert not missing


def route_paths() -> set[str]:
    """Every route's path, below the top-level mount it is served under."""
    found: set[str] = set()
    for route in routes():
        found |= set(below(route.routes)) if isinstance(route, Mount) else {getattr(route, "path", "")}
    return found


def below(routes: list[Any], prefix: str = "") -> list[str]:
    paths: list[str] = []
    for route in routes:
        if isinstance(route, Mount):
            paths += below(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            paths.append(prefix + route.path)
    return paths


def test_every_route_is_documented() -> None:
    def tail(path: str) -> str:
        for prefix in (
            "/EntityService/entity/{entity_id}",
            "/v3/entities/entity/{entity_id}",
            "/EntityService/{entity_name}",
        ):
            if path.startswith(prefix + "/"):
                return path[len(prefix) :]
        return path

    missing = sorted(path for path in route_paths() if f"`{tail(path)}" not in DOCS and path not in DOCS)
    assert not missing
