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

Every route is hardened (see `restly._limits`): strict JSON bodies, no NUL characters or
invalid UTF-8 in URLs, and the body limit of the view's `FRGlobals.max_body_size`.

Nothing is kept beside the app: each route remembers its view, and what was mounted (for
idempotency) and where each model is served (for `x-resource-ref` in OpenAPI) are read from
the app's own routes. Mounting on an app wraps `app.openapi` (as FastAPI documents for
customising the document) so the references of its document name its own paths.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar, TypeVar, overload

from fastapi import APIRouter, FastAPI, params
from fastapi.datastructures import DefaultPlaceholder
from fastapi._compat import ModelField
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.utils import create_model_field, generate_unique_id, is_body_allowed_for_status_code
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import compile_path
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ._direct import direct_handler
from ._docs_ui import serve_docs_offline
from ._handlers import install_exception_handlers
from ._limits import harden_handler
from ._messages import with_error_messages
from ._methods import allow_header, path_methods, without_body
from ._spliced import (
    hidden,
    hidden_responses,
    splice,
    splice_responses,
    spliced_parameters,
    spliced_responses,
)
from ._operation_ids import operation_id
from .db import FRGlobals, activate, deactivate, get_fr_globals
from .exc import RestlyConfigurationError
from .idempotency import guard_handler
from .schemas import SecretTree, documenting, hide_write_only, write_only_tree

__all__ = ["RestlyRoute", "include_view", "include_views", "serve_docs_offline"]

V = TypeVar("V", bound=type)


class RestlyRoute(APIRoute):
    """The route class of every route a view contributes.

    - It makes the view's `FRGlobals` active for the whole request: dependencies, handler,
      response and teardown all see the globals the view is bound to (one
      `ContextVar.set` per request, cheaper than a dependency doing the same).
    - It checks URLs and bodies before FastAPI does (strict JSON, the body size limit of
      the view's globals; see `restly._limits`).
    - Its documented extra responses (`responses={404: {"model": ErrorDetail}}`) share one
      response field per model: FastAPI would build a pydantic `TypeAdapter` for every
      response of every route (14 per REST view, most of mounting time), only to document
      the same `$ref` each time.
    - For views with `__restly_error_messages__` (react-admin's), JSON error answers carry
      a `message` besides their `detail`, and a 422 its field `errors` (see
      `restly._messages`).
    - It answers HEAD where it serves GET, OPTIONS (204 with `Allow`), and a method its path
      does not serve with a 405 whose `Allow` lists every method the path does serve
      (see `restly._methods`).
    """

    fr_globals: ClassVar[FRGlobals]
    #: Add `message` to JSON error answers (see `restly._messages`).
    error_messages: ClassVar[bool] = False
    #: Response fields shared by the routes of this class, by model (see `_shared_field`).
    shared_response_fields: ClassVar[dict[type[BaseModel], ModelField]] = {}
    #: The view that contributed this route, and the route's path within the view
    #: (`compiled.path`): set when it is mounted, read back from the app's routes.
    view: type | None = None
    view_path: str = ""
    #: Never None on an `APIRoute` (FastAPI's default is `{"GET"}`).
    methods: set[str]
    #: Whether the route solves its parameters itself rather than through FastAPI,
    #: decided when it is built (see `restly._direct`).
    direct: bool = False

    @property
    def openapi_extra(self) -> dict[str, Any] | None:
        """The route's `openapi_extra`; None while restly's wrapper of `app.openapi` keeps
        its generated parameters aside (see `restly._spliced`)."""
        extra: dict[str, Any] | None = self.__dict__.get("_restly_openapi_extra")
        if extra is not None and hidden(self):
            return None
        return extra

    @openapi_extra.setter
    def openapi_extra(self, value: dict[str, Any] | None) -> None:
        self.__dict__["_restly_openapi_extra"] = value

    @property
    def responses(self) -> dict[int | str, Any]:
        """The route's documented extra responses; without those that restly's wrapper of
        `app.openapi` keeps aside while FastAPI builds the document (see `restly._spliced`)."""
        responses: dict[int | str, Any] = self.__dict__.get("_restly_responses", {})
        kept = hidden_responses(self)
        if kept:
            return {code: answer for code, answer in responses.items() if code not in kept}
        return responses

    @responses.setter
    def responses(self, value: dict[int | str, Any]) -> None:
        self.__dict__["_restly_responses"] = value

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        responses: dict[int | str, dict[str, Any]] | None = None,
        **options: Any,
    ) -> None:
        shared = _shareable_models(responses)
        if not shared:
            super().__init__(path, endpoint, responses=responses, **options)
            return
        # FastAPI builds a field for each response naming a model: hand it the responses
        # without those models, then put them back along with the shared fields.
        stripped = {
            code: {key: value for key, value in response.items() if key != "model"}
            if code in shared
            else response
            for code, response in responses.items()  # type: ignore[union-attr]
        }
        super().__init__(path, endpoint, responses=stripped, **options)
        self.responses = responses  # type: ignore[assignment]
        own = self.response_fields
        self.response_fields = {
            code: own[code] if code in own else self._shared_field(shared[code])
            for code in responses  # type: ignore[union-attr]
            if code in own or code in shared
        }

    @classmethod
    def _shared_field(cls, model: type[BaseModel]) -> ModelField:
        """The serialization field FastAPI would build for a response of `model`, made once
        per route class (so once per `FRGlobals`) and model.

        Its name is never shown: the schema of a model field is a `$ref` to the model.
        """
        field = cls.shared_response_fields.get(model)
        if field is None:
            field = create_model_field(
                name=f"Response_{model.__name__}", type_=model, mode="serialization"
            )
            cls.shared_response_fields[model] = field
        return field

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in self.methods:
            await self._other_method(scope, receive, send)
            return
        if self.error_messages:
            send = with_error_messages(send)
        token = activate(self.fr_globals)
        try:
            await super().handle(scope, receive, send)
        finally:
            deactivate(token)

    async def _other_method(self, scope: Scope, receive: Receive, send: Send) -> None:
        """HEAD, OPTIONS or a method this path does not serve (see `restly._methods`): no
        route of the path serves the method, and this is the path's first route."""
        method = scope["method"]
        if method == "HEAD" and "GET" in self.methods:
            # exactly what GET answers, without the body
            await self.handle({**scope, "method": "GET"}, receive, without_body(send))
            return
        methods = path_methods(scope, self.methods)
        if method == "HEAD" and "GET" in methods and "router" in scope:
            # another route of this path serves GET: route the request again as a GET
            await scope["router"].app({**scope, "method": "GET"}, receive, without_body(send))
            return
        allow = {"Allow": allow_header(methods)}
        if method == "OPTIONS":
            await Response(status_code=204, headers=allow)(scope, receive, send)
            return
        raise HTTPException(status_code=405, headers=allow)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        fr_globals = self.fr_globals
        handle = super().get_route_handler()
        direct = direct_handler(self, handle)
        self.direct = direct is not None
        if direct is not None:
            handle = direct
        body = self.body_field
        secrets = write_only_tree(body.field_info.annotation) if body is not None else {}
        if secrets:
            handle = _hiding_write_only(handle, secrets)
        idempotency = getattr(self.endpoint, "__restly_idempotency__", False)
        if idempotency:  # decided when the view class was created (see restly.idempotency)
            handle = guard_handler(handle, route=self.path, required=idempotency == "required")
        json_body = body is not None and not isinstance(body.field_info, params.Form)
        return harden_handler(handle, lambda: fr_globals.max_body_size, json_body=json_body)


def _hiding_write_only(
    handle: Callable[[Request], Coroutine[Any, Any, Response]], secrets: SecretTree
) -> Callable[[Request], Coroutine[Any, Any, Response]]:
    """Wrap the handler of a route whose body has write-only fields: its validation errors
    leave out what the client sent there (see `restly.schemas.hide_write_only`)."""

    async def handle_hiding(request: Request) -> Response:
        try:
            return await handle(request)
        except RequestValidationError as error:
            # `from None`: the original error, which quotes the secret, goes nowhere (logs)
            raise RequestValidationError(hide_write_only(error.errors(), secrets)) from None

    return handle_hiding


def _route_class(
    fr_globals: FRGlobals, base: type[APIRoute], error_messages: bool
) -> type[RestlyRoute]:
    """The route class bound to `fr_globals` over the router's own route class (one per
    pair and `error_messages` choice, reused by all views of that globals, owned by it)."""
    by_base = fr_globals.route_classes
    route_class = by_base.get((base, error_messages))
    if route_class is None:
        bases = (RestlyRoute,) if issubclass(RestlyRoute, base) else (RestlyRoute, base)
        namespace = {
            "fr_globals": fr_globals,
            "shared_response_fields": {},
            "error_messages": error_messages,
        }
        route_class = type("RestlyRoute", bases, namespace)
        by_base[(base, error_messages)] = route_class
    return route_class


@overload
def include_view(app: FastAPI | APIRouter) -> Callable[[V], V]: ...
@overload
def include_view(app: FastAPI | APIRouter, view: type, /, *views: type) -> None: ...


def include_view(app: FastAPI | APIRouter, *views: type) -> Callable[[V], V] | None:
    """Mount `views` on `app`; with no views, return a class decorator that mounts one."""
    if not views:

        def decorator(view: V) -> V:
            router = _router_of(app)
            _mount(app, view, _mounted_views(router), _operation_ids(router))
            return view

        return decorator
    router = _router_of(app)
    mounted, taken = _mounted_views(router), _operation_ids(router)
    for view in views:
        _mount(app, view, mounted, taken)
    return None


def include_views(app: FastAPI | APIRouter, *, globals: FRGlobals | None = None) -> None:  # noqa: A002
    """Mount every view registered in `globals` (default: the active one), in order."""
    router = _router_of(app)
    mounted, taken = _mounted_views(router), _operation_ids(router)
    for view in (globals or get_fr_globals()).registry:
        _mount(app, view, mounted, taken)


def _mounted_views(router: APIRouter) -> set[type]:
    """The views already mounted on `router`, read from its routes (read once per call of
    `include_view(s)`, then kept up to date by `_mount`)."""
    return {route.view for route in router.routes if isinstance(route, RestlyRoute) and route.view}


def _default_ids(router: APIRouter) -> bool:
    """Whether `router` names operations FastAPI's default way (no function of the user's)."""
    function: Any = router.generate_unique_id_function  # a DefaultPlaceholder when unset
    if isinstance(function, DefaultPlaceholder):
        function = function.value
    return function is generate_unique_id


def _operation_ids(router: APIRouter) -> set[str]:
    """The operation ids `router`'s documented routes already have."""
    return {
        route.unique_id
        for route in router.routes
        if isinstance(route, APIRoute) and route.include_in_schema
    }


def _mount(app: FastAPI | APIRouter, view: type, mounted: set[type], taken: set[str]) -> None:
    router = _router_of(app)
    if getattr(view, "__restly_abstract__", None) is not False:
        raise RestlyConfigurationError(
            f"{getattr(view, '__name__', view)!r} cannot be mounted: it is not a concrete "
            "restly view. Subclass fr.View / fr.AsyncRestView / fr.RestView and give it a "
            "prefix (and a model for REST views)."
        )
    if view in mounted:
        return
    fr_globals: FRGlobals = view.__restly_globals__  # type: ignore[attr-defined]
    shared_dependencies = list(view.dependencies or ())  # type: ignore[attr-defined]
    error_messages = bool(getattr(view, "__restly_error_messages__", False))
    route_class = _route_class(fr_globals, router.route_class, error_messages)
    prefix = getattr(view, "prefix", "")
    default_tags = list(view.tags or ()) or _tags_from(prefix)  # type: ignore[attr-defined]
    model = getattr(view, "model", None)
    if model is not None:
        fr_globals.mounted_prefixes.setdefault(model, router.prefix + prefix)
    for compiled in view.__restly_routes__:  # type: ignore[attr-defined]
        options = dict(compiled.options)
        responses = {**(view.responses or {}), **options.pop("responses", {})}  # type: ignore[attr-defined]
        arguments = dict(
            name=f"{view.__name__}.{compiled.name}",
            tags=options.pop("tags", None) or default_tags or None,
            dependencies=[*shared_dependencies, *options.pop("dependencies", ())],
            responses=responses or None,
            route_class_override=route_class,
            **options,
        )
        # One route per method: each gets its own OpenAPI operation id.
        readable_ids = (
            "operation_id" not in options
            and _default_ids(router)
            and arguments.get("include_in_schema", True)
        )
        for method in compiled.methods:
            if readable_ids:
                arguments["operation_id"] = operation_id(
                    view.__name__,
                    # On an APIRouter, ids of other routers the app includes are unknown
                    # here: the view's own name keeps them apart (`admin_book_index`).
                    model.__name__ if model is not None and isinstance(app, FastAPI) else None,
                    compiled.name,
                    method,
                    several_methods=len(compiled.methods) > 1,
                    taken=taken,
                )
            router.add_api_route(compiled.path, compiled.endpoint, methods=[method], **arguments)
            route = router.routes[-1]
            route.view, route.view_path = view, compiled.path  # type: ignore[attr-defined]
            if prefix and compiled.path == prefix:
                # The collection answers "/books/" too (no redirect); OpenAPI shows it once.
                router.routes.append(_slash_twin(router.routes[-1]))
    mounted.add(view)
    if isinstance(app, FastAPI):
        app.openapi_schema = None  # routes changed: regenerate the cached document
        _document_references(app)
        if fr_globals.install_default_exception_handlers:
            install_exception_handlers(app)


def _document_references(app: FastAPI) -> None:
    """Make `app.openapi` build its document with the app's own mounted prefixes (once)."""
    build = app.openapi
    if getattr(build, "__restly_references__", False):
        return

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:  # FastAPI's own cache: nothing is generated
            return app.openapi_schema
        with (
            documenting(_mounted_prefixes(app.routes)),
            spliced_parameters(app.routes) as pending,
            spliced_responses(app.routes) as answers,
        ):
            document = build()
        splice(document, pending)
        splice_responses(document, answers)
        return document

    openapi.__restly_references__ = True  # type: ignore[attr-defined]
    # restly's other wrapper (`restly._handlers`, problem details) must still see its own
    openapi.__restly_problems__ = getattr(build, "__restly_problems__", False)  # type: ignore[attr-defined]
    app.openapi = openapi  # type: ignore[method-assign]


def _mounted_prefixes(routes: list[Any]) -> dict[type, str]:
    """Model -> path prefix of the first view serving it among `routes` (included routers
    count, with the prefixes they were included under)."""
    found: dict[type, str] = {}
    for context in iter_route_contexts(routes):
        route = context.original_route
        if not isinstance(route, RestlyRoute) or context.path is None:
            continue
        view = route.view
        model = getattr(view, "model", None)
        if model is None or model in found:
            continue
        outer = context.path[: len(context.path) - len(route.view_path)]
        found[model] = outer + getattr(view, "prefix", "")
    return found


def _slash_twin(route: Any) -> Any:
    """The same route at its path plus "/", hidden from OpenAPI.

    A shallow copy with only the path recompiled: building a second `APIRoute` would
    analyse the endpoint's dependencies all over again (a third of mounting time).
    """
    twin = copy.copy(route)
    twin.path = route.path + "/"
    twin.path_regex, twin.path_format, twin.param_convertors = compile_path(twin.path)
    twin.include_in_schema = False
    twin.view_path = route.view_path + "/"
    twin.name = route.name + "/"
    return twin


def _shareable_models(
    responses: dict[int | str, dict[str, Any]] | None,
) -> dict[int | str, type[BaseModel]]:
    """`{status: model}` of the extra responses whose field can be shared: a pydantic model
    (documented as a `$ref`, whatever the field's name) for a status that has a body (for
    any other, FastAPI's own checks run and fail as usual)."""
    if not responses:
        return {}
    shared = {}
    for code, response in responses.items():
        model = response.get("model") if isinstance(response, dict) else None
        if (
            isinstance(model, type)
            and issubclass(model, BaseModel)
            and is_body_allowed_for_status_code(code)
        ):
            shared[code] = model
    return shared


def _tags_from(prefix: str) -> list[str]:
    """The default OpenAPI tag of a view: its prefix's last static segment ("/api/books" ->
    "books"); explicit `tags` win."""
    segments = [part for part in prefix.split("/") if part and not part.startswith("{")]
    return segments[-1:]


def _router_of(app: FastAPI | APIRouter) -> APIRouter:
    if isinstance(app, FastAPI):
        return app.router
    if isinstance(app, APIRouter):
        return app
    raise TypeError(f"include_view() needs a FastAPI app or an APIRouter; got {app!r}")
