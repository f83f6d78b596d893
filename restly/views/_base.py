"""`View`: a class-based group of endpoints sharing a prefix and dependencies.

```python
class StatsView(fr.View):
    prefix = "/stats"
    tags = ["stats"]
    session: fr.AsyncSessionDep          # resolved per request, read as self.session

    @fr.get("/worlds")
    async def count_worlds(self) -> int:
        return await self.session.scalar(select(func.count()).select_from(World))

fr.include_view(app, StatsView)
```

Subclasses inherit routes and may override them like ordinary methods; an override without a
decorator keeps the route of the method it replaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

# Imported at run time, not only for type checkers: class creation resolves the annotations
# of every class in a view's MRO, and caches them only when all of them resolve.
from ..db import FRGlobals
from ..resource import CompiledRoute, ResourceMeta

__all__ = ["View"]


class View(metaclass=ResourceMeta):
    """Base class of class-based views.

    A subclass with a `prefix` or routes of its own is a concrete view: it is validated
    and registered when the class statement runs. One with neither (or with
    `__abstract__ = True`) is an abstract base to share dependencies and routes.
    """

    __abstract__ = True

    #: Path prefix of every route of the view: `""` (root) or a path starting with
    #: `/` and not ending with `/` (`"/worlds"`, `"/users/{user_id}/posts"`).
    prefix: ClassVar[str] = ""
    #: OpenAPI tags of the view's routes.
    tags: ClassVar[Sequence[str] | None] = None
    #: Dependencies run before every route of the view (e.g. `[Depends(auth)]`).
    dependencies: ClassVar[Sequence[Any] | None] = None
    #: Extra OpenAPI responses documented on every route of the view.
    responses: ClassVar[dict[int | str, dict[str, Any]] | None] = None

    # Set by ResourceMeta on every concrete view class.
    __restly_routes__: ClassVar[tuple[CompiledRoute, ...]]
    __restly_globals__: ClassVar[FRGlobals]
