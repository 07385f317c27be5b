"""The declarative schema file (`recordbase schema apply/export`): YAML or JSON, typed by pydantic.

docs/schema-file.md describes the format; `export` writes what `apply` reads, so an
exported file applied to an empty server recreates the same schema.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from recordbase.core.catalog import ChoiceSetDraft, EntityDraft, SchemaDocument
from recordbase.core.schema import Field as CoreField
from recordbase.core.schema import FieldType, Index, Schema
from recordbase.errors import SchemaError


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_by_name=True, validate_by_alias=True)


class ChoiceValueSpec(_Model):
    name: str
    display_name: str = Field("", alias="displayName")


class ChoiceSetSpec(_Model):
    name: str
    display_name: str = Field("", alias="displayName")
    description: str = ""
    values: list[ChoiceValueSpec | str] = []


class FieldSpec(_Model):
    name: str
    type: FieldType
    display_name: str = Field("", alias="displayName")
    description: str = ""
    required: bool = False
    unique: bool = False
    default: Any = None
    max_length: int | None = Field(None, alias="maxLength")
    min: Decimal | None = None
    max: Decimal | None = None
    decimal_places: int | None = Field(None, alias="decimalPlaces")
    choice_set: str | None = Field(None, alias="choiceSet")
    references: str | None = None
    rbac: bool = False
    start: int | None = None


class IndexSpec(_Model):
    name: str
    fields: list[str]
    unique: bool = False


class EntitySpec(_Model):
    name: str
    display_name: str = Field("", alias="displayName")
    description: str = ""
    rbac: bool = False
    fields: list[FieldSpec] = []
    indexes: list[IndexSpec] = []


class SchemaFile(_Model):
    choice_sets: list[ChoiceSetSpec] = Field([], alias="choiceSets")
    entities: list[EntitySpec] = []


def load_document(path: Path) -> SchemaDocument:
    """Parse a schema file; errors name the place in the file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        spec = SchemaFile.model_validate(raw)
    except (yaml.YAMLError, ValidationError) as error:
        raise SchemaError(f"{path}: {error}") from None
    return to_document(spec)


def to_document(spec: SchemaFile) -> SchemaDocument:
    return SchemaDocument(
        choice_sets=[
            ChoiceSetDraft(
                c.name,
                c.display_name,
                c.description,
                tuple((v, v) if isinstance(v, str) else (v.name, v.display_name or v.name) for v in c.values),
            )
            for c in spec.choice_sets
        ],
        entities=[
            EntityDraft(
                name=e.name,
                display_name=e.display_name,
                description=e.description,
                rbac=e.rbac,
                fields=tuple(_field(f) for f in e.fields),
                indexes=tuple(Index(i.name, tuple(i.fields), i.unique) for i in e.indexes),
            )
            for e in spec.entities
        ],
    )


def _field(spec: FieldSpec) -> CoreField:
    return CoreField(
        id="",
        name=spec.name,
        type=spec.type,
        display_name=spec.display_name,
        description=spec.description,
        required=spec.required,
        unique=spec.unique,
        default=spec.default,
        max_length=spec.max_length,
        min_value=spec.min,
        max_value=spec.max,
        decimal_places=spec.decimal_places,
        choice_set_id=spec.choice_set,
        reference_entity=spec.references,
        rbac=spec.rbac,
        start_value=spec.start,
    )


def export_schema(schema: Schema) -> dict[str, Any]:
    """The schema as a file that `load_document` reads back to the same definitions."""
    choice_names = {c.id: c.name for c in schema.choice_sets}
    spec = SchemaFile(
        choice_sets=[
            ChoiceSetSpec(
                name=c.name,
                display_name=c.display_name,
                description=c.description,
                values=[ChoiceValueSpec(name=v.name, display_name=v.display_name) for v in c.values],
            )
            for c in schema.choice_sets
        ],
        entities=[
            EntitySpec(
                name=e.name,
                display_name=e.display_name,
                description=e.description,
                rbac=e.rbac,
                fields=[_field_spec(f, choice_names) for f in e.fields],
                indexes=[IndexSpec(name=i.name, fields=list(i.fields), unique=i.unique) for i in e.indexes],
            )
            for e in schema.entities
        ],
    )
    return spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def _field_spec(f: CoreField, choice_names: dict[str, str]) -> FieldSpec:
    return FieldSpec(
        name=f.name,
        type=f.type,
        display_name=f.display_name,
        description=f.description,
        required=f.required,
        unique=f.unique,
        default=f.default,
        max_length=f.max_length,
        min=f.min_value if f.type in (FieldType.INTEGER, FieldType.DECIMAL) else None,
        max=f.max_value if f.type in (FieldType.INTEGER, FieldType.DECIMAL) else None,
        decimal_places=f.decimal_places if f.type is FieldType.DECIMAL else None,
        choice_set=choice_names.get(f.choice_set_id or ""),
        references=f.reference_entity,
        rbac=f.rbac,
        start=f.start_value,
    )
