"""Layering held by rules: no import cycles between recordbase's modules (a lazy import inside a
function counts too), and the ruff bans of core/ and api/ (their ruff.toml) are in force."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "src" / "recordbase"
LAZY_DRIVERS = {("recordbase.storage.database", "recordbase.storage.postgres"),
                ("recordbase.storage.database", "recordbase.storage.sqlite")}  # fmt: skip
"""Imports that load only the database driver in use; the drivers import `database` back."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imported(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names}
            found |= submodules if submodules <= MODULES.keys() else {node.module}
    return {name for name in found if name in MODULES}


def graph() -> dict[str, set[str]]:
    edges = {name: imported(path) - {name} for name, path in MODULES.items()}
    for source, target in LAZY_DRIVERS:
        edges[source].discard(target)
    return edges


def cycle_from(start: str, edges: dict[str, set[str]]) -> list[str] | None:
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for target in sorted(edges[node]):
            if target == start:
                return [*path, start]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*path, target]))
    return None


def test_no_import_cycles() -> None:
    edges = graph()
    assert edges["recordbase.cli"] and edges["recordbase.api.dataservice.records"]
    cycles = [found for name in sorted(edges) if (found := cycle_from(name, edges))]
    assert cycles == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycle_from("a", {"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_core_and_api_bans_are_in_force(tmp_path: Path) -> None:
    probe = "from starlette.requests import Request\nfrom recordbase.storage import database\n"
    found = {}
    for package in ("core", "api"):
        target = PACKAGE / package / "zz_layering_probe.py"
        target.write_text(probe + "\nprint(Request, database)\n", encoding="utf-8")
        try:
            done = subprocess.run(
                [sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "TID251", str(target)],
                capture_output=True, text=True, cwd=ROOT, check=False,
            )  # fmt: skip
        finally:
            target.unlink()
        found[package] = done.stdout
    assert "`starlette` is banned" in found["core"] and "`recordbase.storage` is banned" in found["core"]
    assert "`recordbase.storage` is banned" in found["api"] and "`starlette` is banned" not in found["api"]
