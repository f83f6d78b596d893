"""Step `compile_routes`: the route methods of a view class as FastAPI endpoints, once per class.

A view method `async def get(self, id: int)` becomes an endpoint whose signature holds the
method's own parameters plus one parameter per class-level dependency (``session:
fr.AsyncSessionDep``). FastAPI resolves them all; the endpoint builds the view instance, sets
the dependencies as attributes and calls the method. Sync methods give sync endpoints, which
FastAPI runs in its threadpool.

Class attributes annotated with a type FastAPI injects by itself (``request: Request``,
``response: Response``, ``background: BackgroundTasks``) are dependencies too. Headers,
cookies and a status code set on ``self.response`` reach the answer also when the route
returns a `Response` of its own (FastAPI applies them only to returned values).

**Guarded routes.** A view class may name, per route, a *guard*: a method run on the view
instance before the request body is validated (`cls.__restly_guards__() -> {route name:
function}`; REST views with ETags guard their writes with the precondition check, so a
stale `If-Match` answers 412 even when the body is invalid). The endpoint of a guarded route
then takes one dependency that builds the instance, sets the class-level dependencies, runs
the guard with its own parameters (``id``, the request) and hands the instance to the route
method. FastAPI solves dependencies before it raises the body's validation errors, so the
guard's 404/412/428 come first. Unguarded routes are built as above, at no extra cost.
"""

from __future__ import annotations

import inspect
import sys
import typing
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import BackgroundTasks, Depends, params
from fastapi.security import SecurityScopes
from starlette.requests import HTTPConnection
from starlette.responses import Response

from .._routing import RouteSpec, Slot, route_spec

__all__ = [
    "CompiledRoute",
    "class_dependencies",
    "collect_routes",
    "compile_routes",
    "idempotency_mode",
    "join_path",
]

_DEP_PREFIX = "restly_dep_"
#: The parameter of a guarded endpoint that receives the view instance its guard ran on.
_GUARDED_VIEW = "restly_view"

# Every view repeats the work for restly's own bases and route methods: keep it, per class
# and per function (weakly, so classes and functions made at runtime can go).
_annotations_cache: weakref.WeakKeyDictionary[type, dict[str, Any]] = weakref.WeakKeyDictionary()
_signature_cache: weakref.WeakKeyDictionary[Callable[..., Any], inspect.Signature] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True)
class CompiledRoute:
    """A view route ready to be added to a FastAPI router."""

    name: str
    path: str
    methods: tuple[str, ...]
    endpoint: Callable[..., Any]
    options: dict[str, Any] = field(default_factory=dict)


def class_dependencies(view: type) -> dict[str, Any]:
    """Return `{attribute: annotation}` of the class-level dependencies along the MRO."""
    found: dict[str, Any] = {}
    for klass in reversed(view.__mro__):
        for attribute, annotation in _declared_annotations(klass).items():
            value = klass.__dict__.get(attribute)
            if isinstance(value, params.Depends):
                found[attribute] = Annotated[annotation, value]
            elif _is_dependency(annotation) or _is_injected(annotation):
                found[attribute] = annotation
            else:
                found.pop(attribute, None)  # re-declared without a dependency
        for attribute, value in klass.__dict__.items():
            if isinstance(value, params.Depends) and attribute not in found:
                found[attribute] = Annotated[Any, value]
    return found


def collect_routes(view: type) -> dict[str, tuple[Callable[..., Any], RouteSpec]]:
    """Return `{method name: (implementation, spec)}` for the routes of `view`.

    The implementation is the most derived definition of the name; the spec is the most
    derived one recorded for it, so overriding a route method without re-decorating it
    keeps the route. A name set to `None` in a subclass removes the route.
    """
    specs: dict[str, RouteSpec] = {}
    for klass in reversed(view.__mro__):
        for name, value in klass.__dict__.items():
            spec = route_spec(value)
            if spec is not None:
                specs[name] = spec
            elif value is None and name in specs:
                del specs[name]
    routes = {}
    for name, spec in specs.items():
        implementation = getattr(view, name, None)
        if callable(implementation):
            routes[name] = (implementation, spec)
    return routes


def compile_routes(
    view: type, prefix: str, excluded: frozenset[str], shared: tuple[Any, ...] = ()
) -> tuple[list[CompiledRoute], list[str]]:
    """Build the endpoints of `view`; return them with any problems found (conflicts).

    ``shared`` are dependencies (``Depends(...)``) every route runs after its own."""
    dependencies = class_dependencies(view)
    guards = _guards(view)
    compiled: list[CompiledRoute] = []
    seen: dict[tuple[str, str], str] = {}
    problems: list[str] = []
    for name, (implementation, spec) in collect_routes(view).items():
        if name in excluded:
            continue
        bad_path = spec.problem()
        if bad_path is not None:
            problems.append(f"{view.__name__}.{name}: {bad_path}")
            continue
        path = join_path(prefix, spec.path)
        for method in spec.methods:
            other = seen.setdefault((method, path), name)
            if other != name:
                problems.append(
                    f"{view.__name__}.{name} and {view.__name__}.{other} both answer "
                    f"{method} {path}; give one another path, or override the existing "
                    f"method '{other}' instead of adding '{name}'."
                )
        options = {key: _resolve(value, view) for key, value in spec.options.items()}
        if spec.status_code is not None:
            options["status_code"] = spec.status_code
        if shared:
            options["dependencies"] = [*options.get("dependencies", ()), *shared]
        try:
            guard = guards.get(name)
            if guard is None:
                endpoint = _build_endpoint(view, name, implementation, dependencies)
            else:
                endpoint = _build_guarded_endpoint(view, name, implementation, guard, dependencies)
        except NameError as error:
            problems.append(
                f"{view.__name__}.{name} has an annotation that cannot be resolved ({error}); "
                "import the names its parameters use at module level."
            )
            continue
        mode = idempotency_mode(view, name)
        if mode:
            endpoint.__restly_idempotency__ = mode  # type: ignore[attr-defined]
        compiled.append(CompiledRoute(name, path, spec.methods, endpoint, options))
    compiled.sort(key=lambda route: _static_first(route.path))
    return compiled, problems


def idempotency_mode(view: type, name: str) -> bool | str:
    """How route `name` of `view` honours `Idempotency-Key`: `False`, `True` or
    `"required"` (read by `restly.mount`, which guards the route's handler)."""
    if name not in getattr(view, "__restly_idempotent_routes__", ()):
        return False
    mode: bool | str = getattr(view, "idempotency", False)
    return mode


def join_path(prefix: str, path: str) -> str:
    """Join a view prefix and a route path (`"/" + "/{id}"` is `"/{id}"`)."""
    joined = prefix.rstrip("/") + path
    return joined or "/"


def _static_first(path: str) -> tuple[int, ...]:
    # Starlette tries routes in order: "/books/stats" must precede "/books/{id}".
    return tuple(1 if segment.startswith("{") else 0 for segment in path.split("/"))


def _build_endpoint(
    view: type, name: str, implementation: Callable[..., Any], dependencies: dict[str, Any]
) -> Callable[..., Any]:
    signature = _signature(implementation)
    own = list(signature.parameters.values())[1:]  # drop `self`
    parameters = [
        parameter.replace(
            kind=inspect.Parameter.KEYWORD_ONLY,
            annotation=_resolve(parameter.annotation, view),
        )
        for parameter in own
    ]
    taken = {parameter.name for parameter in parameters}
    assignments = []
    for attribute, annotation in dependencies.items():
        key = _DEP_PREFIX + attribute
        if attribute in taken:
            continue  # the method's own parameter of that name wins
        parameters.append(
            inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
        )
        assignments.append((attribute, key))
    attributes = tuple(assignments)
    function = implementation
    # Decided once per route: only views declaring a `Response` attribute pay for the merge.
    response_key = next(
        (key for attribute, key in attributes if _is_response(dependencies[attribute])), None
    )

    if inspect.iscoroutinefunction(implementation):

        async def endpoint(**values: Any) -> Any:
            instance = view()
            for attribute, key in attributes:
                setattr(instance, attribute, values.pop(key))
            return await function(instance, **values)

        if response_key is not None:

            async def endpoint(**values: Any) -> Any:
                instance = view()
                sub_response = values[response_key]
                for attribute, key in attributes:
                    setattr(instance, attribute, values.pop(key))
                return _merged(await function(instance, **values), sub_response)

    else:

        def endpoint(**values: Any) -> Any:  # type: ignore[misc]
            instance = view()
            for attribute, key in attributes:
                setattr(instance, attribute, values.pop(key))
            return function(instance, **values)

        if response_key is not None:

            def endpoint(**values: Any) -> Any:  # type: ignore[misc]
                instance = view()
                sub_response = values[response_key]
                for attribute, key in attributes:
                    setattr(instance, attribute, values.pop(key))
                return _merged(function(instance, **values), sub_response)

    endpoint.__name__ = name
    endpoint.__qualname__ = f"{view.__qualname__}.{name}"
    endpoint.__doc__ = implementation.__doc__
    endpoint.__module__ = view.__module__
    endpoint.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=parameters,
        return_annotation=_resolve(signature.return_annotation, view),
    )
    return endpoint


def _guards(view: type) -> dict[str, Callable[..., Any]]:
    """``{route name: guard}`` of `view` (see "Guarded routes" above)."""
    hook = getattr(view, "__restly_guards__", None)
    return dict(hook()) if hook is not None else {}


def _build_guarded_endpoint(
    view: type,
    name: str,
    implementation: Callable[..., Any],
    guard: Callable[..., Any],
    dependencies: dict[str, Any],
) -> Callable[..., Any]:
    """The endpoint of route `name` whose view instance comes from a dependency that runs
    `guard(instance, **its own parameters)` first."""
    signature = _signature(implementation)
    own = [_keyword(parameter, view) for parameter in list(signature.parameters.values())[1:]]
    taken = {parameter.name for parameter in own}
    guard_parameters = [_keyword(p, view) for p in list(_signature(guard).parameters.values())[1:]]
    assignments = []
    for attribute, annotation in dependencies.items():
        if attribute in taken:
            continue  # the method's own parameter of that name wins, as unguarded
        key = _DEP_PREFIX + attribute
        guard_parameters.append(
            inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
        )
        assignments.append((attribute, key))
    attributes = tuple(assignments)
    response_attribute = next(
        (attribute for attribute, _ in attributes if _is_response(dependencies[attribute])), None
    )
    function = implementation

    if inspect.iscoroutinefunction(guard):

        async def prepare(**values: Any) -> Any:
            instance = view()
            for attribute, key in attributes:
                setattr(instance, attribute, values.pop(key))
            await guard(instance, **values)
            return instance

    else:

        def prepare(**values: Any) -> Any:  # type: ignore[misc]
            instance = view()
            for attribute, key in attributes:
                setattr(instance, attribute, values.pop(key))
            guard(instance, **values)
            return instance

    prepare.__signature__ = inspect.Signature(guard_parameters)  # type: ignore[attr-defined]
    prepared = inspect.Parameter(
        _GUARDED_VIEW, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[Any, Depends(prepare)]
    )

    if inspect.iscoroutinefunction(implementation):

        async def endpoint(**values: Any) -> Any:
            instance = values.pop(_GUARDED_VIEW)
            answer = await function(instance, **values)
            if response_attribute is not None:
                return _merged(answer, getattr(instance, response_attribute))
            return answer

    else:

        def endpoint(**values: Any) -> Any:  # type: ignore[misc]
            instance = values.pop(_GUARDED_VIEW)
            answer = function(instance, **values)
            if response_attribute is not None:
                return _merged(answer, getattr(instance, response_attribute))
            return answer

    endpoint.__name__ = name
    endpoint.__qualname__ = f"{view.__qualname__}.{name}"
    endpoint.__doc__ = implementation.__doc__
    endpoint.__module__ = view.__module__
    endpoint.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*own, prepared],
        return_annotation=_resolve(signature.return_annotation, view),
    )
    return endpoint


def _keyword(parameter: inspect.Parameter, view: type) -> inspect.Parameter:
    """A route method's parameter as a keyword-only parameter of its endpoint."""
    return parameter.replace(
        kind=inspect.Parameter.KEYWORD_ONLY, annotation=_resolve(parameter.annotation, view)
    )


def _resolve(value: Any, view: type) -> Any:
    """Replace slots (also inside `Annotated`) with what they name on `view`."""
    if isinstance(value, Slot):
        return value.resolve(view)
    if typing.get_origin(value) is Annotated:
        base, *metadata = typing.get_args(value)
        slots = [item for item in metadata if isinstance(item, Slot)]
        if slots:
            rest = [item for item in metadata if not isinstance(item, Slot)]
            resolved = slots[0].resolve(view)
            parts = (resolved, *rest)  # named: mypy takes X[(a, *b)] for 3.11 syntax
            return Annotated[parts] if rest else resolved
    return value


def _is_injected(annotation: Any) -> bool:
    """Whether FastAPI fills a parameter of this type by itself (the request, the response
    being built, background tasks, security scopes)."""
    return isinstance(annotation, type) and issubclass(
        annotation, (HTTPConnection, Response, BackgroundTasks, SecurityScopes)
    )


def _is_response(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, Response)


def _merged(answer: Any, sub_response: Response) -> Any:
    """``answer`` with what the view set on its injected ``response`` (headers, cookies,
    status code) when the route returned a `Response` itself."""
    if isinstance(answer, Response):
        answer.headers.raw.extend(
            (key, value) for key, value in sub_response.headers.raw if key != b"content-length"
        )
        if sub_response.status_code is not None:
            answer.status_code = sub_response.status_code
    return answer


def _is_dependency(annotation: Any) -> bool:
    if typing.get_origin(annotation) is not Annotated:
        return False
    return any(isinstance(item, params.Depends) for item in annotation.__metadata__)


def _signature(implementation: Callable[..., Any]) -> inspect.Signature:
    """The signature of a route method, string annotations evaluated (cached)."""
    try:
        return _signature_cache[implementation]
    except (KeyError, TypeError):  # TypeError: not weakly referenceable
        pass
    # eval_str: modules using `from __future__ import annotations` hold strings that
    # FastAPI would try to resolve in *this* module's namespace.
    signature = inspect.signature(implementation, eval_str=True)
    try:
        _signature_cache[implementation] = signature
    except TypeError:
        pass
    return signature


def _declared_annotations(klass: type) -> dict[str, Any]:
    """The class's own annotations, with string annotations evaluated where possible.

    Cached once every annotation resolved; one naming something not yet defined is tried
    again for the next subclass.
    """
    cached = _annotations_cache.get(klass)
    if cached is not None:
        return cached
    try:
        raw = inspect.get_annotations(klass)
    except Exception:  # noqa: BLE001 - a broken annotation elsewhere is not ours to judge
        return {}
    resolved = {}
    namespace: dict[str, Any] | None = None
    complete = True
    for name, annotation in raw.items():
        if isinstance(annotation, str):
            if namespace is None:
                module = sys.modules.get(klass.__module__)
                namespace = {**(vars(module) if module else {}), **dict(vars(klass))}
            try:
                annotation = eval(annotation, namespace)  # noqa: S307 - the class's own code
            except Exception:  # noqa: BLE001 - unresolvable: cannot be a dependency we can use
                complete = False
                continue
        resolved[name] = annotation
    if complete:
        _annotations_cache[klass] = resolved
    return resolved
