"""Base classes for restly schemas.

`BaseSchema` is a Pydantic v2 model that reads ORM objects (`from_attributes=True`) and
accepts both field names and aliases on input. `IDSchema` adds a read-only `id`:

```python
class WorldSchema(fr.IDSchema):
    message: str
```

`IDSchema[Model]` is a reference to one `Model` row in nested form, `{"id": 5}`, built here
once per model (`id_schema_for`; `restly.schemas._refs` reads references, `_resolve` resolves them):

```python
class BookSchema(fr.IDSchema):
    author: fr.IDSchema[Author]
```
"""

from __future__ import annotations

import typing
from typing import Any, Generic

from pydantic import BaseModel, ConfigDict, create_model, model_validator
from typing_extensions import TypeVar

from .._annotations import strip_annotated
from .._caches import class_cache
from .._introspect import column_python_type, mapper_of, primary_key_attribute
from ._markers import ReadOnly, RefTarget

__all__ = ["BaseSchema", "IDSchema", "checked_model", "id_schema_for", "pk_annotation", "plain_type"]


class BaseSchema(BaseModel):
    """Base class for schemas used by restly views."""

    model_config = ConfigDict(
        from_attributes=True,
        populate_by_name=True,
        # Every field is in every answer: the response schemas say so (`required`), and
        # client generators type them `id: number`, not `id?: number`. Input schemas
        # (validation mode) still mark only fields without a default as required.
        json_schema_serialization_defaults_required=True,
    )


#: What ``IDSchema[Model]`` references, for type checkers.
ModelT = TypeVar("ModelT", default=Any)

if typing.TYPE_CHECKING:
    # Type checkers see a generic class, so `fr.IDSchema[Author]` is a valid annotation
    # (its `id` an int) and `class BookSchema(fr.IDSchema)` needs no argument.
    class IDSchema(BaseSchema, Generic[ModelT]):
        id: ReadOnly[int]

else:

    class IDSchema(BaseSchema):
        """A schema with a read-only integer `id`: the usual base for resource schemas.

        `IDSchema[Model]` is the nested reference form: `{"id": <Model's primary key>}`,
        required and writable, resolved to the `Model` row on write.
        """

        id: ReadOnly[int]

        def __class_getitem__(cls, model: Any) -> Any:
            if cls is not IDSchema:
                return super().__class_getitem__(model)
            return id_schema_for(model)


def id_schema_for(model: Any) -> type[IDSchema]:
    """Return ``IDSchema[model]``: ``{"id": <pk>}`` in and out (built once per model, kept
    on it)."""
    cache = class_cache(checked_model(model, "IDSchema"))
    schema: type[IDSchema] | None = cache.get("id_schema")
    if schema is None:
        schema = cache["id_schema"] = _id_schema(model)
    return schema


def checked_model(model: Any, form: str) -> type[Any]:
    """``model`` if it can be referenced (mapped, one primary-key column); else TypeError."""
    mapper = mapper_of(model)
    if mapper is None:
        raise TypeError(f"fr.{form}[...] needs a mapped SQLAlchemy class; got {model!r}")
    if len(mapper.primary_key) != 1:
        raise TypeError(
            f"fr.{form}[{model.__name__}]: {model.__name__} has a composite primary key; "
            "references need a single-column primary key."
        )
    return model  # type: ignore[no-any-return]


def pk_annotation(model: type[Any]) -> Any:
    """The primary key's pydantic annotation, with its storage range for integers."""
    mapper = mapper_of(model)
    assert mapper is not None
    return column_python_type(mapper.primary_key[0].type)


def plain_type(annotation: Any) -> type[Any]:
    """``annotation`` without ``Annotated``, or ``object`` when that is not a class."""
    annotation = strip_annotated(annotation)
    return annotation if isinstance(annotation, type) else object


def _id_schema(model: type[Any]) -> type[IDSchema]:
    mapper = mapper_of(model)
    assert mapper is not None
    pk_key = primary_key_attribute(mapper)

    def from_object(cls: type[BaseModel], data: Any) -> Any:
        if isinstance(data, model):
            return {"id": getattr(data, pk_key)}
        return data

    validators: dict[str, Any] = {"_from_object": model_validator(mode="before")(from_object)}
    schema: type[IDSchema] = create_model(
        f"IDSchema[{model.__name__}]",
        __base__=IDSchema,
        __module__=model.__module__,
        __validators__=validators,
        id=(pk_annotation(model), ...),
    )
    schema.__doc__ = f"A reference to one {model.__name__} by id: {{\"id\": 5}}."
    target = RefTarget(model, plain_type(pk_annotation(model)))
    schema.__restly_ref_target__ = target  # type: ignore[attr-defined]
    return schema
