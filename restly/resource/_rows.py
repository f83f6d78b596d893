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

A page can be read on that route as it comes (``RowSerializer.collect``): a chunk of rows at
a time is checked and made into structs, so the page's rows (two objects each that the
garbage collector tracks, where a struct is none) never pile up; ``dump_page`` encodes it::

    page = rows.collect(result, limit=50)   # a StructPage: the structs, first and last row
    rows.dump_page(page)                    # the same bytes as dump_many(result.all())
"""

from __future__ import annotations

import functools
import importlib
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from itertools import islice, repeat
from operator import contains
from typing import Any
from uuid import UUID

import msgspec
from pydantic import BaseModel
from pydantic_core import PydanticSerializationError, SchemaSerializer, core_schema

from .._introspect import PURE_CHECKS

__all__ = ["DeferredRows", "RowSerializer", "RowTypeMismatch", "StructPage"]

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
# Rows checked and made into structs at a time by ``collect``: enough for the checks to run
# in C over columns, few enough that the rows read so far never outnumber the collector's
# threshold of new objects (700).
_CHUNK = 128


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
        if isinstance(rows, StructPage):
            return self.dump_page(rows)
        if self.structs is not None:
            body = self.structs.dump_many(rows)
            if body is not None:
                return body
        names = self.names
        return self._json(self.many, [dict(zip(names, row)) for row in rows])

    @property
    def collects(self) -> bool:
        """Whether rows can be read into a ``StructPage`` (the msgspec route exists)."""
        return self.structs is not None

    def collect(self, rows: Iterable[Sequence[Any]], limit: int | None) -> StructPage:
        """The first ``limit`` of ``rows`` (all of them when None) as a ``StructPage``; the
        rest are read and dropped (``more`` tells whether there were any). Only where
        ``collects``."""
        if self.structs is None:
            raise TypeError("RowSerializer.collect needs the msgspec route (see collects)")
        return self.structs.collect(rows, limit)

    def dump_page(self, page: StructPage) -> bytes:
        """The JSON array of a page ``collect`` read: msgspec's where every value was one
        it writes as pydantic-core does, else pydantic-core's over the same values (which
        raises ``RowTypeMismatch`` for a value of the wrong type)."""
        if page.exact and self.structs is not None:
            try:
                return self.structs.encode(page.structs)
            except _ENCODE_ERRORS:
                pass  # e.g. a lone surrogate in a str: pydantic's turn
        names, astuple = self.names, msgspec.structs.astuple
        return self._json(self.many, [dict(zip(names, astuple(row))) for row in page.structs])

    @staticmethod
    def _json(serializer: SchemaSerializer, value: Any) -> bytes:
        try:
            return serializer.to_json(value, by_alias=True, warnings="error")
        except PydanticSerializationError as error:
            raise RowTypeMismatch(str(error)) from None


class DeferredRows:
    """A view's ``RowSerializer``, decided when the view is created and built on first use.

    Whether rows can answer for the schema is known at once (``for_schema`` returns ``None``
    otherwise); the serializers themselves (two pydantic-core ones and a msgspec struct)
    wait for the first dump, so an application's views whose reads are never served cost
    a check, not three compiled serializers each.
    """

    __slots__ = ("_built", "_lock", "_schema", "names")

    def __init__(self, schema: type[BaseModel], names: tuple[str, ...]) -> None:
        self._schema = schema
        self.names = names
        self._built: RowSerializer | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_schema(cls, schema: type[BaseModel], names: Sequence[str]) -> DeferredRows | None:
        """As ``RowSerializer.for_schema``: ``None`` when only a schema object can produce
        the schema's output."""
        fields = _plain_fields(schema.__pydantic_core_schema__)
        if fields is None or set(fields) != set(names):
            return None
        return cls(schema, tuple(names))

    def get(self) -> RowSerializer:
        """The serializer, built on the first call."""
        built = self._built
        if built is None:
            with self._lock:
                built = self._built
                if built is None:
                    built = RowSerializer.for_schema(self._schema, self.names)
                    assert built is not None  # the same check as for_schema's
                    self._built = built
        return built

    @property
    def structs(self) -> _StructRows | None:
        """``RowSerializer.structs``: the msgspec route, or ``None``."""
        return self.get().structs

    def dump_one(self, row: Iterable[Any]) -> bytes:
        """``RowSerializer.dump_one``."""
        return (self._built or self.get()).dump_one(row)

    def dump_many(self, rows: Sequence[Sequence[Any]]) -> bytes:
        """``RowSerializer.dump_many``."""
        return (self._built or self.get()).dump_many(rows)

    @property
    def collects(self) -> bool:
        """``RowSerializer.collects``."""
        return (self._built or self.get()).collects

    def collect(self, rows: Iterable[Sequence[Any]], limit: int | None) -> StructPage:
        """``RowSerializer.collect``."""
        return (self._built or self.get()).collect(rows, limit)

    def dump_page(self, page: StructPage) -> bytes:
        """``RowSerializer.dump_page``."""
        return (self._built or self.get()).dump_page(page)


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
        if len(columns) < self.width or not self._exact(columns):
            return None
        try:  # the structs built from the columns: faster than unpacking each row
            return self.encode(list(map(self.struct, *columns[: self.width])))
        except _ENCODE_ERRORS:
            return None  # e.g. a lone surrogate in a str: pydantic's turn

    def collect(self, rows: Iterable[Sequence[Any]], limit: int | None) -> StructPage:
        """See ``RowSerializer.collect``: ``_CHUNK`` rows at a time, each chunk checked as
        ``dump_many`` checks a page, and made into structs whatever the check found."""
        structs: list[Any] = []
        exact = True
        first = last = None
        remaining = iter(rows)
        wanted = limit
        while wanted is None or wanted > 0:
            chunk = list(islice(remaining, _CHUNK if wanted is None else min(_CHUNK, wanted)))
            if not chunk:
                break
            if first is None:
                first = chunk[0]
            last = chunk[-1]
            columns = list(zip(*chunk))[: self.width]
            exact = exact and self._exact(columns)
            structs.extend(map(self.struct, *columns))
            if wanted is not None:
                wanted -= len(chunk)
        more = next(remaining, None) is not None
        deque(remaining, maxlen=0)  # read to the end: the result closes its cursor
        return StructPage(structs, first, last, more, exact)

    def _exact(self, columns: Sequence[Sequence[Any]]) -> bool:
        """Whether every value of ``columns`` (the fields' columns) is one msgspec writes
        as pydantic-core does."""
        if not all(map(frozenset.issuperset, self.allowed, map(map, repeat(type), columns))):
            return False
        for index in self.floats:  # filter(None, ...): no None, and 0.0 needs no look
            if not max(map(abs, filter(None, columns[index])), default=0.0) < _FLOAT_LIMIT:
                return False  # NaN first also lands here: pydantic writes it
        return True


class StructPage(Sequence[Any]):
    """Rows read by ``RowSerializer.collect``: a sequence of msgspec structs of their
    fields (whose attributes are the fields, as a row's are), with the first and last rows
    kept whole (their trailing values: sort keys, a total)."""

    __slots__ = ("exact", "first", "last", "more", "structs")

    def __init__(self, structs: list[Any], first: Any, last: Any, more: bool, exact: bool) -> None:
        self.structs = structs
        self.first = first
        self.last = last
        #: Whether a row came after the first ``limit``.
        self.more = more
        #: Whether every value is one msgspec writes as pydantic-core does.
        self.exact = exact

    def __len__(self) -> int:
        return len(self.structs)

    def __getitem__(self, index: Any) -> Any:
        return self.structs[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.structs)

    def reverse(self) -> None:
        """Reverse the page in place (a page read backwards)."""
        self.structs.reverse()
        self.first, self.last = self.last, self.first


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
