"""The query parameters each Pipeliner route takes (docs/compat-pipeliner.md, docs/pipeliner.md).

Pipeliner's contract names its parameters exactly, so an unknown one (a typo such as `frist=`, or
`filter` without its `[field]`) is a 400 naming it rather than a silently different answer.
"""

from __future__ import annotations

from starlette.requests import Request

from recordbase.errors import BadRequest

RECORD = frozenset({"expand", "validation-level"})
BATCH = frozenset({"rollback-method", "validation-level"})
LIST = frozenset({"first", "last", "after", "before", "order-by", "load-only", "expand", "include-deleted"})
LIST_PREFIXES = ("filter[", "filter-op[")


def refuse_unknown(request: Request, allowed: frozenset[str], prefixes: tuple[str, ...] = ()) -> None:
    unknown = sorted(
        {
            name
            for name in request.query_params
            if name not in allowed and not (name.startswith(prefixes) and name.endswith("]"))
        }
    )
    if unknown:
        shown = ", ".join(repr(name[:60]) for name in unknown[:10])
        raise BadRequest(
            f"Unknown query parameter(s) {shown}; this route takes {', '.join(sorted(allowed))}."
        )
