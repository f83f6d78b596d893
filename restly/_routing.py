"""Route decorators for view methods: `route`, `get`, `post`, `put`, `patch`, `delete`.

```python
class Health(fr.View):
    prefix = "/health"

    @fr.get("")
    async def status(self) -> dict[str, str]:
        return {"status": "ok"}
```

A decorator only records a `RouteSpec` on the function; `ResourceMeta` turns the
methods of a view class into FastAPI endpoints when the class is created (and reports a bad
path there, under the class's header). Paths are relative to the view's `prefix`.
`restly.views` re-exports the decorators; this is a leaf so `restly.resource` can read specs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = ["RouteSpec", "Slot", "delete", "get", "patch", "post", "put", "route", "route_spec"]

F = TypeVar("F", bound=Callable[..., Any])

_ROUTE_ATTRIBUTE = "__restly_route__"


@dataclass(frozen=True)
class RouteSpec:
    """What a route decorator recorded: the path, methods and FastAPI route options."""

    path: str
    methods: tuple[str, ...]
    status_code: int | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def problem(self) -> str | None:
        """What is wrong with the path (reported when the view class is created), if any."""
        path = self.path
        if isinstance(path, str) and (not path or path.startswith("/")):
            return None
        fix = f'"/{path}"' if isinstance(path, str) else '"" or "/{id}"'
        return f"route paths must be '' or start with '/'; got {path!r}. Use {fix}."


@dataclass(frozen=True)
class Slot:
    """A placeholder filled per view class: `getattr(view, name)` wrapped by `wrap`.

    The generated REST routes use slots in their signatures (body schema, id type, list
    parameters) so that one method on the base class serves every subclass. A dotted name
    reads through attributes: `Slot("__restly_compiled__.id_annotation")`; the empty name is
    the view class itself.
    """

    name: str
    wrap: Callable[[Any], Any] | None = None

    def resolve(self, view: type) -> Any:
        value: Any = view
        for part in self.name.split(".") if self.name else ():
            value = getattr(value, part)
        return self.wrap(value) if self.wrap is not None else value


def route(
    path: str,
    *,
    methods: Sequence[str] = ("GET",),
    status_code: int | None = None,
    **options: Any,
) -> Callable[[F], F]:
    """Make a view method an endpoint answering `methods` at `prefix + path`.

    `options` are passed to FastAPI's `add_api_route` (`response_model`, `summary`,
    `responses`, `dependencies`, `tags`, ...).
    """
    spec = RouteSpec(path, tuple(str(m).upper() for m in methods), status_code, dict(options))

    def decorate(function: F) -> F:
        setattr(function, _ROUTE_ATTRIBUTE, spec)
        return function

    return decorate


def _method_decorator(method: str, default_status: int) -> Callable[..., Callable[[F], F]]:
    def decorator(path: str = "", *, status_code: int | None = None, **options: Any) -> Any:
        return route(
            path,
            methods=(method,),
            status_code=default_status if status_code is None else status_code,
            **options,
        )

    decorator.__name__ = method.lower()
    decorator.__qualname__ = method.lower()
    decorator.__doc__ = (
        f"Make a view method a `{method}` endpoint (status {default_status} by default)."
    )
    return decorator


get = _method_decorator("GET", 200)
post = _method_decorator("POST", 201)
put = _method_decorator("PUT", 200)
patch = _method_decorator("PATCH", 200)
delete = _method_decorator("DELETE", 204)


def route_spec(function: Any) -> RouteSpec | None:
    """Return the `RouteSpec` a decorator recorded on `function`, if any."""
    return getattr(function, _ROUTE_ATTRIBUTE, None)
