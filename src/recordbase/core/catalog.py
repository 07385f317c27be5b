"""Schema changes: create and remove entities, fields, indexes and choice sets, online.

Each change checks the definition against the latest schema (read under a lock inside
the change's transaction), runs its DDL and catalog writes in that transaction, and
reloads the cache once committed. `apply` runs a whole schema document as one change.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from recordbase.core.fields import KINDS, FieldDefinitionError, FieldValueError
from recordbase.core.fields.relationship import check_reference
from recordbase.core.naming import (
    check_choice_value_name,
    check_description,
    check_display_name,
    check_entity_name,
    check_field_name,
)
from recordbase.core.ports import Audit, SchemaChange, SchemaStore
from recordbase.core.schema import ChoiceSet, ChoiceValue, Entity, Field, FieldType, Index, Schema
from recordbase.core.schema_cache import SchemaCache
from recordbase.errors import (
    ChoiceSetNotFound,
    Conflict,
    FieldNotFound,
    NameTaken,
    SchemaError,
    UnsupportedSchemaChange,
)

UNIQUE_CAPABLE = frozenset(
    {FieldType.TEXT, FieldType.INTEGER, FieldType.DECIMAL, FieldType.DATE, FieldType.DATETIME, FieldType.UUID}
)


@dataclass(frozen=True)
class EntityDraft:
    """An entity as a client defines it; ids are assigned when it is created."""

    name: str
    display_name: str = ""
    description: str = ""
    rbac: bool = False
    fields: tuple[Field, ...] = ()
    indexes: tuple[Index, ...] = ()


@dataclass(frozen=True)
class EntityPatch:
    display_name: str | None = None
    description: str | None = None
    rbac: bool | None = None
    add_fields: tuple[Field, ...] = ()
    remove_fields: tuple[str, ...] = ()
    update_fields: tuple[Field, ...] = ()


@dataclass(frozen=True)
class ChoiceSetDraft:
    name: str
    display_name: str = ""
    description: str = ""
    values: tuple[tuple[str, str], ...] = ()


@dataclass
class SchemaDocument:
    """A whole declarative schema (the `schema apply` file)."""

    choice_sets: list[ChoiceSetDraft] = field(default_factory=list)
    entities: list[EntityDraft] = field(default_factory=list)


def new_uuid() -> str:
    return str(uuid.uuid4())


class SchemaService:
    def __init__(self, store: SchemaStore, cache: SchemaCache) -> None:
        self.store = store
        self.cache = cache

    async def create_entity(self, draft: EntityDraft, actor_id: str) -> Entity:
        async with self.store.change(Audit(actor_id, "entity.create", draft.name)) as change:
            schema = await create_entity(change, change.schema, draft)
        await self.cache.reload()
        return schema.entity(draft.name)

    async def delete_entity(self, ref: str, actor_id: str) -> None:
        async with self.store.change(Audit(actor_id, "entity.delete", ref)) as change:
            entity = change.schema.entity(ref)
            users = [
                f"{e.name}.{f.name}"
                for e, f in change.schema.referencing_fields(entity.name)
                if e.id != entity.id
            ]
            if users:
                raise Conflict(
                    f"Entity '{entity.name}' is referenced by {', '.join(users)}; remove those fields first."
                )
            await change.drop_entity(entity)
        await self.cache.reload()

    async def update_entity(self, ref: str, patch: EntityPatch, actor_id: str) -> Entity:
        async with self.store.change(Audit(actor_id, "entity.update", ref)) as change:
            entity = change.schema.entity(ref)
            schema = await update_entity(change, change.schema, entity, patch)
        await self.cache.reload()
        return schema.entity(entity.id)

    async def create_choice_set(self, draft: ChoiceSetDraft, actor_id: str) -> ChoiceSet:
        async with self.store.change(Audit(actor_id, "choiceset.create", draft.name)) as change:
            schema = await create_choice_set(change, change.schema, draft)
        await self.cache.reload()
        return schema.choice_set(draft.name)

    async def add_choice_values(
        self, ref: str, values: Sequence[tuple[str, str]], actor_id: str
    ) -> ChoiceSet:
        async with self.store.change(Audit(actor_id, "choiceset.update", ref)) as change:
            schema = await add_choice_values(change, change.schema, change.schema.choice_set(ref), values)
        await self.cache.reload()
        return schema.choice_set(ref)

    async def delete_choice_set(self, ref: str, actor_id: str) -> None:
        async with self.store.change(Audit(actor_id, "choiceset.delete", ref)) as change:
            choice_set = change.schema.choice_set(ref)
            users = [
                f"{e.name}.{f.name}"
                for e in change.schema.entities
                for f in e.fields
                if f.choice_set_id == choice_set.id
            ]
            if users:
                raise Conflict(f"Choice set '{choice_set.name}' is used by {', '.join(users)}.")
            await change.drop_choice_set(choice_set)
        await self.cache.reload()

    async def apply(self, document: SchemaDocument, actor_id: str, *, prune: bool = False) -> list[str]:
        """Bring the schema to `document` in one transaction; return what changed (nothing when re-run)."""
        async with self.store.change(Audit(actor_id, "schema.apply", "schema file")) as change:
            done = await apply_document(change, document, prune=prune)
        if done:
            await self.cache.reload()
        return done


# The steps: each takes the schema as it stands inside the change and returns the new one.


async def create_entity(change: SchemaChange, schema: Schema, draft: EntityDraft) -> Schema:
    name = check_entity_name(draft.name)
    if schema.find_entity(name) is not None or schema.find_choice_set(name) is not None:
        raise NameTaken(f"An entity or choice set named '{name}' already exists.")
    entity = Entity(
        id=new_uuid(),
        name=name,
        display_name=check_display_name(draft.display_name, name),
        description=check_description(draft.description),
        rbac=draft.rbac,
    )
    fields = prepare_fields(draft.fields, entity, schema)
    entity = replace(entity, fields=fields)
    entity = replace(entity, indexes=tuple(check_index(i, entity) for i in draft.indexes))
    after = with_entity(schema, entity)
    await change.create_entity(entity, after)
    return after


async def update_entity(change: SchemaChange, schema: Schema, entity: Entity, patch: EntityPatch) -> Schema:
    updated = replace(
        entity,
        display_name=check_display_name(patch.display_name, entity.display_name)
        if patch.display_name is not None
        else entity.display_name,
        description=check_description(patch.description)
        if patch.description is not None
        else entity.description,
        rbac=entity.rbac if patch.rbac is None else bool(patch.rbac),
        fields=tuple(_apply_field_metadata(entity, patch.update_fields)),
    )
    if updated != entity:
        await change.save_entity(updated)
        schema = with_entity(schema, updated)
    for name in patch.remove_fields:
        schema = await remove_field(change, schema, schema.entity(entity.id), name)
    for draft in patch.add_fields:
        schema = await add_field(change, schema, schema.entity(entity.id), draft)
    return schema


async def add_field(change: SchemaChange, schema: Schema, entity: Entity, draft: Field) -> Schema:
    if entity.field_ci(draft.name) is not None:
        raise NameTaken(f"Entity '{entity.name}' already has a field named '{draft.name}'.")
    (prepared,) = prepare_fields([draft], entity, schema)
    after_entity = entity.with_fields([*entity.fields, prepared])
    after = with_entity(schema, after_entity)
    await change.add_field(after_entity, prepared, after)
    return after


async def remove_field(change: SchemaChange, schema: Schema, entity: Entity, name: str) -> Schema:
    doomed = entity.field(name)
    if doomed is None:
        raise FieldNotFound(f"Entity '{entity.name}' has no field '{name}'.")
    users = [i.name for i in entity.indexes if doomed.name in i.fields]
    if users:
        raise Conflict(f"Field '{name}' is used by index {', '.join(users)}; remove the index first.")
    await change.drop_field(entity, doomed, schema)
    after_entity = entity.with_fields(f for f in entity.fields if f.id != doomed.id)
    return with_entity(schema, after_entity)


async def create_choice_set(change: SchemaChange, schema: Schema, draft: ChoiceSetDraft) -> Schema:
    name = check_entity_name(draft.name)
    if schema.find_choice_set(name) is not None or schema.find_entity(name) is not None:
        raise NameTaken(f"An entity or choice set named '{name}' already exists.")
    choice_set = ChoiceSet(
        id=new_uuid(),
        name=name,
        display_name=check_display_name(draft.display_name, name),
        description=check_description(draft.description),
        values=_new_values((), draft.values),
    )
    await change.save_choice_set(choice_set, new=True)
    return replace(schema, choice_sets=(*schema.choice_sets, choice_set))


async def add_choice_values(
    change: SchemaChange, schema: Schema, choice_set: ChoiceSet, values: Sequence[tuple[str, str]]
) -> Schema:
    updated = replace(choice_set, values=_new_values(choice_set.values, values))
    await change.save_choice_set(updated, new=False)
    return replace(
        schema, choice_sets=tuple(updated if c.id == choice_set.id else c for c in schema.choice_sets)
    )


async def apply_document(change: SchemaChange, document: SchemaDocument, *, prune: bool) -> list[str]:
    schema, done = change.schema, []
    for draft in document.choice_sets:
        existing = schema.find_choice_set(draft.name)
        if existing is None:
            schema = await create_choice_set(change, schema, draft)
            done.append(f"created choice set {draft.name}")
            continue
        known = {v.name.lower() for v in existing.values}
        missing = [v for v in draft.values if v[0].lower() not in known]
        if missing:
            schema = await add_choice_values(change, schema, existing, missing)
            done.append(f"added {len(missing)} value(s) to choice set {draft.name}")
    # Entities first without relationships, so that entities may refer to each other in any order.
    for entity_draft in document.entities:
        if schema.find_entity(entity_draft.name) is None:
            plain = [f for f in entity_draft.fields if f.type is not FieldType.RELATIONSHIP]
            schema = await create_entity(
                change, schema, replace(entity_draft, fields=tuple(plain), indexes=())
            )
            done.append(f"created entity {entity_draft.name}")
    for entity_draft in document.entities:
        schema, steps = await _converge_entity(change, schema, entity_draft, prune=prune)
        done += steps
    return done


async def _converge_entity(
    change: SchemaChange, schema: Schema, draft: EntityDraft, *, prune: bool
) -> tuple[Schema, list[str]]:
    entity, done = schema.entity(draft.name), []
    for wanted in draft.fields:
        have = entity.field(wanted.name)
        if have is None:
            schema = await add_field(change, schema, entity, wanted)
            done.append(f"added field {draft.name}.{wanted.name}")
        else:
            _refuse_type_change(entity, have, wanted)
        entity = schema.entity(draft.name)
    if prune:
        wanted_names = {f.name for f in draft.fields}
        for f in [f for f in entity.fields if f.name not in wanted_names]:
            schema = await remove_field(change, schema, entity, f.name)
            entity = schema.entity(draft.name)
            done.append(f"removed field {draft.name}.{f.name}")
    patch = EntityPatch(draft.display_name or None, draft.description, draft.rbac, update_fields=draft.fields)
    updated = await update_entity(change, schema, entity, patch)
    if updated.entity(entity.id) != entity:
        done.append(f"updated metadata of {draft.name}")
        schema = updated
    for index in draft.indexes:
        if not any(i.name.lower() == index.name.lower() for i in entity.indexes):
            checked = check_index(index, entity)
            entity = replace(entity, indexes=(*entity.indexes, checked))
            schema = with_entity(schema, entity)
            await change.save_entity(entity)
            await change.add_index(entity, checked, schema)
            done.append(f"created index {draft.name}.{index.name}")
    return schema, done


# Checks ------------------------------------------------------------------------------------------


def prepare_fields(drafts: Iterable[Field], entity: Entity, schema: Schema) -> tuple[Field, ...]:
    """Check each field definition and give it an id; names must be unique ignoring case."""
    prepared: list[Field] = []
    seen = {f.name.lower() for f in entity.fields}
    for draft in drafts:
        name = check_field_name(draft.name, entity.name)
        if name.lower() in seen:
            raise NameTaken(f"Field name '{name}' is used twice in entity '{entity.name}'.")
        seen.add(name.lower())
        prepared.append(prepare_field(replace(draft, name=name), entity, schema))
    return tuple(prepared)


def prepare_field(draft: Field, entity: Entity, schema: Schema) -> Field:
    candidate = replace(
        draft,
        id=draft.id or new_uuid(),
        display_name=check_display_name(draft.display_name, draft.name),
        description=check_description(draft.description),
    )
    try:
        candidate = KINDS[candidate.type].check_definition(candidate, schema)
        if candidate.type is FieldType.RELATIONSHIP:
            check_reference(candidate, schema, entity.name)
    except FieldDefinitionError as error:
        raise SchemaError(str(error)) from None
    if candidate.unique and candidate.type not in UNIQUE_CAPABLE:
        raise SchemaError(f"Field '{candidate.name}' of type {candidate.type.value} cannot be unique.")
    _check_default(candidate, schema)
    return candidate


def _check_default(f: Field, schema: Schema) -> None:
    if f.default is None:
        return
    if not f.is_writable:
        raise SchemaError(f"Field '{f.name}' of type {f.type.value} cannot have a default value.")
    try:
        KINDS[f.type].coerce(f, f.default, schema)
    except FieldValueError as error:
        raise SchemaError(f"Default value of field '{f.name}': {error.message}") from None


def check_index(index: Index, entity: Entity) -> Index:
    if not index.fields:
        raise SchemaError(f"Index '{index.name}' needs at least one field.")
    for name in index.fields:
        f = entity.field(name)
        if f is None:
            raise SchemaError(f"Index '{index.name}': entity '{entity.name}' has no field '{name}'.")
        if f.type is FieldType.FILE:
            raise SchemaError(f"Index '{index.name}': file field '{name}' cannot be indexed.")
    check_field_name(index.name, "")
    return index


def _refuse_type_change(entity: Entity, have: Field, wanted: Field) -> None:
    if have.type is not wanted.type:
        raise UnsupportedSchemaChange(
            f"Field '{entity.name}.{have.name}' is {have.type.value}; changing its type to "
            f"{wanted.type.value} is not supported. Add a new field and copy the data instead."
        )
    if wanted.unique != have.unique:
        raise UnsupportedSchemaChange(
            f"Field '{entity.name}.{have.name}': 'unique' cannot change after creation."
        )


def changes_access_control(entity: Entity, patch: EntityPatch) -> bool:
    """Whether the patch switches `isRbacEnabled` of the entity or of an existing field (either way).

    Only who may manage permissions may do that: a schema designer who could switch access
    control off could then read what it protects (docs/security.md). New fields and entities
    may start with it on."""
    if patch.rbac is not None and bool(patch.rbac) != entity.rbac:
        return True
    current = {f.name: f.rbac for f in entity.fields}
    return any(u.name in current and u.rbac != current[u.name] for u in patch.update_fields)


def _apply_field_metadata(entity: Entity, updates: Iterable[Field]) -> list[Field]:
    """Update display metadata of existing fields; anything else that differs is refused."""
    by_name = {u.name: u for u in updates}
    result = []
    for f in entity.fields:
        wanted = by_name.get(f.name)
        if wanted is None:
            result.append(f)
            continue
        _refuse_type_change(entity, f, wanted)
        result.append(
            replace(
                f,
                display_name=check_display_name(wanted.display_name, f.name),
                description=check_description(wanted.description),
                rbac=wanted.rbac,
            )
        )
    return result


def _new_values(
    existing: tuple[ChoiceValue, ...], added: Iterable[tuple[str, str]]
) -> tuple[ChoiceValue, ...]:
    values = list(existing)
    names = {v.name.lower() for v in values}
    for name, display in added:
        checked = check_choice_value_name(name)
        if checked.lower() in names:
            raise NameTaken(f"Choice value '{checked}' already exists.")
        names.add(checked.lower())
        values.append(ChoiceValue(new_uuid(), checked, check_display_name(display, checked), len(values)))
    return tuple(values)


def with_entity(schema: Schema, entity: Entity) -> Schema:
    others = tuple(e for e in schema.entities if e.id != entity.id)
    return replace(schema, entities=(*others, entity))


def find_choice_set(schema: Schema, ref: str) -> ChoiceSet:
    found = schema.find_choice_set(ref)
    if found is None:
        raise ChoiceSetNotFound(f"Choice set '{ref}' does not exist.")
    return found
