"""Mount view classes on a FastAPI app or ``APIRouter``.

::

    @fr.include_view(app)              # as a decorator (the usual form)
    class WorldView(fr.AsyncRestView):
        prefix = "/world"
        model = World

    fr.include_view(app, UserView, PostView)   # named views
    fr.include_views(app)                       # every view of the active FRGlobals

Mounting is idempotent per app or router: a view is never added twice. Routes are added
straight to the target router (no intermediate router is copied); a collection answers both
``/world`` and ``/world/`` without a redirect, and OpenAPI shows ``/world`` once.

Every route is hardened (see ``restly._limits``): strict JSON bodies, no NUL characters or
invalid UTF-8 in URLs, and the body limit of the view's ``FRGlobals.max_body_size``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar, overload
from weakref import WeakKeyDictionary

from fastapi import APIRouter, Depends, FastAPI

from ._handlers import install_exception_handlers
from ._limits import hardened_route_class
from .db._globals import FRGlobals, activate, deactivate, get_fr_globals
from .exc import RestlyConfigurationError

__all__ = ["include_view", "include_views"]

V = TypeVar("V", bound=type)

_activators: WeakKeyDictionary[FRGlobals, Any] = WeakKeyDictionary()


@overload
def include_view(app: FastAPI | APIRouter) -> Callable[[V], V]: ...
@overload
def include_view(app: FastAPI | APIRouter, view: type, /, *views: type) -> None: ...


def include_view(app: FastAPI | APIRouter, *views: type) -> Callable[[V], V] | None:
    """Mount ``views`` on ``app``; with no views, return a class decorator that mounts one."""
    if not views:

        def decorator(view: V) -> V:
            _mount(app, view)
            return view

        return decorator
    for view in views:
        _mount(app, view)
    return None


def include_views(app: FastAPI | APIRouter, *, globals: FRGlobals | None = None) -> None:  # noqa: A002
    """Mount every view registered in ``globals`` (default: the active one), in order."""
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
    shared_dependencies = [Depends(_activator(fr_globals)), *(view.dependencies or ())]  # type: ignore[attr-defined]
    prefix = getattr(view, "prefix", "")
    route_class = hardened_route_class(router.route_class)
    for compiled in view.__restly_routes__:  # type: ignore[attr-defined]
        options = dict(compiled.options)
        options.setdefault("route_class_override", route_class)
        responses = {**(view.responses or {}), **options.pop("responses", {})}  # type: ignore[attr-defined]
        arguments = dict(
            methods=list(compiled.methods),
            name=f"{view.__name__}.{compiled.name}",
            tags=options.pop("tags", None) or list(view.tags or ()) or None,  # type: ignore[attr-defined]
            dependencies=[*shared_dependencies, *options.pop("dependencies", ())],
            responses=responses or None,
            **options,
        )
        router.add_api_route(compiled.path, compiled.endpoint, **arguments)
        _limit_body(router, fr_globals.max_body_size)
        if prefix and compiled.path == prefix:
            # The collection answers "/books/" too (no redirect); OpenAPI shows it once.
            arguments.update(include_in_schema=False, name=f"{arguments['name']}/")
            router.add_api_route(compiled.path + "/", compiled.endpoint, **arguments)
            _limit_body(router, fr_globals.max_body_size)
    mounted.add(view)
    if isinstance(app, FastAPI):
        app.openapi_schema = None  # routes changed: regenerate the cached document
        if fr_globals.install_default_exception_handlers:
            install_exception_handlers(app)


def _limit_body(router: APIRouter, max_body_size: int | None) -> None:
    """Set the body limit of the route just added (read by the hardened route's handler)."""
    router.routes[-1].restly_max_body_size = max_body_size  # type: ignore[attr-defined]


def _router_of(app: FastAPI | APIRouter) -> APIRouter:
    if isinstance(app, FastAPI):
        return app.router
    if isinstance(app, APIRouter):
        return app
    raise TypeError(f"include_view() needs a FastAPI app or an APIRouter; got {app!r}")


def _activator(fr_globals: FRGlobals) -> Callable[[], AsyncIterator[None]]:
    """A dependency making ``fr_globals`` active while a request of its views is handled."""
    existing = _activators.get(fr_globals)
    if existing is not None:
        return existing  # type: ignore[no-any-return]

    async def activate_globals() -> AsyncIterator[None]:
        token = activate(fr_globals)
        try:
            yield
        finally:
            deactivate(token)

    _activators[fr_globals] = activate_globals
    return activate_globals
