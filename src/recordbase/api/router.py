"""Starlette's router, trying only the routes whose templates fit the path's segments.

Starlette tries every route of a list in order, a regex each (and a `get_route_path` each): at the
top of the API's table and inside `/api` that is dozens per request. `IndexedRouter` indexes its
routes once by path segment and, for an HTTP request, tries only the candidates, in declaration
order and with Starlette's rules: the first full match answers, else the first partial one (405).
When neither is found, Starlette's own router takes the request (redirect_slashes, the default
404): a route the index left out cannot match, so it finds what Starlette would.

The index only ever leaves out routes that cannot match. A template segment is a literal, or
parameters of one-segment convertors (`{id}`, also mixed with text as in `{dialect}.json`), which
take one non-empty segment; a route with any other segment (a `:path` parameter), a root mount,
and anything neither a `Route` nor a `Mount` are candidates for every path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette._utils import get_route_path  # what Route.matches and Mount.matches read
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import PARAM_REGEX, BaseRoute, Match, Mount, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

ONE_SEGMENT_CONVERTORS = frozenset({"str", "int", "float", "uuid"})
"""Starlette's convertors that match one whole, non-empty segment (not `path`, nor a custom one)."""

Segments = tuple[str | None, ...]
"""A template's segments below its leading `/`: a literal, or None for a whole-segment parameter."""


def template_segments(template: str) -> Segments | None:
    """The segments of a route template; None when one of them cannot be indexed.

    A segment with parameters whose convertors all take one segment (`{id}`, `{dialect}.json`) is
    indexed as a parameter: it takes exactly one non-empty segment, and the route's own `matches`
    checks the rest (the index may only ever keep a route that cannot match, never leave one out)."""
    found: list[str | None] = []
    for part in template[1:].split("/"):
        convertors = [(match.group(2) or ":str")[1:] for match in PARAM_REGEX.finditer(part)]
        if not convertors:
            found.append(part)
        elif all(c in ONE_SEGMENT_CONVERTORS for c in convertors):
            found.append(None)
        else:
            return None
    return tuple(found)


@dataclass
class _Node:
    """The templates that share their first segments."""

    literals: dict[str, _Node] = field(default_factory=dict)
    parameter: _Node | None = None
    routes: list[int] = field(default_factory=list)
    """Routes whose template ends here: candidates for a path of exactly this many segments."""
    mounts: list[int] = field(default_factory=list)
    """Mounts whose prefix ends here: candidates for any path with at least one segment more."""

    def below(self, segments: Segments) -> _Node:
        node = self
        for segment in segments:
            if segment is None:
                node.parameter = node.parameter or _Node()
                node = node.parameter
            else:
                node = node.literals.setdefault(segment, _Node())
        return node

    def collect(self, parts: list[str], found: list[int]) -> None:
        """Add to `found` the routes and mounts of the templates that fit `parts`, depth by depth
        (a loop, not a recursion: this runs on every request)."""
        nodes = [self]
        for part in parts:
            following = []
            for node in nodes:
                found += node.mounts
                literal = node.literals.get(part)
                if literal is not None:
                    following.append(literal)
                if node.parameter is not None and part:  # a parameter never takes an empty segment
                    following.append(node.parameter)
            nodes = following
        for node in nodes:
            found += node.routes


class SegmentIndex:
    """The routes of a list that could match a path, in the list's order."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self.routes = list(routes)
        self.root = _Node()
        self.always: list[int] = []
        for position, route in enumerate(self.routes):
            self._add(position, route)

    def _add(self, position: int, route: BaseRoute) -> None:
        segments = template_segments(route.path) if isinstance(route, Route | Mount) else None
        if isinstance(route, Route) and segments is not None:
            self.root.below(segments).routes.append(position)
        elif isinstance(route, Mount) and segments is not None and route.path:
            self.root.below(segments).mounts.append(position)
        else:
            self.always.append(position)

    def candidates(self, route_path: str) -> list[BaseRoute]:
        """The routes that could match `route_path` (the path as Starlette's routes read it,
        `get_route_path`), in the list's order: the index only leaves out ones that cannot."""
        found = list(self.always)
        self.root.collect(route_path[1:].split("/"), found)
        return [self.routes[position] for position in sorted(found)]


@dataclass(frozen=True, slots=True)
class _Through:
    """A route of an indexed router under a mount, found with the mount's prefix in one search."""

    route: Route
    depth: int
    """The segments of the mount's prefix."""


class DirectIndex:
    """A router's routes with those of its mounted indexed routers brought up under their mounts'
    prefixes (`/api` + `/EntityService/{entity_name}/read/{record_id}`: one template, one regex), in
    the order Starlette meets them: a mount's routes, then the mount itself, whose full match means
    Starlette would answer from inside it (a 404, a 405). Anything that cannot be brought up stays as
    it is. One search and one match find a route where two routers took two of each."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        entries: list[BaseRoute] = []
        self.through: dict[int, _Through] = {}
        for route in routes:
            if isinstance(route, Mount):
                depth = len(template_segments(route.path) or ())
                for found in _mounted_routes(route):
                    whole = Route(route.path + found.path, found.endpoint, methods=found.methods)
                    self.through[id(whole)] = _Through(found, depth)
                    entries.append(whole)
            entries.append(route)
        self.index = SegmentIndex(entries)


def _mounted_routes(mount: Mount) -> list[Route]:
    """The routes of a mount that can be brought up under its prefix: a mount of an indexed router,
    both with indexable templates only (api/router.py `template_segments`) and no parameter name in
    both; none otherwise."""
    if not (isinstance(mount.app, IndexedRouter) and mount.path and template_segments(mount.path)):
        return []
    inner = [r for r in mount.app.routes if isinstance(r, Route)]
    if len(inner) < len(mount.app.routes) or any(template_segments(r.path) is None for r in inner):
        return []
    taken = set(_parameters(mount.path))
    return [] if any(taken & set(_parameters(r.path)) for r in inner) else inner


def _parameters(template: str) -> list[str]:
    return [match.group(1) for match in PARAM_REGEX.finditer(template)]


class IndexedRouter(Router):
    """A `Router` that finds an HTTP request's route through a `SegmentIndex` of its routes.

    The route list is indexed once, when the router is built: a route added later (`add_route`,
    `mount`) is reached only by Starlette's own search, when the index finds no route at all."""

    def __init__(self, routes: Sequence[BaseRoute], **options: Any) -> None:
        super().__init__(routes, **options)
        self.index = SegmentIndex(self.routes)
        self._direct: DirectIndex | None = None

    def search(self, scope: Scope) -> tuple[BaseRoute, Scope] | None:
        """The route Starlette's router would hand an HTTP `scope` to, and its child scope; None
        where it would find no route (and answer a redirect or its default)."""
        partial: tuple[BaseRoute, Scope] | None = None
        for route in self.index.candidates(get_route_path(scope)):
            match, child = route.matches(scope)
            if match is Match.FULL:
                return route, child
            if match is Match.PARTIAL and partial is None:
                partial = route, child
        return partial

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.search(scope) if scope["type"] == "http" else None
        if found is None:
            await super().app(scope, receive, send)
            return
        route, child = found
        scope.setdefault("router", self)
        scope["route"] = route
        scope.update(child)
        await route.handle(scope, receive, send)

    def resolve(self, scope: Scope) -> tuple[Route, Scope] | None:
        """The route that fully matches an HTTP `scope`, through mounts of indexed routers, and the
        scope Starlette would hand it (`scope` itself is left as it is); None for anything else."""
        if self._direct is None:  # built on first use: a route list is not changed once served
            self._direct = DirectIndex(self.routes)
        route_path = get_route_path(scope)
        for entry in self._direct.index.candidates(route_path):
            match, child = entry.matches(scope)
            if match is not Match.FULL:
                continue  # a partial match (another method) does not stop Starlette's search either
            through = self._direct.through.get(id(entry))
            if through is not None:
                root = scope.get("root_path", "")
                prefix = "/" + "/".join(route_path[1:].split("/", through.depth)[: through.depth])
                mount = {"app_root_path": scope.get("app_root_path", root), "root_path": root + prefix}
                return through.route, {"router": self, **scope, **mount, **child, "route": through.route}
            if isinstance(entry, Route):
                return entry, {"router": self, **scope, **child, "route": entry}
            return None  # a mount answering from inside, or a route of another kind: Starlette's way
        return None


Endpoint = Callable[[Request], Awaitable[Response]]


class DirectDispatch:
    """The innermost middleware: a request for an endpoint that answers every error itself (each
    API endpoint: api/endpoint.py) is handed straight to it, as Starlette's routers would after
    passing the exception middleware, a router, a mount, another router, the route and its
    request/response wrapper (a fifth of a point read's time on SQLite). Everything else takes
    that way, unchanged.

    `endpoints`: those that never let an exception out, so no handler of the app is ever skipped."""

    def __init__(self, app: ASGIApp, router: IndexedRouter, endpoints: Collection[Endpoint]) -> None:
        self.app = app
        self.router = router
        self.endpoints = endpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.router.resolve(scope) if scope["type"] == "http" else None
        if found is None or found[0].endpoint not in self.endpoints:
            await self.app(scope, receive, send)
            return
        scope.update(found[1])
        response = await found[0].endpoint(Request(scope, receive, send))
        await response(scope, receive, send)
