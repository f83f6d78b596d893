"""Mount view classes on a FastAPI app or `APIRouter`.

```python
@fr.include_view(app)              # as a decorator (the usual form)
class WorldView(fr.AsyncRestView):
    prefix = "/world"
    model = World

fr.include_view(app, UserView, PostView)   # named views
fr.include_views(app)                       # every view of the active FRGlobals
```

Mounting is idempotent per app or router: a view is never added twice. Routes are added
straight to the target router (no intermediate router is copied); a collection answers both
`/world` and `/world/` without a redirect, and OpenAPI shows `/world` once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar, overload
from weakref import WeakKeyDictionary

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.types import Receive, Scope, Send

from ._handlers import install_exception_handlers
from .db._globals import FRGlobals, activate, deactivate, get_fr_globals
from .exc import RestlyConfigurationError

__all__ = ["RestlyRoute", "include_view", "include_views"]

V = TypeVar("V", bound=type)

_route_classes: WeakKeyDictionary[FRGlobals, type[RestlyRoute]] = WeakKeyDictionary()


class RestlyRoute(APIRoute):
    """An `APIRoute` that makes its view's `FRGlobals` active for the whole request:
    dependencies, handler, response and teardown all see the globals the view is bound to.

    Cheaper than a dependency doing the same: one `ContextVar.set` per request.
    """

    fr_globals: ClassVar[FRGlobals]

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = activate(self.fr_globals)
        try:
            await super().handle(scope, receive, send)
        finally:
            deactivate(token)


def _route_class(fr_globals: FRGlobals) -> type[RestlyRoute]:
    """The route class bound to `fr_globals` (one per globals, reused by all its views)."""
    route_class = _route_classes.get(fr_globals)
    if route_class is None:
        route_class = type("RestlyRoute", (RestlyRoute,), {"fr_globals": fr_globals})
        _route_classes[fr_globals] = route_class
    return route_class


@overload
def include_view(app: FastAPI | APIRouter) -> Callable[[V], V]: ...
@overload
def include_view(app: FastAPI | APIRouter, view: type, /, *views: type) -> None: ...


def include_view(app: FastAPI | APIRouter, *views: type) -> Callable[[V], V] | None:
    """Mount `views` on `app`; with no views, return a class decorator that mounts one."""
    if not views:

        def decorator(view: V) -> V:
            _mount(app, view)
            return view

        return decorator
    for view in views:
        _mount(app, view)
    return None


def include_views(app: FastAPI | APIRouter, *, globals: FRGlobals | None = None) -> None:  # noqa: A002
    """Mount every view registered in `globals` (default: the active one), in order."""
    for view in (globals or get_fr_globals()).registry:
        _mount(app, view)


def _mount(app: FastAPI | APIRouter, view: type) -> None:
    router = _router_of(app)
    if getattr(view, "__restly_abstract__", None) is not False:
        raise RestlyConfigurationError(
            f"{getattr(view, '__name__', view)!r} cannot be mounted: it is not a concrete "
            "restly view. Subclass fr.View / fr.AsyncRestView / fr.RestView and give it a "
            "prefix (and a model for REST views)."
        )
    # Routers are not hashable, so the set of mounted views lives on the router itself.
    mounted: set[type] = router.__dict__.setdefault("_restly_mounted_views", set())
    if view in mounted:
        return
    fr_globals: FRGlobals = view.__restly_globals__  # type: ignore[attr-defined]
    shared_dependencies = list(view.dependencies or ())  # type: ignore[attr-defined]
    route_class = _route_class(fr_globals)
    prefix = getattr(view, "prefix", "")
    for compiled in view.__restly_routes__:  # type: ignore[attr-defined]
        options = dict(compiled.options)
        responses = {**(view.responses or {}), **options.pop("responses", {})}  # type: ignore[attr-defined]
        arguments = dict(
            name=f"{view.__name__}.{compiled.name}",
            tags=options.pop("tags", None) or list(view.tags or ()) or None,  # type: ignore[attr-defined]
            dependencies=[*shared_dependencies, *options.pop("dependencies", ())],
            responses=responses or None,
            route_class_override=route_class,
            **options,
        )
        # One route per method: each gets its own OpenAPI operation id.
        for method in compiled.methods:
            router.add_api_route(compiled.path, compiled.endpoint, methods=[method], **arguments)
            if prefix and compiled.path == prefix:
                # The collection answers "/books/" too (no redirect); OpenAPI shows it once.
                hidden = {**arguments, "include_in_schema": False, "name": f"{arguments['name']}/"}
                router.add_api_route(compiled.path + "/", compiled.endpoint, methods=[method], **hidden)
    mounted.add(view)
    if isinstance(app, FastAPI):
        app.openapi_schema = None  # routes changed: regenerate the cached document
        if fr_globals.install_default_exception_handlers:
            install_exception_handlers(app)


def _router_of(app: FastAPI | APIRouter) -> APIRouter:
    if isinstance(app, FastAPI):
        return app.router
    if isinstance(app, APIRouter):
        return app
    raise TypeError(f"include_view() needs a FastAPI app or an APIRouter; got {app!r}")
