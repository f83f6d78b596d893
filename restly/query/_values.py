"""Value types for list query parameters: what a filter value may be, and how it parses.

Every filter key of a list-parameters class gets a pydantic type built here, so FastAPI
validates the query string before any SQL is built and a bad value answers 422 naming the
key. ``scalar_kind`` classifies a schema annotation; the ``*_type`` builders wrap it::

    kind = scalar_kind(int)                  # ScalarKind.INT
    one_or_more_type(kind, int, bounds=None) # list[int]: "1,2,3" -> [1, 2, 3], at most MAX_IN_ITEMS

The builders are memoised: equal arguments give the very same type object, so the views of
an application share one type per (kind, annotation, bounds), and whatever is derived from
a type (its JSON schema, ``value_type_schema``, which ``list_params_openapi`` documents
each key with) is computed once per type.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import functools
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import AfterValidator, BeforeValidator, Field, TypeAdapter
from pydantic_core import PydanticCustomError

from .._annotations import allows_none, unwrap
from .._introspect import decimal_type
from .._caches import put_bounded

__all__ = [
    "INT64_BOUNDS",
    "MAX_CONTAINS_WORDS",
    "MAX_IN_ITEMS",
    "ScalarKind",
    "contains_type",
    "inline_definitions",
    "one_or_more_type",
    "scalar_kind",
    "single_type",
    "split_commas",
    "stored_value_type",
    "value_type_schema",
]

MAX_IN_ITEMS = 1000
"""Most values one ``?key=a,b,...`` (IN / NOT IN) filter accepts; more answers 422."""

MAX_CONTAINS_WORDS = 20
"""Most whitespace-separated words one ``__contains`` filter accepts; more answers 422."""

INT64_BOUNDS = (-(2**63), 2**63 - 1)
"""Integers outside this range would overflow the database driver, so they answer 422."""

# Decimal filters must stay within what PostgreSQL's NUMERIC accepts in a comparison;
# "1e999999" would otherwise fail inside the database.
_DECIMAL_LIMIT = decimal.Decimal("1e100")
_DECIMAL_DIGITS = 100  # digits before the point: below _DECIMAL_LIMIT


class ScalarKind(enum.Enum):
    """The kinds of values a column filter understands."""

    BOOL = "bool"
    INT = "int"
    FLOAT = "float"
    DECIMAL = "decimal"
    STR = "str"
    DATE = "date"
    DATETIME = "datetime"
    TIME = "time"
    UUID = "uuid"
    ENUM = "enum"
    LITERAL = "literal"

    @property
    def orderable(self) -> bool:
        """Whether ``__gt/__gte/__lt/__lte`` make sense for values of this kind."""
        return self in _ORDERABLE


_ORDERABLE = frozenset(
    {
        ScalarKind.INT,
        ScalarKind.FLOAT,
        ScalarKind.DECIMAL,
        ScalarKind.STR,
        ScalarKind.DATE,
        ScalarKind.DATETIME,
        ScalarKind.TIME,
    }
)

# Order matters: bool is an int subclass and datetime a date subclass.
_KINDS_BY_TYPE: tuple[tuple[type, ScalarKind], ...] = (
    (bool, ScalarKind.BOOL),
    (enum.Enum, ScalarKind.ENUM),
    (int, ScalarKind.INT),
    (float, ScalarKind.FLOAT),
    (decimal.Decimal, ScalarKind.DECIMAL),
    (str, ScalarKind.STR),
    (dt.datetime, ScalarKind.DATETIME),
    (dt.date, ScalarKind.DATE),
    (dt.time, ScalarKind.TIME),
    (uuid.UUID, ScalarKind.UUID),
)

def scalar_kind(annotation: Any) -> ScalarKind | None:
    """Classify an (unwrapped) annotation; None when it is not a filterable scalar."""
    if get_origin(annotation) is Literal:
        return ScalarKind.LITERAL
    if not isinstance(annotation, type):
        return None
    for base, kind in _KINDS_BY_TYPE:
        if issubclass(annotation, base):
            return kind
    return None


def _identity(annotation: Any) -> Any:
    """A cache key telling apart annotations that compare equal but parse differently.

    ``Literal["a", "b"] == Literal["b", "a"]`` and ``Literal[1] == Literal[True]``, yet their
    error messages and OpenAPI enums differ, so literals are keyed by their typed values.
    """
    if get_origin(annotation) is Literal:
        return (Literal, tuple((type(value), value) for value in get_args(annotation)))
    return annotation


MAX_VALUE_TYPES = 1024
"""Most filter value types (and their JSON schemas) kept for reuse: an application has a few
dozen; the bound only matters to processes that keep making models with new column types."""


def _memoised(build: Callable[..., Any]) -> Callable[..., Any]:
    """Reuse the type built for the same arguments (an unhashable annotation is built anew);
    the oldest of more than MAX_VALUE_TYPES is forgotten."""
    built: dict[tuple[Any, ...], Any] = {}

    @functools.wraps(build)
    def type_for(*args: Any) -> Any:
        key = tuple(_identity(arg) for arg in args)
        try:
            return built[key]
        except KeyError:
            return put_bounded(built, key, build(*args), MAX_VALUE_TYPES)
        except TypeError:  # unhashable: nothing to share
            return build(*args)

    return type_for


def _no_nul(value: str) -> str:
    # PostgreSQL rejects NUL in text parameters with an error, so refuse it up front.
    if "\x00" in value:
        raise PydanticCustomError("string_nul", "String must not contain NUL characters")
    return value


def _item_type(kind: ScalarKind, annotation: Any, bounds: tuple[int, int] | None) -> Any:
    """The pydantic type of one value of ``kind``, with range checks the database needs."""
    if kind is ScalarKind.INT:
        low, high = bounds or INT64_BOUNDS
        return Annotated[int, Field(ge=low, le=high)]
    if kind is ScalarKind.FLOAT:
        return Annotated[float, Field(allow_inf_nan=False)]
    if kind is ScalarKind.DECIMAL:
        return decimal_type(_DECIMAL_DIGITS, None)
    if kind is ScalarKind.STR:
        return Annotated[str, AfterValidator(_no_nul)]
    return annotation


def _within_decimal_limit(value: decimal.Decimal) -> decimal.Decimal:
    if not -_DECIMAL_LIMIT < value < _DECIMAL_LIMIT:
        raise PydanticCustomError(
            "decimal_range", "Input should be between -{limit} and {limit}", {"limit": "1e100"}
        )
    return value


@_memoised
def stored_value_type(kind: ScalarKind, annotation: Any, bounds: Any, storage: Any) -> Any:
    """The type of one filter value sent as JSON (no None, no comma lists), for a column
    whose own pydantic type is ``storage`` (``schemas.column_python_type``; None if unknown).

    The storage type carries what the column can hold (``String(100)``'s length, an
    integer's width, a ``Numeric``'s digits, no booleans for numbers), so a value that no
    row can have is refused; the guards of the ``?key=`` types that it lacks are added (NUL
    characters, the decimal range). When it describes another kind of value than the
    schema field, the field's own type (as for ``?key=``) is used.
    """
    if storage is None or scalar_kind(unwrap(storage)) is not kind:
        return _item_type(kind, annotation, bounds)
    if kind is ScalarKind.STR:
        return Annotated[storage, AfterValidator(_no_nul)]
    if kind is ScalarKind.DECIMAL:
        return Annotated[storage, AfterValidator(_within_decimal_limit)]
    return storage


def split_commas(value: Any) -> Any:
    """Turn ``"1,2"`` (or repeated keys ``["1", "2,3"]``) into one flat list of items."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        return value
    flat: list[Any] = []
    for item in items:
        flat.extend(item.split(",") if isinstance(item, str) else [item])
    return flat


@_memoised
def single_type(kind: ScalarKind, annotation: Any, bounds: tuple[int, int] | None) -> Any:
    """Optional type of a one-value filter (``__gte``, ``__lt``...)."""
    return _item_type(kind, annotation, bounds) | None


@_memoised
def one_or_more_type(
    kind: ScalarKind, annotation: Any, bounds: tuple[int, int] | None
) -> Any:
    """Optional list type of an equality / NOT IN filter: comma-separated or repeated keys.

    It is a ``list`` so FastAPI gathers repeated keys and OpenAPI shows an array of the
    item type; the cap keeps huge IN lists away from the database.
    """
    item = _item_type(kind, annotation, bounds)
    items = Annotated[list[item], Field(max_length=MAX_IN_ITEMS)]  # type: ignore[valid-type]
    return Annotated[items | None, BeforeValidator(split_commas)]


def _check_words(value: str) -> str:
    if len(value.split()) > MAX_CONTAINS_WORDS:
        raise PydanticCustomError(
            "too_many_words",
            "At most {max_words} words are allowed",
            {"max_words": MAX_CONTAINS_WORDS},
        )
    return value


@_memoised
def contains_type() -> Any:
    """Optional type of a ``__contains`` filter: text of at most MAX_CONTAINS_WORDS words."""
    return Annotated[str, AfterValidator(_no_nul), AfterValidator(_check_words)] | None


_type_schemas: dict[int, tuple[Any, dict[str, Any]]] = {}


def value_type_schema(value_type: Any) -> dict[str, Any]:
    """The JSON schema of one filter value type, definitions inlined; built once per type.

    The result is shared: copy it before changing it. Building it also proves, when a
    params class is created, that pydantic can validate the type.
    """
    # Keyed by identity: equal types may still differ (see _identity); the builders above
    # return one object per type, and the entry keeps it alive so its id is not reused
    # while the entry exists (evicting it frees both).
    entry = _type_schemas.get(id(value_type))
    if entry is None:
        schema = TypeAdapter(value_type).json_schema()
        definitions = schema.pop("$defs", {})
        entry = (value_type, inline_definitions(schema, definitions))
        put_bounded(_type_schemas, id(value_type), entry, MAX_VALUE_TYPES)
    return entry[1]


def inline_definitions(value: Any, definitions: dict[str, Any]) -> Any:
    """Replace ``{"$ref": "#/$defs/X"}`` with a copy of definition X, recursively."""
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return inline_definitions(definitions[ref.removeprefix("#/$defs/")], definitions)
        return {key: inline_definitions(item, definitions) for key, item in value.items()}
    if isinstance(value, list):
        return [inline_definitions(item, definitions) for item in value]
    return value
