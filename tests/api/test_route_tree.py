"""The served route tree (api/route_tree.py) answers every path as the flat route table would."""

from __future__ import annotations

import itertools
import re
from typing import Any

from starlette.routing import BaseRoute, Match, Mount, Route

from recordbase.api.fallback import allowed_methods
from recordbase.api.route_tree import Leaf, tree
from recordbase.api.routes import GROUPS, described, flat_routes, routes

SAMPLES = ("Item", "entity", "choiceset", "read", "metadata", "v3", "3f2c8a9e-1b7d-4c6e-9a0f-2d4b6c8e0a1b")


def resolve(routes: list[BaseRoute], scope: dict[str, Any]) -> tuple[object, dict[str, Any]] | None:
    """The endpoint Starlette's router would run for `scope` (the first full match, descending into
    mounts) and its path parameters; None where it finds none. Which 404 or 405 then answers comes
    from `allowed_methods` over the whole tree (api/fallback.py), compared separately."""
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL and isinstance(route, Mount):
            return resolve(list(route.routes), {**scope, **child})
        if match is Match.FULL and isinstance(route, Route):
            return route.endpoint, child["path_params"]
    return None


def paths(template: str) -> list[str]:
    """Concrete paths for a template: each parameter takes each sample value (bounded)."""
    names = re.findall(r"{([^}]+)}", template)
    found = []
    for values in itertools.islice(itertools.product(SAMPLES, repeat=len(names)), 60):
        path = template
        for value in values:
            path = re.sub(r"{[^}]+}", value, path, count=1)
        found.append(path)
    return found


def test_the_tree_answers_every_path_as_the_flat_list() -> None:
    for group in GROUPS:
        if not group.mounts:
            continue
        leaves = [Leaf(op.path, op.method, op.endpoint) for op in group.operations]
        flat: list[BaseRoute] = [Route(leaf.path, leaf.endpoint, methods=[leaf.method]) for leaf in leaves]
        nested = tree(leaves)
        for leaf, method in itertools.product(leaves, ("GET", "POST", "PATCH", "DELETE")):
            for path in paths(leaf.path):
                scope = {"type": "http", "method": method, "path": path, "root_path": "", "path_params": {}}
                assert resolve(nested, scope) == resolve(flat, scope), (method, path)
                assert allowed_methods(nested, path) == allowed_methods(flat, path), path


def test_record_routes_sit_a_few_matches_deep() -> None:
    """The reason for the tree: a by-name read meets a handful of routes, not every route."""
    api = next(group for group in GROUPS if "/api" in group.mounts)
    nested = tree([Leaf(op.path, op.method, op.endpoint) for op in api.operations])
    assert len(nested) < 10 < len(api.operations)


def test_the_served_table_answers_every_path_as_the_flat_table() -> None:
    """`routes()` gathers the record API first (`hoisted`); every declared path, under every prefix,
    and paths whose org is `api`, reach the same endpoint (path parameters but org and tenant kept)."""
    flat, served = flat_routes(), routes()
    prefixes = (
        "",
        "/acme/t1/dataservice_/api",
        "/api/t1/datafabric_/api",
        "/api/EntityService/dataservice_/api",
    )
    templates = {op.path for op in described()}
    for template, prefix, method in itertools.product(templates, prefixes, ("GET", "POST", "DELETE")):
        for path in paths(template)[:12]:
            concrete = prefix + path.removeprefix("/api") if prefix else path
            scope = {"type": "http", "method": method, "path": concrete, "root_path": "", "path_params": {}}
            assert same(resolve(served, scope)) == same(resolve(flat, scope)), (method, concrete)
            assert allowed_methods(served, concrete) == allowed_methods(flat, concrete), concrete


def same(found: tuple[object, dict[str, Any]] | None) -> tuple[object, dict[str, Any]] | None:
    """What must not change: the endpoint, and the parameters a handler may read."""
    if found is None:
        return None
    endpoint, params = found
    return endpoint, {k: v for k, v in params.items() if k not in ("org", "tenant")}
