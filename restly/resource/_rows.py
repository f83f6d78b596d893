"""Serialise database rows straight to JSON, without building schema objects first.

A flat response schema (every field a column) is answered from rows. Validating each row
into the schema and serialising it again costs twice what the answer needs: the values come
from the database, not from a client. ``RowSerializer`` turns the schema's own field
serialisers (aliases, exclusions, annotated serialisers, JSON settings) into one pydantic-core
serializer over plain dicts, built once per view::

    rows = RowSerializer.for_schema(BookRead, ("id", "title"))
    rows.dump_many(session.execute(select(Book.id, Book.title)).all())   # b'[{"id":1,...}]'

It is used only where validating could not change the answer. ``for_schema`` returns
``None``, and the view keeps validating, when the schema's output depends on the schema
object (computed fields, a model serializer, ``@field_serializer`` methods) or validation
may transform a value (any validator function but restly's own pure checks, string
stripping or case folding, types beyond plain scalars). A value the field's serialiser does
not expect (a ``str`` in an ``int`` column, which SQLite allows) raises
``RowTypeMismatch``; the caller then validates it, and answers as the validating path does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticSerializationError, SchemaSerializer, core_schema

from .._introspect import PURE_CHECKS

__all__ = ["RowSerializer", "RowTypeMismatch"]

# What a typed-dict field keeps of a model field: everything that changes the output.
_FIELD_KEYS = ("serialization_alias", "serialization_exclude", "serialization_exclude_if")
# Value schemas whose validation of a database value of the right type returns it as is
# (constraints such as max_length or ge only check), and the keys that would transform it.
_SCALARS = frozenset(
    {"int", "float", "decimal", "bool", "str", "bytes", "date", "time", "datetime",
     "timedelta", "uuid", "literal", "enum", "none", "any"}
)  # fmt: skip
_WRAPPERS = frozenset({"nullable", "default"})
_TRANSFORMING = frozenset({"strip_whitespace", "to_lower", "to_upper"})
_TRANSFORMING_CONFIG = frozenset({"str_strip_whitespace", "str_to_lower", "str_to_upper"})


class RowTypeMismatch(Exception):
    """A row value does not have the type its field serialises."""


@dataclass(frozen=True, slots=True)
class RowSerializer:
    """JSON for rows whose leading values are the schema's fields, in ``names`` order."""

    names: tuple[str, ...]
    one: SchemaSerializer
    many: SchemaSerializer

    @classmethod
    def for_schema(cls, schema: type[BaseModel], names: Sequence[str]) -> RowSerializer | None:
        """The serializer for rows of ``names`` (the schema's fields), or ``None`` when only
        a schema object can produce the schema's output."""
        fields = _plain_fields(schema.__pydantic_core_schema__)
        if fields is None or set(fields) != set(names):
            return None
        config = schema.__pydantic_core_schema__.get("config")
        row = core_schema.typed_dict_schema(
            {name: fields[name] for name in names}, config=config
        )
        return cls(tuple(names), SchemaSerializer(row), SchemaSerializer(core_schema.list_schema(row)))

    def dump_one(self, row: Iterable[Any]) -> bytes:
        """The JSON object of one row."""
        return self._json(self.one, dict(zip(self.names, row)))

    def dump_many(self, rows: Iterable[Iterable[Any]]) -> bytes:
        """The JSON array of ``rows``; extra trailing values in a row are ignored."""
        names = self.names
        return self._json(self.many, [dict(zip(names, row)) for row in rows])

    @staticmethod
    def _json(serializer: SchemaSerializer, value: Any) -> bytes:
        try:
            return serializer.to_json(value, by_alias=True, warnings="error")
        except PydanticSerializationError as error:
            raise RowTypeMismatch(str(error)) from None


def _plain_fields(schema: Mapping[str, Any]) -> dict[str, Any] | None:
    """The model's fields as typed-dict fields, or ``None`` if its output needs the model."""
    if schema.get("type") != "model" or "serialization" in schema:
        return None  # a wrapped schema (validators around the model) or a model serializer
    if any(schema.get("config", {}).get(key) for key in _TRANSFORMING_CONFIG):
        return None
    inner = schema["schema"]
    if inner.get("type") != "model-fields" or inner.get("computed_fields"):
        return None
    fields: dict[str, Any] = {}
    for name, field in inner["fields"].items():
        if not _as_is(field["schema"]):
            return None
        fields[name] = core_schema.typed_dict_field(
            field["schema"], required=True, **{k: field[k] for k in _FIELD_KEYS if k in field}
        )
    return fields


def _as_is(schema: Mapping[str, Any]) -> bool:
    """Whether validating a database value with ``schema`` returns it unchanged, and its
    serialisation needs no schema object (``@field_serializer`` methods receive one)."""
    serialization = schema.get("serialization")
    if serialization is not None and serialization.get("is_field_serializer"):
        return False
    kind = schema.get("type")
    if kind in _SCALARS:
        return not any(schema.get(key) for key in _TRANSFORMING)
    if kind in _WRAPPERS:
        return _as_is(schema["schema"])
    if kind == "function-before" and schema["function"]["function"] in PURE_CHECKS:
        return _as_is(schema["schema"])
    return False
