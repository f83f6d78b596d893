"""The view registry: every concrete view class, in declaration order.

Each `FRGlobals` owns one registry. `ResourceMeta` adds a view class to the
registry of the globals active when the class statement runs (or the one named with the
`globals=` class keyword); `restly.include_views` mounts all of them:

```python
g = fr.FRGlobals()
with fr.use_fr_globals(g):
    class WorldView(fr.AsyncRestView):
        prefix = "/world"
        model = World

assert list(g.registry) == [WorldView]
fr.include_views(app, globals=g)
```
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["ViewRegistry"]


class ViewRegistry:
    """An ordered set of view classes."""

    __slots__ = ("_views",)

    def __init__(self) -> None:
        # A dict keeps insertion order and gives O(1) membership.
        self._views: dict[type, None] = {}

    def add(self, view: type) -> None:
        """Register `view`; registering it again keeps its first position."""
        self._views.setdefault(view, None)

    def clear(self) -> None:
        """Forget every view (a fresh start, e.g. between tests)."""
        self._views.clear()

    def __iter__(self) -> Iterator[type]:
        return iter(tuple(self._views))

    def __len__(self) -> int:
        return len(self._views)

    def __contains__(self, view: object) -> bool:
        return view in self._views

    def __repr__(self) -> str:
        names = ", ".join(view.__qualname__ for view in self._views)
        return f"ViewRegistry([{names}])"
