"""``Page[T]``: the list envelope of views with ``include_pagination_metadata = True``.

```python
Page[BookSchema]    # {"items": [...], "total": 42, "page": 1, "page_size": 20, "total_pages": 3}
```

A keyset page adds the cursors of the pages around it (`next_cursor`, `prev_cursor`, each
only when that page exists); a list that was not counted (`Prefer: count=none`, or a page
reached by a cursor) answers `"total": null` and `has_more`; an estimated total
(`count=planned`) comes with `"total_estimated": true`.

Also usable in your own routes (``response_model=fr.Page[BookSchema]``).
"""

from __future__ import annotations

import threading
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field, create_model

from .._caches import class_cache

__all__ = ["Page"]

T = TypeVar("T")


def _absent(value: Any) -> bool:
    return value is None  # optional members are left out, never sent as null


_HAS_MORE = "Only when total is null: whether more rows follow this page."
_ESTIMATED = "Only when total is the planner's estimate (Prefer: count=planned): true."
_NEXT = "The cursor of the next page, when there is one (the Link header's rel=next)."
_PREV = "The cursor of the previous page, when there is one (rel=prev)."


class Page(BaseModel, Generic[T]):
    """The list envelope of views with ``include_pagination_metadata = True``.

    ``Page[Model]`` is built once per model class (then reused, by views and your own
    routes alike) as a plain subclass of ``Page[Any]`` with ``items: list[Model]``: the same
    fields, name and schema as pydantic's parametrisation at half its cost, which every view
    with the envelope pays when its class is created. Other parameters (``Page[int]``, type
    variables) go through pydantic's generics as usual.
    """

    items: list[T]
    #: The rows matching the filters; ``None`` when not counted.
    total: int | None
    #: The page number; ``None`` for a page reached by a cursor.
    page: int | None
    page_size: int
    total_pages: int | None
    has_more: bool | None = Field(None, exclude_if=_absent, description=_HAS_MORE)
    total_estimated: bool | None = Field(None, exclude_if=_absent, description=_ESTIMATED)
    next_cursor: str | None = Field(None, exclude_if=_absent, description=_NEXT)
    prev_cursor: str | None = Field(None, exclude_if=_absent, description=_PREV)

    def __class_getitem__(cls, typevar_values: Any) -> Any:
        params = typevar_values
        if cls is Page and isinstance(params, type) and issubclass(params, BaseModel):
            # Kept on the item class: the envelope refers to it, so a weak-keyed entry
            # would keep it alive forever.
            envelope = params.__dict__.get("__restly_cache__", {}).get("page")
            if envelope is None:
                with _envelopes_lock:
                    cache = class_cache(params)
                    envelope = cache.get("page")
                    if envelope is None:
                        envelope = cache["page"] = _envelope(params)
            return envelope
        return super().__class_getitem__(params)


def _envelope(item: type[BaseModel]) -> type[BaseModel]:
    envelope: type[BaseModel] = create_model(
        f"Page[{item.__name__}]",
        __base__=_ANY_PAGE,
        __module__=Page.__module__,
        __doc__=None,  # as pydantic's parametrisations: no description in the schema
        items=(list[item], ...),  # type: ignore[valid-type]
    )
    return envelope


_ANY_PAGE = Page[Any]
_envelopes_lock = threading.Lock()
