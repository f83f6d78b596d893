"""restly's cache policy in code: derived objects live on the class they derive from.

```python
def id_schema_for(model):
    cache = class_cache(model)          # model.__dict__["__restly_cache__"]
    if "id_schema" not in cache:
        cache["id_schema"] = build(model)
    return cache["id_schema"]
```

A cache keyed by a user class (a model, a schema) is a dict in that class's own
``__dict__``, as pydantic keeps ``__pydantic_validator__`` and SQLAlchemy ``__mapper__``:
it goes when the class goes, even when the cached object refers back to the class (which a
``WeakKeyDictionary`` entry would keep alive forever), and a look-up is one dict access.
It is read from ``__dict__``, so subclasses never inherit it. Caches keyed by anything else
are bounded (`put_bounded`). The table of every cache is in ``docs/architecture.md``
("Cache policy").
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, TypeVar

__all__ = ["class_cache", "put_bounded"]

K = TypeVar("K")
V = TypeVar("V")

_SLOT = "__restly_cache__"


def class_cache(cls: type) -> dict[Hashable, Any]:
    """The cache dict owned by `cls` itself (created on first use, never inherited)."""
    cache: dict[Hashable, Any] | None = cls.__dict__.get(_SLOT)
    if cache is None:
        cache = {}
        # type.__setattr__: declarative and pydantic metaclasses intercept attribute writes
        # (SQLAlchemy would expire its memoisations); this is no mapped or model attribute.
        type.__setattr__(cls, _SLOT, cache)
    return cache


def put_bounded(cache: dict[K, V], key: K, value: V, limit: int) -> V:
    """Store `value` under `key`, first evicting the oldest entry when `cache` is full."""
    if len(cache) >= limit:
        cache.pop(next(iter(cache)))
    cache[key] = value
    return value
