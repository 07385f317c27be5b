"""The indexed router (api/router.py) tries only routes that could match, in declaration order."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Match, Mount, Route, WebSocketRoute

from recordbase.api.router import IndexedRouter, SegmentIndex, template_segments


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
    mixed = Route("/openapi/{dialect}.json", endpoint)
    path = Route("/files/{rest:path}", endpoint)
    root = Mount("", routes=[])
    socket = WebSocketRoute("/ws", endpoint)
    literal = Route("/x", endpoint)
    table: list[BaseRoute] = [mixed, literal, path, root, socket]
    assert candidates(table, "/x") == table
    assert candidates(table, "/y/z") == [mixed, path, root, socket]
    assert [template_segments(t) for t in ("/a/{b}/{c:int}", "/{d}.json", "/{e:path}")] == [
        ("a", None, None),
        None,
        None,
    ]


def test_a_mount_is_a_candidate_below_its_prefix_only() -> None:
    mount = Mount("/{org}/api", routes=[])
    assert candidates([mount], "/acme/api/x") == [mount]
    assert candidates([mount], "/acme/api") == []
    assert candidates([mount], "/acme/other/x") == []
