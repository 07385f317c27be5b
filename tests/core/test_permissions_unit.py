"""core/permissions.py alone: scopes intersected with roles, per-entity grants over `*`, "own records
only" rules, and field masks on fields under access control. HTTP scenarios: tests/security/."""

from __future__ import annotations

import pytest

from recordbase.core.permissions import (
    ADMINISTRATOR,
    ALL_ENTITIES,
    ALL_SCOPES,
    BUILTIN_ROLES,
    Action,
    AdminRight,
    EntityGrant,
    FieldGrant,
    Role,
    RowRule,
    Scope,
    effective,
    everything,
)
from recordbase.errors import Forbidden
from tests.core.fakes import entity, field

OPEN = entity("Note", field("text"))
GUARDED = entity("Salary", field("amount", rbac=True), field("team"), rbac=True)
READER = BUILTIN_ROLES[3]
OWN_EDITOR = Role(
    "r-own",
    "Own editor",
    entities={"salary": EntityGrant(frozenset(Action), own_only=frozenset({Action.UPDATE, Action.DELETE}))},
    fields={"salary": {"amount": FieldGrant(read=True)}},
)


def test_the_administrator_may_do_everything() -> None:
    admin = everything("u-1")
    assert admin.is_admin and admin.row_rule(GUARDED, Action.DELETE) == RowRule()
    assert admin.can_write_field(GUARDED, "amount") and admin.has_right(AdminRight.MANAGE_PERMISSIONS)


def test_scopes_limit_what_roles_allow() -> None:
    no_write = effective("u-1", [ADMINISTRATOR], {Scope.DATA_READ, Scope.SCHEMA_READ, "unknown.scope"})
    assert no_write.scopes == frozenset({Scope.DATA_READ, Scope.SCHEMA_READ})
    assert (
        no_write.row_rule(OPEN, Action.READ) == RowRule() and no_write.row_rule(OPEN, Action.CREATE) is None
    )
    assert not no_write.is_admin
    with pytest.raises(Forbidden):
        no_write.require(OPEN, Action.UPDATE)


def test_the_star_grant_does_not_reach_entities_under_access_control() -> None:
    reader = effective("u-1", [READER], ALL_SCOPES)
    assert reader.row_rule(OPEN, Action.READ) == RowRule() and reader.row_rule(OPEN, Action.UPDATE) is None
    assert reader.row_rule(GUARDED, Action.READ) is None
    assert reader.can_view_entity(GUARDED)  # View All Schema shows definitions, not records


def test_own_records_only_rules_become_row_filters() -> None:
    editor = effective("u-7", [OWN_EDITOR], ALL_SCOPES)
    assert editor.row_rule(GUARDED, Action.READ) == RowRule()
    assert editor.row_rule(GUARDED, Action.UPDATE) == RowRule(created_by="u-7")
    both = effective(
        "u-7",
        [OWN_EDITOR, Role("r-all", "All", entities={"salary": EntityGrant(frozenset(Action))})],
        ALL_SCOPES,
    )
    assert both.row_rule(GUARDED, Action.UPDATE) == RowRule()  # any unrestricted grant wins


def test_field_masks_apply_only_to_guarded_fields() -> None:
    editor = effective("u-7", [OWN_EDITOR], ALL_SCOPES)
    assert editor.can_read_field(GUARDED, "amount") and not editor.can_write_field(GUARDED, "amount")
    assert editor.can_write_field(GUARDED, "team") and editor.readable_fields(GUARDED) == {"amount", "team"}
    stranger = effective(
        "u-8", [Role("r-x", "X", entities={ALL_ENTITIES: EntityGrant(frozenset(Action))})], ALL_SCOPES
    )
    assert stranger.readable_fields(GUARDED) == {"team"} and stranger.schema_fields(GUARDED) == {"team"}
