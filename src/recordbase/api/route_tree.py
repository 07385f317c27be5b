"""A route list as a tree of mounts by path segment: a request is tried against a few routes
instead of all of them (Starlette tries each in order), with the same answer as the flat list.

Grouping keeps the flat list's meaning only where no route outside a group could match a path
the group's mount takes, so two rules decide it:
- routes sharing a literal first segment go in one mount, placed where the first of them stood,
  when no route of the list starts with a parameter (a literal segment then excludes every other);
- a run of routes at the end of the list that share a parameter first segment (`/{entity_name}/…`)
  goes in one mount (no route after it could have been reached by the paths it takes).
A route whose whole path is the segment stays a plain route beside the mount.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from starlette.routing import BaseRoute, Mount, Route

from recordbase.api.endpoint import Endpoint


@dataclass(frozen=True)
class Leaf:
    """One route to serve: `path` below the mount the tree is built for."""

    path: str
    method: str
    endpoint: Endpoint


def tree(leaves: Sequence[Leaf]) -> list[BaseRoute]:
    return [_route(leaf) if isinstance(leaf, Leaf) else leaf for leaf in _nest(leaves)]


def _route(leaf: Leaf) -> Route:
    return Route(leaf.path, leaf.endpoint, methods=[leaf.method])


def _nest(leaves: Sequence[Leaf]) -> list[Leaf | BaseRoute]:
    if len(leaves) < 3:
        return list(leaves)
    heads = [_head(leaf.path) for leaf in leaves]
    if not any(_is_parameter(head) for head in heads):
        return _by_literal(leaves, heads)
    return _trailing_parameter_run(leaves, heads)


def _by_literal(leaves: Sequence[Leaf], heads: list[str]) -> list[Leaf | BaseRoute]:
    groups: dict[str, list[Leaf]] = {}
    for head, leaf in zip(heads, leaves, strict=True):
        groups.setdefault(head, []).append(leaf)
    return [item for head, members in groups.items() for item in _mounted(head, members)]


def _trailing_parameter_run(leaves: Sequence[Leaf], heads: list[str]) -> list[Leaf | BaseRoute]:
    start = len(leaves)
    while start > 0 and heads[start - 1] == heads[-1] and _is_parameter(heads[-1]):
        start -= 1
    if start == len(leaves):
        return list(leaves)
    return [*leaves[:start], *_mounted(heads[-1], leaves[start:])]


def _mounted(head: str, members: Sequence[Leaf]) -> list[Leaf | BaseRoute]:
    """`members` under `Mount(/head)`, the route for `/head` itself (if any) first, beside it."""
    prefix = "/" + head
    exact = [leaf for leaf in members if leaf.path == prefix]
    below = [
        Leaf(leaf.path[len(prefix) :], leaf.method, leaf.endpoint) for leaf in members if leaf.path != prefix
    ]
    if len(below) < 2:
        return list(members)
    return [*exact, Mount(prefix, routes=tree(below))]


def _head(path: str) -> str:
    return path.split("/", 2)[1]


def _is_parameter(segment: str) -> bool:
    return segment.startswith("{")


IGNORED_PARAMETERS = frozenset({"{org}", "{tenant}"})
"""Path segments whose value no handler reads (every org and tenant name this server's one tenant)."""


def hoisted(routes: Sequence[BaseRoute], head: str, *deeper: str) -> list[BaseRoute]:
    """The same table, with every route that can take a path under `/head/` gathered, in order, into
    one mount placed first, so that a request there skips every other route of the list (and, with
    `deeper`, the same again inside that mount).

    A route starting with `/head` moves in without its prefix (a `/head` mount's own routes move in
    as they are); a route starting with an ignored parameter (`/{org}/…`) can take `/head/…` paths
    too, so a copy without that segment moves in and the route stays outside for every other path.
    Paths outside `/head/` meet the same routes as before, in the same order. Any other parameter
    first segment would lose its value in a copy: the table is then left as it is."""
    prefix = "/" + head
    inside: list[BaseRoute] = []
    outside: list[BaseRoute] = []
    for route in routes:
        path = getattr(route, "path", "")
        first = _head(path) if len(path) > 1 else ""
        if path == prefix and isinstance(route, Mount):
            inside += route.routes
        elif first == head and path != prefix:
            inside.append(_without_first_segment(route))
        elif _is_parameter(first):
            if first not in IGNORED_PARAMETERS:
                return list(routes)
            inside.append(_without_first_segment(route))
            outside.append(route)
        else:
            outside.append(route)
    if deeper:
        inside = hoisted(inside, *deeper)
    return [Mount(prefix, routes=inside), *outside]


def _without_first_segment(route: BaseRoute) -> BaseRoute:
    path = getattr(route, "path", "")
    rest = "/" + path.split("/", 2)[2]
    if isinstance(route, Mount):
        return Mount(rest, app=route.app, name=route.name)
    assert isinstance(route, Route)
    return Route(rest, route.endpoint, methods=sorted(route.methods or ()), name=route.name)
