"""The names of what a view does: `Action` (what `authorize` and the commit hooks are told)
and `ViewRoute` (the generated routes, for `exclude_routes`), and `WriteAction`, what
`write_action` hands a custom action.

```python
async def authorize(self, action, obj=None, data=None):
    if action == fr.Action.DELETE and not self.user.is_admin:
        raise fr.exc.Forbidden()
```
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["Action", "ViewRoute", "WriteAction"]


class Action:
    """The actions of the generated routes, as passed to ``authorize``,
    ``before_action_commit`` and ``after_action_commit``.

    Plain strings, so a custom action (``"publish"``) is one too.
    """

    #: ``GET /books`` (and react-admin's list): before the list query.
    GET_MANY: Final = "get_many"
    #: ``GET /books/{id}``: with the loaded row.
    GET_ONE: Final = "get_one"
    #: ``POST /books``: with the validated body as ``data``.
    CREATE: Final = "create"
    #: ``PATCH /books/{id}`` (and react-admin's ``PUT``): with the row and the body.
    UPDATE: Final = "update"
    #: ``DELETE /books/{id}``: with the row.
    DELETE: Final = "delete"


class ViewRoute(str, enum.Enum):
    """The generated routes of a REST view, by the name ``exclude_routes`` takes.

    ``exclude_routes = (fr.ViewRoute.DELETE,)`` is ``exclude_routes = ("delete",)``.
    """

    #: ``GET /books``
    LIST = "index"
    #: ``POST /books``
    CREATE = "post"
    #: ``GET /books/{id}``
    GET = "get"
    #: ``PATCH /books/{id}``
    UPDATE = "patch"
    #: ``DELETE /books/{id}``
    DELETE = "delete"
    #: ``PUT /books/{id}`` (react-admin views)
    REPLACE = "put"

    def __str__(self) -> str:
        return self.value


@dataclass(slots=True)
class WriteAction:
    """One custom write running through the pipeline (see ``write_action``).

    Set ``obj`` inside the block when the action creates the row: the commit hooks are
    given ``obj`` as ``new``.
    """

    #: The action's name, as ``authorize`` and the hooks are told.
    action: str
    #: The row the action changes (or creates).
    obj: Any = None
    #: What the client sent, if anything.
    data: Any = None
    #: ``snapshot(obj)`` taken before the block ran (``None`` without an ``obj``).
    old: dict[str, Any] | None = None
