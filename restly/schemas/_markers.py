"""Field markers: `ReadOnly[T]` and `WriteOnly[T]`; `RefTarget`, what a reference marker points at.

`ReadOnly` fields appear in responses but are never accepted on input: they are dropped from
the derived creation and update schemas, so a client cannot mass-assign them. `WriteOnly`
fields are accepted on input but never appear in any response, nested ones included:

```python
class UserSchema(fr.IDSchema):
    email: str
    password: fr.WriteOnly[str]
    created_at: fr.ReadOnly[datetime]
```

Both are `Annotated` aliases, so type checkers see plain `str` / `datetime`. A marker counts
wherever it sits in a field's annotation: `fr.WriteOnly[str] | None`,
`Optional[fr.WriteOnly[str]]`, `list[fr.WriteOnly[str]]` and stacked `Annotated` all make the
whole field write-only (a secret is never shown just because it is optional).
"""

from __future__ import annotations

import typing
from typing import Annotated, Any, NamedTuple, TypeVar

from pydantic import GetJsonSchemaHandler
from pydantic.fields import FieldInfo
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

__all__ = ["ReadOnly", "RefTarget", "WriteOnly", "is_read_only", "is_write_only"]

T = TypeVar("T")


class RefTarget(NamedTuple):
    """What a reference field points at: the mapped class and its primary key's Python type."""

    model: type[Any]
    id_type: type[Any]


class _AccessMarker:
    """Metadata object placed in `Annotated`; also sets readOnly/writeOnly in JSON schema."""

    __slots__ = ("keyword",)

    def __init__(self, keyword: str) -> None:
        self.keyword = keyword

    def __repr__(self) -> str:
        return f"<restly {self.keyword} marker>"

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(core_schema)
        json_schema[self.keyword] = True
        return json_schema


READ_ONLY = _AccessMarker("readOnly")
WRITE_ONLY = _AccessMarker("writeOnly")

ReadOnly = Annotated[T, READ_ONLY]
"""A field the server sets: shown in responses, never accepted on input."""

WriteOnly = Annotated[T, WRITE_ONLY]
"""A field the client sets: accepted on input, never shown in any response."""


def is_read_only(field: FieldInfo) -> bool:
    """Return whether a pydantic field was declared `ReadOnly[...]`."""
    return _has_marker(field, READ_ONLY)


def is_write_only(field: FieldInfo) -> bool:
    """Return whether a pydantic field was declared `WriteOnly[...]`."""
    return _has_marker(field, WRITE_ONLY)


def _has_marker(field: FieldInfo, marker: Any) -> bool:
    return any(item is marker for item in field.metadata) or _annotation_has(
        field.annotation, marker
    )


def _annotation_has(annotation: Any, marker: Any) -> bool:
    """Whether ``marker`` is in the ``Annotated`` metadata of ``annotation`` or of any type
    inside it (union members, collection items, stacked ``Annotated``)."""
    origin = typing.get_origin(annotation)
    if origin is None:
        return False
    if origin is Annotated and any(item is marker for item in annotation.__metadata__):
        return True
    if origin is typing.Literal:
        return False
    return any(_annotation_has(arg, marker) for arg in typing.get_args(annotation))
