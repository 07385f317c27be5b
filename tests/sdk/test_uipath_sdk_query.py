"""The official `uipath` SDK's structured query (`retrieve_records`, `retrieve_records_v3`) against a
real recordbase process: nested groups, `in`, null checks, sort, projection and paging."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.sdk.test_uipath_sdk import fields, sdk_for

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

from uipath.platform.entities import (  # noqa: E402 - test_uipath_sdk clears UIPATH_* first
    EntityQueryFilter,
    EntityQueryFilterGroup,
    EntityQuerySortOption,
    LogicalOperator,
    QueryFilterOperator,
)
from uipath.platform.errors import EnrichedException  # noqa: E402

ROWS = [
    {"fullName": "Ann", "amount": 12.5, "count": 3, "active": True, "since": "2020-01-01"},
    {"fullName": "Bob", "amount": 5, "count": 1, "active": False},
    {"fullName": "Cy", "count": 7},
    {"fullName": "Dee", "amount": 40, "count": 3, "active": True, "since": "2021-06-30"},
]


def condition(
    name: str, operator: QueryFilterOperator, value: str | None = None, **extra: Any
) -> EntityQueryFilter:
    return EntityQueryFilter(field_name=name, operator=operator, value=value, **extra)


def nested_filter() -> EntityQueryFilterGroup:
    """(count in (3, 7)) AND (amount IS NULL OR amount > 20): Cy and Dee."""
    return EntityQueryFilterGroup(
        logical_operator=LogicalOperator.And,
        query_filters=[condition("count", QueryFilterOperator.In, value_list=["3", "7"])],
        filter_groups=[
            EntityQueryFilterGroup(
                logical_operator=LogicalOperator.Or,
                query_filters=[
                    condition("amount", QueryFilterOperator.Equals),
                    condition("amount", QueryFilterOperator.GreaterThan, "20"),
                ],
            )
        ],
    )


def run_queries(entities: Any, entity_id: str, retrieve: Any) -> None:
    found = retrieve(
        entity_id,
        filter_group=nested_filter(),
        sort_options=[EntityQuerySortOption(field_name="fullName", is_descending=True)],
        selected_fields=["Id", "fullName"],
        start=0,
        limit=10,
    )
    assert [r.fullName for r in found.items] == ["Dee", "Cy"]
    assert found.total_count == 2 and not found.has_next_page
    not_null = EntityQueryFilterGroup(query_filters=[condition("since", QueryFilterOperator.NotEquals)])
    assert {r.fullName for r in retrieve(entity_id, filter_group=not_null).items} == {"Ann", "Dee"}
    excluded = EntityQueryFilterGroup(
        query_filters=[condition("fullName", QueryFilterOperator.NotIn, value_list=["Ann", "Bob"])]
    )
    assert {r.fullName for r in retrieve(entity_id, filter_group=excluded).items} == {"Cy", "Dee"}
    by_amount = [EntityQuerySortOption(field_name="amount"), EntityQuerySortOption(field_name="fullName")]
    page = retrieve(entity_id, sort_options=by_amount, start=0, limit=3)
    assert [r.fullName for r in page.items] == ["Cy", "Bob", "Ann"]
    assert page.total_count == 4 and page.has_next_page and page.next_cursor is not None
    rest = retrieve(entity_id, sort_options=by_amount, start=3, limit=3)
    assert [r.fullName for r in rest.items] == ["Dee"] and not rest.has_next_page


async def test_retrieve_records_v3(live_server: LiveServer) -> None:
    entities = sdk_for(live_server)
    entity_id = entities.create_entity_v3("Customer", fields())
    for row in ROWS:
        entities.insert_record_v3(entity_id, row)
    run_queries(entities, entity_id, entities.retrieve_records_v3)
    with pytest.raises(EnrichedException) as refused:
        entities.retrieve_records_v3(
            entity_id,
            filter_group=EntityQueryFilterGroup(
                query_filters=[condition("nope", QueryFilterOperator.Equals, "x")]
            ),
        )
    assert refused.value.status_code == 400


async def test_retrieve_records_v1(live_server: LiveServer) -> None:
    entities = sdk_for(live_server)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        entity_id = entities.create_entity("Customer", fields())
        for row in ROWS:
            entities.insert_record(entity_id, row)
        run_queries(entities, entity_id, entities.retrieve_records)
