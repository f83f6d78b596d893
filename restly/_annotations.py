"""Typing walkers shared by schemas, list parameters and eager loading.

```python
unwrap(Annotated[int | None, ReadOnly])   # int
allows_none(Optional[str])                # True
nested_models(list[AuthorSchema] | None)  # [AuthorSchema]
```

`COLLECTIONS` and `UNIONS` are the one definition of "a collection annotation" and "a union
annotation" (compare with `typing.get_origin(annotation)`). A leaf: imports nothing of restly.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

__all__ = ["COLLECTIONS", "UNIONS", "allows_none", "nested_models", "strip_annotated", "unwrap"]

#: Origins of collection annotations (`typing.Sequence[X]` has origin `Sequence` too).
COLLECTIONS: tuple[Any, ...] = (list, tuple, set, frozenset, Sequence)
#: Origins of union annotations (`Union[X, Y]`, `Optional[X]`, `X | Y`).
UNIONS: tuple[Any, ...] = (Union, types.UnionType)


def strip_annotated(annotation: Any) -> Any:
    """Strip `Annotated` (all levels), keeping `Optional` and everything else."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def unwrap(annotation: Any) -> Any:
    """Strip `Annotated` (including `fr.ReadOnly`) and `Optional` from an annotation.

    A union of several non-None types is returned unchanged: it is not a single kind.
    """
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in UNIONS:
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def allows_none(annotation: Any) -> bool:
    """Whether `None` is a valid value for `annotation` (`Optional`, `X | None`)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return allows_none(get_args(annotation)[0])
    if origin in UNIONS:
        return any(arg is type(None) or allows_none(arg) for arg in get_args(annotation))
    return annotation is type(None)


def nested_models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside `annotation` (`X`, `X | None`, `list[X]`, ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is None:
        return []
    args = typing.get_args(annotation)
    if origin is Annotated:
        return nested_models(args[0])
    if origin in UNIONS or args:
        return [found for arg in args for found in nested_models(arg)]
    return []
