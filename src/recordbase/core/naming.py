"""Naming rules for entities, fields and choice sets (docs/compat-uipath.md#naming-rules, plus
underscores in field names)."""

from __future__ import annotations

import re

from recordbase.errors import InvalidName, ReservedName

ENTITY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{2,99}$")
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{2,99}$")
CHOICE_VALUE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,249}$")

RESERVED_FIELD_NAMES = frozenset(
    n.lower() for n in ("Id", "CreatedBy", "CreateTime", "UpdatedBy", "UpdateTime", "RecordOwner", "Revision")
)
# `entity` is taken by the by-id route segment (`/EntityService/entity/{id}`); the rest are
# words that SQL or the C#/VB clients of UiPath refuse as identifiers.
RESERVED_ENTITY_NAMES = frozenset({"entity", "choiceset", "metadata", "systemuser", "entityattachment"})
RESERVED_WORDS = frozenset(
    [
        "abstract",
        "as",
        "base",
        "bool",
        "break",
        "byte",
        "case",
        "catch",
        "char",
        "checked",
        "class",
        "const",
        "continue",
        "decimal",
        "default",
        "delegate",
        "do",
        "double",
        "else",
        "enum",
        "event",
        "explicit",
        "extern",
        "false",
        "finally",
        "fixed",
        "float",
        "for",
        "foreach",
        "goto",
        "if",
        "implicit",
        "in",
        "int",
        "interface",
        "internal",
        "is",
        "lock",
        "long",
        "namespace",
        "new",
        "null",
        "object",
        "operator",
        "out",
        "override",
        "params",
        "private",
        "protected",
        "public",
        "readonly",
        "ref",
        "return",
        "sbyte",
        "sealed",
        "short",
        "sizeof",
        "stackalloc",
        "static",
        "string",
        "struct",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "uint",
        "ulong",
        "unchecked",
        "unsafe",
        "ushort",
        "using",
        "virtual",
        "void",
        "volatile",
        "while",
        "order",
        "group",
        "select",
        "from",
        "where",
    ]
)
MAX_DISPLAY_NAME = 128
MAX_DESCRIPTION = 512


def check_entity_name(name: object) -> str:
    """Return `name` if it is a valid, unreserved entity or choice-set name."""
    text = _plain(name, "Entity name")
    if not ENTITY_NAME.match(text):
        raise InvalidName(
            f"Invalid name '{text}': start with a letter, use letters, digits and underscores, "
            "3-100 characters."
        )
    if text.lower() in RESERVED_ENTITY_NAMES or text.lower() in RESERVED_WORDS:
        raise ReservedName(f"'{text}' is a reserved name.")
    return text


def check_field_name(name: object, entity_name: str) -> str:
    """Return `name` if it may name a field of `entity_name`."""
    text = _plain(name, "Field name")
    lowered = text.lower()
    if lowered in RESERVED_FIELD_NAMES or lowered in RESERVED_WORDS:
        raise ReservedName(f"'{text}' is a reserved field name.")
    if not FIELD_NAME.match(text):
        raise InvalidName(
            f"Invalid field name '{text}': start with a letter, use letters, digits and underscores, "
            "3-100 characters."
        )
    if lowered == entity_name.lower():
        raise InvalidName(f"Field name '{text}' may not equal the entity name.")
    return text


def check_choice_value_name(name: object) -> str:
    text = _plain(name, "Choice value name")
    if not CHOICE_VALUE_NAME.match(text):
        raise InvalidName(
            f"Invalid choice value name '{text}': start with a letter, use letters, digits and underscores."
        )
    return text


def check_display_name(value: object, fallback: str) -> str:
    if value is None or value == "":
        return fallback
    if not isinstance(value, str) or len(value) > MAX_DISPLAY_NAME:
        raise InvalidName(f"displayName must be a string of at most {MAX_DISPLAY_NAME} characters.")
    return value


def check_description(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION:
        raise InvalidName(f"description must be a string of at most {MAX_DESCRIPTION} characters.")
    return value


def _plain(name: object, what: str) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidName(f"{what} must be a non-empty string.")
    return name
