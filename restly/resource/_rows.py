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

Where every field is a scalar whose JSON msgspec writes byte for byte as pydantic-core does
(see ``_StructRows``), rows skip the dicts: each row becomes a msgspec struct, built from the
row's values without copying them into a mapping, and one msgspec call encodes the answer.
That route first checks the exact Python type of every value against its field (one pass per
column); a value of any other type, or one msgspec writes differently (a float of 1e16 or
more), sends the whole answer through the pydantic-core serializer, so the bytes never differ.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from itertools import repeat
from operator import contains
from typing import Any
from uuid import UUID

import msgspec
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

# The Python type a value of each scalar schema has when msgspec writes it as pydantic-core
# does (bytes and timedelta are written otherwise: base64, "P0D" for "PT0S").
_STRUCT_TYPES: dict[str, type] = {
    "int": int, "float": float, "bool": bool, "str": str, "decimal": Decimal,
    "date": date, "time": time, "datetime": datetime,
}  # fmt: skip
# JSON settings under which pydantic-core writes those scalars as msgspec does (the defaults).
_STRUCT_CONFIG = {"ser_json_inf_nan": "null", "ser_json_temporal": "iso8601"}
# Floats of this magnitude or more are written 1e+16 by pydantic-core, 1e16 by msgspec.
_FLOAT_LIMIT = 1e16
_NONE = type(None)
_ENCODE_ERRORS = (msgspec.EncodeError, TypeError, ValueError, OverflowError)


class RowTypeMismatch(Exception):
    """A row value does not have the type its field serialises."""


@dataclass(frozen=True, slots=True)
class RowSerializer:
    """JSON for rows whose leading values are the schema's fields, in ``names`` order."""

    names: tuple[str, ...]
    one: SchemaSerializer
    many: SchemaSerializer
    structs: _StructRows | None = None
    """The msgspec route, where the schema's JSON is msgspec's too (else ``None``)."""

    @classmethod
    def for_schema(cls, schema: type[BaseModel], names: Sequence[str]) -> RowSerializer | None:
        """The serializer for rows of ``names`` (the schema's fields), or ``None`` when only
        a schema object can produce the schema's output."""
        fields = _plain_fields(schema.__pydantic_core_schema__)
        if fields is None or set(fields) != set(names):
            return None
        config = schema.__pydantic_core_schema__.get("config")
        ordered = {name: fields[name] for name in names}
        row = core_schema.typed_dict_schema(ordered, config=config)
        # The JSON settings (ser_json_inf_nan, ser_json_temporal, ...) are read from the
        # serializer's own config, not from the schema's.
        return cls(
            tuple(names),
            SchemaSerializer(row, config),
            SchemaSerializer(core_schema.list_schema(row), config),
            _StructRows.for_fields(ordered, config or {}),
        )

    def dump_one(self, row: Iterable[Any]) -> bytes:
        """The JSON object of one row; extra trailing values in the row are ignored."""
        if self.structs is not None:
            body = self.structs.dump_one(row)
            if body is not None:
                return body
        return self._json(self.one, dict(zip(self.names, row)))

    def dump_many(self, rows: Sequence[Sequence[Any]]) -> bytes:
        """The JSON array of ``rows``; extra trailing values in a row are ignored."""
        if self.structs is not None:
            body = self.structs.dump_many(rows)
            if body is not None:
                return body
        names = self.names
        return self._json(self.many, [dict(zip(names, row)) for row in rows])

    @staticmethod
    def _json(serializer: SchemaSerializer, value: Any) -> bytes:
        try:
            return serializer.to_json(value, by_alias=True, warnings="error")
        except PydanticSerializationError as error:
            raise RowTypeMismatch(str(error)) from None


@dataclass(frozen=True, slots=True)
class _StructRows:
    """Rows encoded by msgspec as structs of the fields, for values of the exact types
    whose JSON is the same in msgspec and pydantic-core; ``None`` answers "use pydantic"."""

    width: int
    struct: type[msgspec.Struct]
    allowed: tuple[frozenset[type], ...]
    """Per field: the exact types of the values msgspec may write for it."""
    floats: tuple[int, ...]
    """The positions of the float fields, whose large values msgspec writes otherwise."""
    encode: Callable[[Any], bytes]

    @classmethod
    def for_fields(
        cls, fields: Mapping[str, Any], config: Mapping[str, Any]
    ) -> _StructRows | None:
        """The route for these typed-dict fields, or ``None`` where msgspec's JSON for some
        value could differ (another scalar, a serialiser, an exclusion, JSON settings)."""
        if any(config.get(key, default) != default for key, default in _STRUCT_CONFIG.items()):
            return None
        allowed = []
        renamed = {}
        for name, field in fields.items():
            if "serialization_exclude" in field or "serialization_exclude_if" in field:
                return None
            types = _struct_types(field["schema"])
            if types is None:
                return None
            allowed.append(types)
            renamed[name] = field.get("serialization_alias", name)
        # Never part of a reference cycle (its values are scalars): gc=False spares the
        # garbage collector a thousand tracked objects per page.
        try:  # msgspec refuses names it would have to escape
            struct = msgspec.defstruct(
                "Row", [(name, object) for name in fields], rename=renamed, gc=False
            )
        except (TypeError, ValueError):
            return None
        floats = tuple(i for i, types in enumerate(allowed) if float in types)
        return cls(len(allowed), struct, tuple(allowed), floats, msgspec.json.Encoder().encode)

    def dump_one(self, row: Iterable[Any]) -> bytes | None:
        """The JSON of one row, or ``None`` if a value is not one msgspec may write."""
        values = tuple(row)[: self.width]
        if len(values) != self.width or not all(map(contains, self.allowed, map(type, values))):
            return None
        for index in self.floats:
            value = values[index]
            if value is not None and not abs(value) < _FLOAT_LIMIT:
                return None  # also NaN and the infinities: rare, and pydantic writes them
        try:
            return self.encode(self.struct(*values))
        except _ENCODE_ERRORS:
            return None

    def dump_many(self, rows: Sequence[Sequence[Any]]) -> bytes | None:
        """The JSON array of ``rows``, or ``None`` if a value is not one msgspec may write."""
        if not rows:
            return b"[]"
        columns = list(zip(*rows))  # one pass per column, in C, instead of one per value
        if len(columns) < self.width:
            return None
        if not all(map(frozenset.issuperset, self.allowed, map(map, repeat(type), columns))):
            return None
        for index in self.floats:  # filter(None, ...): no None, and 0.0 needs no look
            if not max(map(abs, filter(None, columns[index])), default=0.0) < _FLOAT_LIMIT:
                return None  # NaN first also lands here: pydantic writes it
        try:  # the structs built from the columns: faster than unpacking each row
            return self.encode(list(map(self.struct, *columns[: self.width])))
        except _ENCODE_ERRORS:
            return None  # e.g. a lone surrogate in a str: pydantic's turn


def _struct_types(schema: Mapping[str, Any]) -> frozenset[type] | None:
    """The exact types of the values msgspec writes as pydantic-core does for ``schema``
    (a field that passed ``_as_is``), or ``None`` if there are none."""
    if "serialization" in schema:
        return None  # an annotated serialiser: only pydantic-core runs it
    kind = schema.get("type")
    if kind == "nullable":
        inner = _struct_types(schema["schema"])
        return None if inner is None else inner | {_NONE}
    if kind == "default" or kind == "function-before":
        return _struct_types(schema["schema"])
    if kind == "enum":
        values = [member.value for member in schema["members"]]
        # msgspec writes an enum member as its value when that is a str or an int
        if all(type(value) is str for value in values) or all(
            type(value) is int for value in values
        ):
            return frozenset({schema["cls"]})
        return None
    if kind == "uuid":
        return _uuid_types()
    python_type = _STRUCT_TYPES.get(kind)  # type: ignore[arg-type]
    return None if python_type is None else frozenset({python_type})


@functools.cache
def _uuid_types() -> frozenset[type]:
    """``UUID``, and asyncpg's subclass of it (which it returns for ``uuid`` columns, and
    which both encoders write as the canonical string), where asyncpg is installed."""
    try:
        pgproto = importlib.import_module("asyncpg.pgproto.pgproto")
    except ImportError:
        return frozenset({UUID})
    return frozenset({UUID, pgproto.UUID})


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
