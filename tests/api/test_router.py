"""The indexed router (api/router.py) answers every path as Starlette's linear scan of the same table,
and tries only a few routes to do it."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.routing import BaseRoute, Match, Mount, Route, Router, WebSocketRoute

from recordbase.api.router import IndexedRouter, SegmentIndex, template_segments
from recordbase.api.routes import described, routes
from recordbase.console import console_routes

pytestmark = pytest.mark.anyio
SAMPLES = ("Item", "entity", "choiceset", "read", "api", "v3", "3f2c8a9e-1b7d-4c6e-9a0f-2d4b6c8e0a1b")
ORG_PREFIXES = ("/acme/t1/dataservice_/api", "/api/t1/datafabric_/api", "/api/EntityService/dataservice_/api")
"""Where the `/api` routes are served again; an org or tenant named like a literal segment included."""


async def endpoint(scope: Any, receive: Any, send: Any) -> None:
    """Never called: these tests ask which route a request would reach."""


# The index ---------------------------------------------------------------------------------------


def candidates(table: list[BaseRoute], path: str) -> list[BaseRoute]:
    """The index's candidates, checked to leave out only routes that cannot match `path`."""
    found = SegmentIndex(table).candidates(path)
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "path_params": {}}
    left_out = [route for route in table if route not in found]
    assert all(route.matches(scope)[0] is Match.NONE for route in left_out), path
    assert found == [route for route in table if route in found]  # declaration order
    return found


def test_a_parameter_route_declared_first_stays_first() -> None:
    by_parameter, literal = Route("/a/{x}", endpoint), Route("/a/b", endpoint)
    assert candidates([by_parameter, literal], "/a/b") == [by_parameter, literal]
    scope = {"type": "http", "method": "GET", "path": "/a/b", "root_path": "", "path_params": {}}
    found = IndexedRouter([by_parameter, literal]).search(scope)
    assert found is not None and found[0] is by_parameter


def test_a_literal_and_a_parameter_are_both_candidates() -> None:
    literal, parameter, other = Route("/a/b", endpoint), Route("/{x}/b", endpoint), Route("/a/c", endpoint)
    table: list[BaseRoute] = [literal, parameter, other]
    assert candidates(table, "/a/b") == [literal, parameter]
    assert candidates(table, "/z/b") == [parameter]
    assert candidates(table, "/a/b/c") == []


def test_a_trailing_slash_is_one_more_empty_segment() -> None:
    bare, slashed, mount = Route("/a", endpoint), Route("/a/", endpoint), Mount("/a", routes=[])
    table: list[BaseRoute] = [bare, slashed, mount]
    assert candidates(table, "/a") == [bare]
    assert candidates(table, "/a/") == [slashed, mount]
    assert candidates(table, "/a/x") == [mount]


def test_a_parameter_never_takes_an_empty_segment() -> None:
    parameter, literal = Route("/a/{x}/b", endpoint), Route("/a//b", endpoint)
    assert candidates([parameter, literal], "/a//b") == [literal]
    assert candidates([parameter, literal], "/a/x/b") == [parameter]


def test_what_the_index_cannot_place_is_always_a_candidate() -> None:
    path = Route("/files/{rest:path}", endpoint)
    root = Mount("", routes=[])
    socket = WebSocketRoute("/ws", endpoint)
    literal = Route("/x", endpoint)
    table: list[BaseRoute] = [literal, path, root, socket]
    assert candidates(table, "/x") == table
    assert candidates(table, "/y/z") == [path, root, socket]
    assert [template_segments(t) for t in ("/a/{b}/{c:int}", "/{d}.json", "/{e:path}", "/{f}.{g:path}")] == [
        ("a", None, None),
        (None,),
        None,
        None,
    ]


def test_text_mixed_with_a_parameter_is_placed_as_a_parameter() -> None:
    """`{dialect}.json` takes exactly one non-empty segment: a candidate for that segment only, and
    its own regex decides (`x.yaml` is a candidate the route then refuses)."""
    mixed = Route("/openapi/{dialect}.json", endpoint)
    two = Route("/v/{major:int}.{minor:int}", endpoint)
    literal = Route("/openapi/x", endpoint)
    table: list[BaseRoute] = [mixed, two, literal]
    assert candidates(table, "/openapi/uipath.json") == [mixed]
    assert candidates(table, "/openapi/x") == [mixed, literal]
    assert candidates(table, "/openapi/x.yaml") == [mixed]
    assert candidates(table, "/openapi") == []
    assert candidates(table, "/openapi/a/b.json") == []
    assert candidates(table, "/v/1.2") == [two]
    assert candidates(table, "/x/uipath.json") == []


def test_a_mount_is_a_candidate_below_its_prefix_only() -> None:
    mount = Mount("/{org}/api", routes=[])
    assert candidates([mount], "/acme/api/x") == [mount]
    assert candidates([mount], "/acme/api") == []
    assert candidates([mount], "/acme/other/x") == []


# The served table --------------------------------------------------------------------------------


def served() -> IndexedRouter:
    """The router app.py serves: the route table and the console's routes."""
    return IndexedRouter([*routes(), *console_routes()])


def linear(table: list[BaseRoute]) -> list[BaseRoute]:
    """The same route objects under Starlette's own routers: every list scanned in order."""
    return [
        Mount(route.path, routes=linear(route.routes), name=route.name)
        if isinstance(route, Mount) and isinstance(route.app, Router)
        else route
        for route in table
    ]


def templates(table: list[BaseRoute], prefix: str = "") -> Iterator[str]:
    for route in table:
        if isinstance(route, Mount):
            yield from templates(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            yield prefix + route.path


def paths(template: str) -> list[str]:
    """Concrete paths for a template: each parameter takes each sample value (bounded)."""
    names = re.findall(r"{([^}]+)}", template)
    found = []
    for values in itertools.islice(itertools.product(SAMPLES, repeat=len(names)), 6):
        path = template
        for value in values:
            path = re.sub(r"{[^}]+}", value, path, count=1)
        found.append(path)
    return found


def every_path() -> set[str]:
    """Every served template's paths, the record API's under the org prefixes too, with and without
    a trailing slash; and a few a client could send by mistake."""
    found = {"/", "//", "/api", "/api/", "/api//EntityService", "/console", "/nowhere/at/all"}
    api = [op.path.removeprefix("/api") for op in described() if op.path.startswith("/api/")]
    for template in [*templates(served().routes), *(p + t for p, t in itertools.product(ORG_PREFIXES, api))]:
        for path in paths(template):
            found |= {path, path.rstrip("/") + "/"}
    return found


@pytest.fixture
def handled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Routes note in the scope what they were handed instead of running their endpoint."""

    async def handle(self: Route, scope: dict[str, Any], receive: Any, send: Any) -> None:
        full = self.methods is None or scope["method"] in self.methods
        scope["handled"] = (self.endpoint, self.methods, full, scope["path_params"], scope["root_path"])

    monkeypatch.setattr(Route, "handle", handle)


async def dispatch(router: Router, method: str, path: str) -> object:
    """What the route that took the request would run (its endpoint, or a 405 with its methods),
    with which path parameters and mounts' `root_path`; else the status and `location` the router
    answered itself."""
    scope: dict[str, Any] = {"type": "http", "method": method, "path": path, "root_path": "",
                             "path_params": {}, "headers": [], "query_string": b"", "scheme": "http",
                             "server": ("test", 80)}  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await router(scope, receive, send)
    if "handled" in scope:
        return scope["handled"]
    start = sent[0]
    return start["status"], dict(start["headers"]).get(b"location")


@pytest.mark.usefixtures("handled")
async def test_the_served_table_answers_every_path_as_a_linear_scan() -> None:
    """Same endpoint or 405 with the same methods, same path parameters, same `root_path` (what
    RouteTemplates reads), same redirect or 404, for every declared path under every prefix. (A 405's
    complete `Allow`, api/fallback.py, comes from the table, the same one either way.)"""
    indexed = served()
    plain = Router(linear(indexed.routes))
    checked = 0
    for path, method in itertools.product(sorted(every_path()), ("GET", "POST", "DELETE")):
        assert await dispatch(indexed, method, path) == await dispatch(plain, method, path), (method, path)
        checked += 1
    assert checked > 5000


@pytest.mark.usefixtures("handled")
async def test_resolve_finds_what_the_routers_would_hand_a_route() -> None:
    """`resolve` (what `DirectDispatch` calls endpoints by): for every path it resolves, the same
    endpoint, path parameters and `root_path` as Starlette's routers, through mounts; and it resolves
    no request they would not hand to a route in full (a 405, a redirect, a 404)."""
    indexed = served()
    plain = Router(linear(indexed.routes))
    resolved = 0
    for path, method in itertools.product(sorted(every_path()), ("GET", "POST", "DELETE")):
        scope: dict[str, Any] = {"type": "http", "method": method, "path": path, "root_path": "",
                                 "path_params": {}}  # fmt: skip
        found = indexed.resolve(scope)
        assert scope == {"type": "http", "method": method, "path": path, "root_path": "", "path_params": {}}
        if found is None:
            continue
        route, child = found
        assert child["route"] is route and child["router"] is indexed
        got = (route.endpoint, route.methods, True, child["path_params"], child["root_path"])
        assert got == await dispatch(plain, method, path), (method, path)
        resolved += 1
    assert resolved > 2000


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[BaseRoute]:
    """Every route whose `matches` is called, in order."""
    calls: list[BaseRoute] = []
    for kind in (Route, Mount):
        original = kind.matches

        def matches(self: BaseRoute, scope: Any, original: Any = original) -> tuple[Match, Any]:
            calls.append(self)
            return original(self, scope)  # type: ignore[no-any-return]

        monkeypatch.setattr(kind, "matches", matches)
    return calls


@pytest.mark.usefixtures("handled")
async def test_a_record_read_tries_two_routes(counted: list[BaseRoute]) -> None:
    """The point of the index: a record read meets the route it takes and the mount above it, not the
    whole table (nor the OpenAPI dialect route `{dialect}.json`, placed by its one segment)."""
    uuid = SAMPLES[-1]
    reads = (
        f"/api/EntityService/Item/read/{uuid}",
        f"/acme/t1/dataservice_/api/EntityService/Item/read/{uuid}",
        f"/api/v100/rest/spaces/s1/entities/Item/{uuid}",
    )
    for path in reads:
        counted.clear()
        found = await dispatch(served(), "GET", path)
        assert isinstance(found, tuple) and found[2] is True, path
        assert len(counted) <= 2, [getattr(route, "path", route) for route in counted]
    counted.clear()
    await dispatch(Router(linear(served().routes)), "GET", reads[0])
    assert len(counted) > 10  # what Starlette's linear scan tries for the same read
