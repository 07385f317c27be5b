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
