"""Query parsing (UiPath bodies, OData parameters) and planning against a schema: pure, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from recordbase.core.query import (
    Condition,
    Group,
    Logic,
    Operator,
    Query,
    Sort,
    cursor_of,
    decode_cursor,
    encode_cursor,
    matches,
    matrix_markdown,
    parse_odata,
    parse_query,
    plan_query,
    sort_key,
)
from recordbase.core.query.limits import QueryLimits
from recordbase.core.query.plan import Plan, Predicate
from recordbase.core.schema import ChoiceSet, ChoiceValue, Entity, Field, FieldType, Schema
from recordbase.errors import InvalidCursor, InvalidQuery, QueryTooComplex

REGION = Entity(
    id="00000000-0000-0000-0000-0000000000a1",
    name="Region",
    fields=(Field(id="r1", name="Name", type=FieldType.TEXT),),
)
CUSTOMER = Entity(
    id="00000000-0000-0000-0000-0000000000a2",
    name="Customer",
    fields=(
        Field(id="c1", name="Country", type=FieldType.TEXT),
        Field(id="c2", name="Region", type=FieldType.RELATIONSHIP, reference_entity="Region"),
    ),
)
ORDER = Entity(
    id="00000000-0000-0000-0000-0000000000a3",
    name="Order",
    fields=(
        Field(id="o1", name="Title", type=FieldType.TEXT),
        Field(id="o2", name="Qty", type=FieldType.INTEGER),
        Field(id="o3", name="Price", type=FieldType.DECIMAL, decimal_places=2),
        Field(id="o4", name="Paid", type=FieldType.BOOLEAN),
        Field(id="o5", name="Due", type=FieldType.DATE),
        Field(id="o6", name="At", type=FieldType.DATETIME),
        Field(id="o7", name="Status", type=FieldType.CHOICE_SET, choice_set_id="cs1"),
        Field(id="o8", name="Tags", type=FieldType.MULTI_CHOICE_SET, choice_set_id="cs1"),
        Field(id="o9", name="Customer", type=FieldType.RELATIONSHIP, reference_entity="Customer"),
        Field(id="o10", name="Doc", type=FieldType.FILE),
        Field(id="o11", name="Ref", type=FieldType.UUID),
    ),
)
COLORS = ChoiceSet(
    id="cs1",
    name="Colors",
    values=tuple(ChoiceValue(id=f"v{n}", name=f"c{n}", display_name="", number_id=n) for n in range(4)),
)
SCHEMA = Schema(version=1, entities=(REGION, CUSTOMER, ORDER), choice_sets=(COLORS,))


def body(*filters: dict[str, Any], logic: int = 0, **extra: Any) -> dict[str, Any]:
    return {"filterGroup": {"logicalOperator": logic, "queryFilters": list(filters)}, **extra}


def where(name: str, operator: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    found = {"fieldName": name, "operator": operator, **extra}
    if value is not None:
        found["value"] = value
    return found


def plan(*filters: dict[str, Any], level: int = 2, **extra: Any) -> Plan:
    return plan_query(parse_query(body(*filters, **extra)), ORDER, SCHEMA, expansion_level=level)


def planning_errors(*filters: dict[str, Any], level: int = 2, **extra: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidQuery) as caught:
        plan(*filters, level=level, **extra)
    return [(e.field, e.code) for e in caught.value.errors]


def only_predicate(found: Plan) -> Predicate:
    assert found.filter is not None and not isinstance(found.filter, Predicate)
    (predicate,) = found.filter.children
    assert isinstance(predicate, Predicate)
    return predicate


# --- UiPath bodies -------------------------------------------------------------------------------


def test_simple_body_parses_to_an_and_group() -> None:
    query = parse_query(body(where("Title", "=", "active")))
    assert query.filter == Group(Logic.AND, (Condition(("Title",), Operator.EQ, "active"),))
    assert (query.start, query.limit, query.sort, query.select) == (0, 100, (), None)


def test_documented_or_of_groups() -> None:
    raw = {
        "filterGroup": {
            "logicalOperator": 1,
            "filterGroups": [
                {"logicalOperator": 0, "queryFilters": [where("A", "=", "1"), where("B", ">", "2")]},
                {"logicalOperator": 0, "queryFilters": [where("C", "=", "3")]},
            ],
        }
    }
    query = parse_query(raw)
    a, b, c = (
        Condition((n,), op, v)
        for n, op, v in (("A", Operator.EQ, "1"), ("B", Operator.GT, "2"), ("C", Operator.EQ, "3"))
    )
    assert query.filter == Group(Logic.OR, (Group(Logic.AND, (a, b)), Group(Logic.AND, (c,))))


def test_continue_operator_joins_a_group_to_what_precedes_it_with_and_binding_tighter() -> None:
    raw = {
        "filterGroup": {
            "logicalOperator": 0,
            "queryFilters": [where("A", "=", "1"), where("B", "=", "2")],
            "filterGroups": [
                {"continueLogicalOperator": 1, "queryFilters": [where("C", "=", "3")]},
                {"continueLogicalOperator": 0, "queryFilters": [where("D", "=", "4")]},
            ],
        }
    }
    query = parse_query(raw)
    a, b, c, d = (Condition((n,), Operator.EQ, v) for n, v in zip("ABCD", "1234", strict=True))
    group_c, group_d = Group(Logic.AND, (c,)), Group(Logic.AND, (d,))
    assert query.filter == Group(Logic.OR, (Group(Logic.AND, (a, b)), Group(Logic.AND, (group_c, group_d))))


def test_null_entries_empty_groups_and_string_logic_are_accepted() -> None:
    raw = {"filterGroup": {"logicalOperator": "OR", "queryFilters": [None], "filterGroups": [None, {}]}}
    assert parse_query(raw).filter is None
    assert parse_query({}).filter is None


@pytest.mark.parametrize(
    "operator", ["=", "!=", ">", "<", ">=", "<=", "contains", "not contains", "startswith", "endswith"]
)
def test_every_single_value_operator(operator: str) -> None:
    query = parse_query(body(where("Title", operator, "x")))
    assert query.filter == Group(Logic.AND, (Condition(("Title",), Operator(operator), "x"),))


@pytest.mark.parametrize("operator", ["in", "not in"])
def test_list_operators_take_value_list(operator: str) -> None:
    query = parse_query(body(where("Title", operator, valueList=["a", "b"])))
    assert query.filter == Group(Logic.AND, (Condition(("Title",), Operator(operator), None, ("a", "b")),))


@pytest.mark.parametrize("operator", ["equals", "==", "like", "Equals", "CONTAINS", 3, None])
def test_unknown_operators_are_refused(operator: object) -> None:
    with pytest.raises(InvalidQuery) as caught:
        parse_query(body({"fieldName": "Title", "operator": operator, "value": "x"}))
    assert caught.value.code == "INVALID_QUERY"
    assert caught.value.errors[0].code == "INVALID_OPERATOR"
    assert "Title" in caught.value.message


@pytest.mark.parametrize(
    "condition",
    [
        where("Title", "in"),
        where("Title", "in", valueList=[]),
        where("Title", "not in", "a", valueList=["a"]),
        where("Title", "=", "a", valueList=["a"]),
        where("Title", "=", valueList=["a"]),
        where("Title", ">"),
        where("Title", "contains"),
        where("Title", "in", valueList=["a", None]),
    ],
)
def test_operand_rules(condition: dict[str, Any]) -> None:
    with pytest.raises(InvalidQuery) as caught:
        parse_query(body(condition))
    assert caught.value.errors[0].field == "Title"


def test_equals_without_value_is_a_null_check() -> None:
    query = parse_query(body(where("Title", "="), where("Qty", "!=", None)))
    assert query.filter == Group(
        Logic.AND, (Condition(("Title",), Operator.EQ), Condition(("Qty",), Operator.NE))
    )


def test_all_problems_are_reported_together() -> None:
    raw = body(where("A", "like", "x"), where("B", ">"), limit=5000, start=-1, sortOptions=[{"fieldName": 3}])
    with pytest.raises(InvalidQuery) as caught:
        parse_query(raw)
    codes = {e.code for e in caught.value.errors}
    assert codes == {"INVALID_OPERATOR", "INVALID_OPERAND", "INVALID_LIMIT", "INVALID_START", "INVALID_SORT"}


def test_paging_sorting_and_projection() -> None:
    query = parse_query(
        {
            "start": 20,
            "limit": 0,
            "sortOptions": [{"fieldName": "Customer.Country", "isDescending": True}, {"fieldName": "Qty"}],
            "selectedFields": ["Title", "Qty", "Title"],
        }
    )
    assert query.start == 20 and query.limit == 100
    assert query.sort == (Sort(("Customer", "Country"), True), Sort(("Qty",), False))
    assert query.select == ("Title", "Qty")
    assert parse_query({"selectedFields": []}).select is None
    assert parse_query({"limit": 1000}).limit == 1000


@pytest.mark.parametrize("raw", [[], "x", None, 3])
def test_body_must_be_an_object(raw: object) -> None:
    with pytest.raises(InvalidQuery):
        parse_query(raw)


def test_aggregates_are_refused_rather_than_ignored() -> None:
    with pytest.raises(InvalidQuery, match="aggregates"):
        parse_query({"aggregates": [{"function": "COUNT", "field": "Id"}]})


def test_depth_and_size_limits() -> None:
    limits = QueryLimits(max_depth=3, max_conditions=4)
    nested: dict[str, Any] = {"queryFilters": [where("A", "=", "1")]}
    for _ in range(3):
        nested = {"filterGroups": [nested]}
    with pytest.raises(QueryTooComplex) as caught:
        parse_query({"filterGroup": nested}, limits)
    assert caught.value.code == "QUERY_TOO_COMPLEX"
    with pytest.raises(QueryTooComplex):
        parse_query(body(*[where("A", "=", str(n)) for n in range(5)]), limits)
    parse_query(body(*[where("A", "=", str(n)) for n in range(4)]), limits)


def test_default_limits_stop_a_deep_body_early() -> None:
    nested: dict[str, Any] = {"queryFilters": [where("A", "=", "1")]}
    for _ in range(500):
        nested = {"filterGroups": [nested]}
    with pytest.raises(QueryTooComplex):
        parse_query({"filterGroup": nested})


# --- OData ---------------------------------------------------------------------------------------


def odata_filter(text: str) -> Any:
    return parse_odata({"$filter": text}).filter


def test_odata_precedence_and_parentheses() -> None:
    a, b, c = (Condition((n,), Operator.EQ, Decimal(v)) for n, v in (("A", "1"), ("B", "2"), ("C", "3")))
    assert odata_filter("A eq 1 or B eq 2 and C eq 3") == Group(Logic.OR, (a, Group(Logic.AND, (b, c))))
    assert odata_filter("(A eq 1 or B eq 2) and C eq 3") == Group(Logic.AND, (Group(Logic.OR, (a, b)), c))
    assert odata_filter("A eq 1 and (B eq 2 and C eq 3)") == Group(Logic.AND, (a, b, c))


def test_odata_literals() -> None:
    node = odata_filter(
        "Title eq 'it''s' and Paid eq true and Due eq 2024-05-01 and At gt 2024-05-01T10:00:00+02:00 "
        "and Ref eq 3fa85f64-5717-4562-b3fc-2c963f66afa6 and Qty ne null and Price le -1.5"
    )
    values = [child.value for child in node.children]
    assert values == [
        "it's",
        True,
        "2024-05-01",
        "2024-05-01T10:00:00+02:00",
        "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        None,
        Decimal("-1.5"),
    ]


def test_odata_functions_in_and_paths() -> None:
    node = odata_filter(
        "contains(Title,'a%') or startswith(Customer/Country,'N') or endswith(Title,'z') "
        "or not contains(Title,'q') or Customer.Country in ('NL', 'BE')"
    )
    assert node == Group(
        Logic.OR,
        (
            Condition(("Title",), Operator.CONTAINS, "a%"),
            Condition(("Customer", "Country"), Operator.STARTS_WITH, "N"),
            Condition(("Title",), Operator.ENDS_WITH, "z"),
            Condition(("Title",), Operator.NOT_CONTAINS, "q"),
            Condition(("Customer", "Country"), Operator.IN, None, ("NL", "BE")),
        ),
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Title like 'x'", "expected one of eq"),
        ("(Title eq 'x'", "expected ')'"),
        ("Title eq 'x' Qty eq 1", "expected 'and', 'or'"),
        ("Qty gt null", "only eq and ne take null"),
        ("Title eq 'x' ; drop", "unexpected text at position 13"),
        ("Title eq", "unexpected end"),
        ("not startswith(Title,'a')", "'not' applies only to contains"),
        ("substringof('a',Title)", "function 'substringof' at position 0 is not supported"),
        ("Title eq 'unterminated", "unexpected text"),
        ("Qty in (1, null)", "may not contain null"),
    ],
)
def test_odata_errors_say_where(text: str, fragment: str) -> None:
    with pytest.raises(InvalidQuery, match=None) as caught:
        odata_filter(text)
    assert fragment in caught.value.message


def test_odata_orderby_select_expand_and_paging() -> None:
    query = parse_odata(
        {
            "$orderby": "Title desc, Customer/Country",
            "$select": "Title,Qty",
            "$expand": "Customer",
            "$top": "5",
            "$skip": "10",
        }
    )
    assert query == Query(
        sort=(Sort(("Title",), True), Sort(("Customer", "Country"), False)),
        select=("Title", "Qty"),
        expand=("Customer",),
        start=10,
        limit=5,
    )
    for bad in (
        {"$orderby": "Title sideways"},
        {"$select": "Title($select=x)"},
        {"limit": "ten"},
        {"$top": "5000"},
    ):
        with pytest.raises(InvalidQuery):
            parse_odata(bad)


def test_odata_parenthesis_depth_is_bounded() -> None:
    with pytest.raises(QueryTooComplex):
        odata_filter("(" * 50 + "Qty eq 1" + ")" * 50)


# --- planning ------------------------------------------------------------------------------------


def test_field_names_are_case_sensitive_with_a_hint() -> None:
    with pytest.raises(InvalidQuery) as caught:
        plan(where("title", "=", "x"))
    (error,) = caught.value.errors
    assert (error.field, error.code) == ("title", "FIELD_NOT_FOUND")
    assert "Did you mean 'Title'?" in error.message


def test_system_fields_filter_and_sort() -> None:
    found = plan(
        where("Id", "=", "3FA85F64-5717-4562-B3FC-2C963F66AFA6"),
        where("CreateTime", ">=", "2024-05-01T12:00:00+02:00"),
        sortOptions=[{"fieldName": "UpdateTime", "isDescending": True}],
    )
    assert found.filter is not None and not isinstance(found.filter, Predicate)
    first, second = found.filter.children
    assert isinstance(first, Predicate) and first.value == "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    assert isinstance(second, Predicate) and second.value == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert [(k.ref.name, k.descending) for k in found.order] == [("UpdateTime", True), ("Id", False)]


def test_dot_paths_need_enough_expansion() -> None:
    found = plan(where("Customer.Country", "=", "NL"))
    assert [hop.field.name for hop in only_predicate(found).ref.hops] == ["Customer"]
    assert planning_errors(where("Customer.Country", "=", "NL"), level=1) == [
        ("Customer.Country", "EXPANSION_TOO_SHALLOW")
    ]
    assert planning_errors(where("Customer.Region.Name", "=", "EU"), level=2) == [
        ("Customer.Region.Name", "EXPANSION_TOO_SHALLOW")
    ]
    assert only_predicate(plan(where("Customer.Region.Name", "=", "EU"), level=3)).ref.entity == REGION
    assert planning_errors(where("Title.Length", "=", "1")) == [("Title.Length", "INVALID_PATH")]
    assert planning_errors(where("Customer..Country", "=", "1"), level=3) == [
        ("Customer..Country", "INVALID_PATH")
    ]


@pytest.mark.parametrize(
    ("name", "operator", "value", "expected"),
    [
        ("Qty", ">", "42", 42),
        ("Qty", "=", "-3.0", -3),
        ("Price", "<", "10.555", Decimal("10.555")),
        ("Paid", "=", "TRUE", True),
        ("Due", ">=", "2024-02-29", date(2024, 2, 29)),
        ("At", "<", "2024-05-01T12:00:00.1234+02:00", datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)),
        ("At", ">", "2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("Status", "=", "1", 1),
        ("Status", "=", " C2", 2),
        ("Tags", "contains", "c3", 3),
        ("Tags", "=", "[3,1,3]", (1, 3)),
        ("Tags", "contains", "2", 2),
        ("Customer", "=", "3FA85F64-5717-4562-B3FC-2C963F66AFA6", "3fa85f64-5717-4562-b3fc-2c963f66afa6"),
        ("Title", "startswith", "", ""),
    ],
)
def test_values_are_coerced_per_type(name: str, operator: str, value: str, expected: object) -> None:
    assert only_predicate(plan(where(name, operator, value))).value == expected


@pytest.mark.parametrize(
    ("name", "operator", "value", "code"),
    [
        ("Qty", ">", "4.5", "INVALID_VALUE"),
        ("Qty", "=", "1e3", "INVALID_VALUE"),
        ("Price", ">", "12345678901234567", "INVALID_VALUE"),
        ("Paid", "=", "yes", "INVALID_VALUE"),
        ("Due", "=", "2024-02-30", "INVALID_VALUE"),
        ("At", ">", "yesterday", "INVALID_TYPE"),
        ("Status", "=", "Red", "UNKNOWN_CHOICE"),
        ("Status", "=", "9", "UNKNOWN_CHOICE"),
        ("Tags", "=", "3", "INVALID_VALUE"),
        ("Tags", "contains", "[3]", "INVALID_VALUE"),
        ("Customer", "=", "not-a-uuid", "INVALID_TYPE"),
        ("Title", "<", "m", "OPERATOR_NOT_ALLOWED"),
        ("Due", "contains", "2024", "OPERATOR_NOT_ALLOWED"),
        ("Paid", "contains", "true", "OPERATOR_NOT_ALLOWED"),
        ("Qty", "startswith", "1", "OPERATOR_NOT_ALLOWED"),
        ("Doc", "=", "x", "OPERATOR_NOT_ALLOWED"),
        ("Tags", "in", None, "OPERATOR_NOT_ALLOWED"),
    ],
)
def test_bad_values_and_operators_name_field_and_operator(
    name: str, operator: str, value: str, code: str
) -> None:
    extra = {"valueList": ["1"]} if value is None else {}
    with pytest.raises(InvalidQuery) as caught:
        plan(where(name, operator, value, **extra))
    (error,) = caught.value.errors
    assert (error.field, error.code) == (name, code)
    assert f"'{name}'" in error.message and f"'{operator}'" in error.message


def test_null_checks_work_on_every_type_including_files() -> None:
    found = plan(where("Doc", "="), where("Tags", "!="), where("Customer.Country", "="))
    assert found.filter is not None


def test_planning_collects_every_problem() -> None:
    errors = planning_errors(
        where("Nope", "=", "1"),
        where("Qty", ">", "x"),
        sortOptions=[{"fieldName": "Tags"}, {"fieldName": "Missing"}],
        selectedFields=["Title", "Ghost"],
    )
    assert errors == [
        ("Nope", "FIELD_NOT_FOUND"),
        ("Qty", "INVALID_VALUE"),
        ("Tags", "NOT_SORTABLE"),
        ("Missing", "FIELD_NOT_FOUND"),
        ("Ghost", "FIELD_NOT_FOUND"),
    ]


def test_order_ends_with_id_once() -> None:
    found = plan(sortOptions=[{"fieldName": "Qty"}, {"fieldName": "Qty", "isDescending": True}])
    assert [(k.ref.name, k.descending) for k in found.order] == [("Qty", False), ("Id", False)]
    found = plan(sortOptions=[{"fieldName": "Id", "isDescending": True}, {"fieldName": "Qty"}])
    assert [(k.ref.name, k.descending) for k in found.order] == [("Id", True), ("Qty", False)]


def test_expand_must_follow_relationships() -> None:
    query = parse_odata({"$expand": "Customer,Customer/Region,Title"})
    with pytest.raises(InvalidQuery) as caught:
        plan_query(query, ORDER, SCHEMA)
    assert [(e.field, e.code) for e in caught.value.errors] == [("Title", "INVALID_PATH")]


# --- reference semantics -------------------------------------------------------------------------


def record(**values: Any) -> dict[str, Any]:
    return {"Id": values.pop("Id", "00000000-0000-0000-0000-000000000001"), **values}


@pytest.mark.parametrize(
    ("condition", "null_matches"),
    [
        (where("Title", "=", "x"), False),
        (where("Title", "!=", "x"), True),
        (where("Title", "contains", "x"), False),
        (where("Title", "not contains", "x"), True),
        (where("Title", "in", valueList=["x"]), False),
        (where("Title", "not in", valueList=["x"]), True),
        (where("Qty", ">", "1"), False),
        (where("Tags", "not contains", "1"), True),
        (where("Title", "="), True),
        (where("Title", "!="), False),
    ],
)
def test_null_rule(condition: dict[str, Any], null_matches: bool) -> None:
    found = plan(condition)
    assert matches(found.filter, record(Title=None, Qty=None, Tags=None)) is null_matches


def test_dot_paths_read_related_records() -> None:
    customer = {"Id": "00000000-0000-0000-0000-0000000000c1", "Country": "NL", "Region": None}
    found = plan(where("Customer.Country", "=", "NL"))
    assert matches(found.filter, record(Customer=customer["Id"]), {customer["Id"]: customer})
    assert not matches(found.filter, record(Customer=customer["Id"]), {})
    assert not matches(found.filter, record(Customer=None), {customer["Id"]: customer})


def test_sort_key_puts_nulls_first_ascending_and_last_descending() -> None:
    rows = [record(Id=f"00000000-0000-0000-0000-00000000000{n}", Qty=q) for n, q in enumerate([2, None, 1])]
    ascending = plan(sortOptions=[{"fieldName": "Qty"}])
    assert [r["Qty"] for r in sorted(rows, key=lambda r: sort_key(ascending, r))] == [None, 1, 2]
    descending = plan(sortOptions=[{"fieldName": "Qty", "isDescending": True}])
    assert [r["Qty"] for r in sorted(rows, key=lambda r: sort_key(descending, r))] == [2, 1, None]


def test_cursor_round_trip_and_refusal() -> None:
    found = plan(sortOptions=[{"fieldName": "At", "isDescending": True}, {"fieldName": "Price"}])
    row = record(At=datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC), Price=None)
    cursor = cursor_of(found, row)
    assert decode_cursor(found, encode_cursor(found, cursor)) == cursor
    other = plan(sortOptions=[{"fieldName": "At"}])
    with pytest.raises(InvalidCursor):
        decode_cursor(other, encode_cursor(found, cursor))
    for garbage in ("", "!!!", "bm90IGpzb24", encode_cursor(found, ("x", None, "not-a-uuid"))):
        with pytest.raises(InvalidCursor):
            decode_cursor(found, garbage)


def test_matrix_table_is_generated() -> None:
    table = matrix_markdown()
    assert table.splitlines()[0].startswith("| Operator | Text")
    assert "| `>` `<` `>=` `<=` | ✗ | ✓ | ✓ | ✗ |" in table
