"""Parse the OData subset the list endpoint accepts (`$filter`, `$orderby`, `$select`, `$expand`).

Grammar (anything else is an `INVALID_QUERY` naming the position):

    expr       := and_expr ("or" and_expr)*
    and_expr   := unary ("and" unary)*
    unary      := "not" call | primary
    primary    := "(" expr ")" | call | path op literal | path "in" "(" literal ("," literal)* ")"
    call       := ("contains" | "startswith" | "endswith") "(" path "," literal ")"
    op         := eq | ne | gt | lt | ge | le
    literal    := 'text' ('' escapes a quote) | number | true | false | null | date | date-time | guid
    path       := name (("/" | ".") name)*

`not` only negates `contains` (-> "not contains"), the one negation the UiPath operator set has.
Paging comes from `start`/`limit` (the UiPath list parameters) or `$skip`/`$top`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import NoReturn

from recordbase.core.query.ast import Condition, Group, Logic, Node, Operator, Query, Sort, WireValue
from recordbase.core.query.limits import (
    DEFAULT_LIMITS,
    QueryLimits,
    check_complexity,
    page_limit,
    page_start,
    raise_collected,
    too_deep,
)
from recordbase.errors import FieldError, InvalidQuery, QueryTooComplex

TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?![\w-])
    | (?P<date>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)(?![\w.:-])
    | (?P<number>-?\d+(?:\.\d+)?)(?![\w.])
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:[./][A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)
COMPARISONS = {
    "eq": Operator.EQ,
    "ne": Operator.NE,
    "gt": Operator.GT,
    "lt": Operator.LT,
    "ge": Operator.GE,
    "le": Operator.LE,
}
FUNCTIONS = {
    "contains": Operator.CONTAINS,
    "startswith": Operator.STARTS_WITH,
    "endswith": Operator.ENDS_WITH,
}
KEYWORDS = {"true": True, "false": False}
INTEGER = re.compile(r"^-?[0-9]+$")
NAME_LIST = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:[./][A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int


def tokenize(text: str) -> list[Token]:
    """Split a `$filter` into tokens; an unknown character is an error at its position."""
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            if text[position:].strip() == "":
                break
            position += len(text[position:]) - len(text[position:].lstrip())
            excerpt = text[position : position + 20]
            raise InvalidQuery(f"$filter: unexpected text at position {position}: {excerpt!r}")
        kind = match.lastgroup
        tokens.append(Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent over the tokens of one `$filter`."""

    def __init__(self, text: str, limits: QueryLimits) -> None:
        self.tokens = tokenize(text)
        self.index = 0
        self.limits = limits
        self.parens = 0

    def parse(self) -> Node:
        node = self.expr()
        if self.peek() is not None:
            self.fail("expected 'and', 'or' or the end")
        return node

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise InvalidQuery("$filter: unexpected end of the expression.")
        self.index += 1
        return token

    def fail(self, expected: str) -> NoReturn:
        token = self.peek()
        where = f"at position {token.position} ({token.text!r})" if token else "at the end"
        raise InvalidQuery(f"$filter: {expected} {where}.")

    def accept(self, kind: str, text: str | None = None) -> bool:
        token = self.peek()
        if token is not None and token.kind == kind and (text is None or token.text == text):
            self.index += 1
            return True
        return False

    def expect(self, kind: str, text: str) -> None:
        if not self.accept(kind, text):
            self.fail(f"expected {text!r}")

    def expr(self) -> Node:
        children = [self.and_expr()]
        while self.accept("name", "or"):
            children.append(self.and_expr())
        return joined(Logic.OR, children)

    def and_expr(self) -> Node:
        children = [self.unary()]
        while self.accept("name", "and"):
            children.append(self.unary())
        return joined(Logic.AND, children)

    def unary(self) -> Node:
        if self.accept("name", "not"):
            token = self.peek()
            if token is None or token.text != "contains":
                self.fail("'not' applies only to contains(...); expected 'contains'")
            return self.call(Operator.NOT_CONTAINS)
        return self.primary()

    def primary(self) -> Node:
        if self.accept("punct", "("):
            self.parens += 1
            if self.parens > self.limits.max_depth:
                raise too_deep(self.limits)
            node = self.expr()
            self.expect("punct", ")")
            self.parens -= 1
            return node
        token = self.peek()
        if token is not None and token.kind == "name" and token.text in FUNCTIONS:
            return self.call(FUNCTIONS[token.text])
        following = self.tokens[self.index + 1] if self.index + 1 < len(self.tokens) else None
        if token is not None and following is not None and following.text == "(":
            supported = ", ".join(FUNCTIONS)
            raise InvalidQuery(
                f"$filter: function '{token.text}' at position {token.position} is not supported; "
                f"use {supported}."
            )
        return self.comparison()

    def call(self, operator: Operator) -> Condition:
        self.take()
        self.expect("punct", "(")
        path = self.path()
        self.expect("punct", ",")
        value = self.literal()
        self.expect("punct", ")")
        if value is None:
            raise InvalidQuery(f"$filter: {operator}({'.'.join(path)}, null) needs a non-null value.")
        return Condition(path, operator, value)

    def comparison(self) -> Condition:
        path = self.path()
        token = self.take()
        if token.kind == "name" and token.text == "in":
            return Condition(path, Operator.IN, values=self.literal_list(path))
        operator = COMPARISONS.get(token.text) if token.kind == "name" else None
        if operator is None:
            self.index -= 1
            self.fail("expected one of eq, ne, gt, lt, ge, le, in")
        value = self.literal()
        if value is None and operator not in (Operator.EQ, Operator.NE):
            name = ".".join(path)
            raise InvalidQuery(f"$filter: '{token.text} null' on '{name}'; only eq and ne take null.")
        return Condition(path, operator, value)

    def path(self) -> tuple[str, ...]:
        token = self.peek()
        if token is None or token.kind != "name" or token.text in KEYWORDS or token.text == "null":
            self.fail("expected a field name")
        return tuple(re.split(r"[./]", self.take().text))

    def literal(self) -> WireValue | None:
        token = self.take()
        if token.kind == "string":
            return token.text[1:-1].replace("''", "'")
        if token.kind == "number":
            return Decimal(token.text)
        if token.kind in ("date", "guid"):
            return token.text
        if token.kind == "name" and token.text in KEYWORDS:
            return KEYWORDS[token.text]
        if token.kind == "name" and token.text == "null":
            return None
        self.index -= 1
        self.fail("expected a literal ('text', number, true, false, null, date or guid)")

    def literal_list(self, path: tuple[str, ...]) -> tuple[WireValue, ...]:
        self.expect("punct", "(")
        values = [self.literal()]
        while self.accept("punct", ","):
            values.append(self.literal())
        self.expect("punct", ")")
        if any(value is None for value in values):
            raise InvalidQuery(f"$filter: the 'in' list of '{'.'.join(path)}' may not contain null.")
        if len(values) > self.limits.max_list:
            raise QueryTooComplex(
                f"$filter: the 'in' list of '{'.'.join(path)}' has over {self.limits.max_list} values."
            )
        return tuple(value for value in values if value is not None)


def joined(logic: Logic, children: list[Node]) -> Node:
    """One child stays itself; nested groups of the same operator are flattened into this one."""
    if len(children) == 1:
        return children[0]
    flat: list[Node] = []
    for child in children:
        if isinstance(child, Group) and child.logic is logic:
            flat.extend(child.children)
        else:
            flat.append(child)
    return Group(logic, tuple(flat))


def parse_filter(text: str, limits: QueryLimits = DEFAULT_LIMITS) -> Node | None:
    """The AST of a `$filter` expression; None when it is blank."""
    if not text.strip():
        return None
    node = _Parser(text, limits).parse()
    check_complexity(node, limits)
    return node


def parse_orderby(text: str) -> tuple[Sort, ...]:
    """`a desc, b` -> (Sort(a, True), Sort(b)); direction words are `asc` and `desc`."""
    sorts: list[Sort] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        words = item.split()
        direction = words[1] if len(words) == 2 else "asc"
        if len(words) > 2 or direction not in ("asc", "desc") or not NAME_LIST.match(words[0]):
            expected = "'field', 'field asc' or 'field desc'"
            raise InvalidQuery(f"$orderby: cannot read {item!r}; expected {expected}.")
        sorts.append(Sort(tuple(re.split(r"[./]", words[0])), direction == "desc"))
    return tuple(sorts)


def parse_names(text: str, parameter: str) -> tuple[str, ...]:
    """A comma list of (dotted) names, as `$select` and `$expand` take; `*` alone means none given."""
    names = [part.strip().replace("/", ".") for part in text.split(",") if part.strip()]
    if names == ["*"]:
        return ()
    for name in names:
        if not NAME_LIST.match(name):
            message = f"{parameter}: {name!r} is not a field name (options like '(...)' are not supported)."
            raise InvalidQuery(message)
    return tuple(dict.fromkeys(names))


def parse_odata(params: Mapping[str, str], limits: QueryLimits = DEFAULT_LIMITS) -> Query:
    """The AST of a list request's query parameters (`$filter`, `$orderby`, ..., `start`, `limit`)."""
    errors: list[FieldError] = []
    start = _integer(params, ("start", "$skip"), errors)
    limit = _integer(params, ("limit", "$top"), errors)
    query = Query(
        filter=parse_filter(params.get("$filter", ""), limits),
        sort=parse_orderby(params.get("$orderby", "")),
        select=parse_names(params.get("$select", ""), "$select") or None,
        start=page_start(start, "start", errors),
        limit=page_limit(limit, "limit", limits, errors),
        expand=parse_names(params.get("$expand", ""), "$expand"),
    )
    raise_collected(errors)
    return query


def _integer(params: Mapping[str, str], names: tuple[str, ...], errors: list[FieldError]) -> int | None:
    """The first of `names` given, as an int (the range is checked by the caller)."""
    raw = next((params[name] for name in names if name in params), None)
    if raw is None:
        return None
    text = raw.strip()
    if INTEGER.match(text) and len(text) <= 20:  # longer is out of every range (and slow to convert)
        return int(text)
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    errors.append(
        FieldError(names[0], "INVALID_PARAMETER", f"'{names[0]}' must be an integer, not {shown!r}.")
    )
    return None
