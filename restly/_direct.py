"""Generated routes answered without FastAPI's per-request dependency solving.

FastAPI solves a route's parameters anew on every request: it walks the dependency tree,
builds a sub-response, reads the header and cookie parameters the route does not have, and
parses the ``Content-Type`` again. A route restly generates knows, when it is built,
everything it takes: its path and query parameters, the request, its list parameters
(read by restly's own reader, ``restly.query.deferred_list_params_dependency``), the
request's session (``restly.db.get_async_session`` / ``get_session``) and, for a write, its
JSON body. For such a route :func:`direct_handler` builds a handler that solves exactly
those, in FastAPI's order (the dependencies in the order of the signature, then path, query
and body), with FastAPI's own pieces (the fields FastAPI built, ``request_params_to_args``,
``request_body_to_args``), the list reader called with the request as FastAPI would call it,
and the session opened on FastAPI's exit stack of the request as the dependency would be
(``restly.db._session.enter_async_session``: no generator; a ``session_generator`` of the
user's still runs as FastAPI runs it), so answers, 422 bodies and the session's commit,
rollback and close stay the same::

    GET /books?status=published&page=2   # the list reader, the session, then the endpoint

A route with anything else (a dependency of the user's, security, header or cookie
parameters, a ``Response`` or ``BackgroundTasks`` parameter, a response model, a stream)
keeps FastAPI's handler: decided once, when the route is built. Per request, FastAPI's
handler answers instead when the app has ``dependency_overrides`` (tests replacing the
session) or FastAPI's telemetry follows the request.
"""

from __future__ import annotations

import email.message
import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, cast

from fastapi import params
from fastapi._compat import Undefined
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import request_body_to_args, request_params_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, serialize_response
from fastapi.utils import is_body_allowed_for_status_code

try:  # FastAPI's own steps, private: with another FastAPI than these, its handler answers
    from fastapi.dependencies.utils import _solve_generator
    from fastapi.routing import _effective_route_context_var, _extract_endpoint_context
    from fastapi.telemetry._api import _get_request_telemetry, _run_sync_endpoint
except ImportError:  # pragma: no cover - depends on the installed FastAPI
    _FASTAPI_STEPS = False
else:
    _FASTAPI_STEPS = True
from starlette.requests import Request
from starlette.responses import Response

from .db import (
    enter_async_session,
    enter_session,
    get_async_session,
    get_fr_globals,
    get_session,
)
from .query import is_list_params_reader

__all__ = ["Handler", "direct_handler"]

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
#: A dependency of the request alone (restly's list parameters reader).
Reader = Callable[[Request], Awaitable[Any]]

#: The dependencies a direct handler opens itself: restly's request sessions.
_SESSIONS = (get_async_session, get_session)


def direct_handler(route: APIRoute, fastapi_handler: Handler) -> Handler | None:
    """The direct handler of ``route``, or None when FastAPI must solve its parameters
    (see the module docstring). ``fastapi_handler`` answers instead while the app has
    dependency overrides or telemetry."""
    if not _FASTAPI_STEPS:
        return None
    dependant = route.dependant
    call = dependant.call
    steps = _dependency_steps(dependant)
    if (
        call is None
        or steps is None
        or not _strict_content_type(route)
        or not _only_known_parameters(dependant)
        or not _answers_response(call)
        or getattr(route, "stream_item_field", None) is not None
        or getattr(route, "is_json_stream", False)
        or (route.body_field is not None and isinstance(route.body_field.field_info, params.Form))
    ):
        return None
    effective = _effective_route_context_var.get()
    if effective is not None and effective.original_route is route:
        return None  # an included router's context (its own dependencies): FastAPI's
    is_coroutine = inspect.iscoroutinefunction(call)
    if not is_coroutine and (inspect.isgeneratorfunction(call) or inspect.isasyncgenfunction(call)):
        return None
    overrides = route.dependency_overrides_provider
    path_params = dependant.path_params
    query_params = dependant.query_params
    body_params = dependant.body_params
    embed = route._embed_body_fields
    request_name = dependant.request_param_name
    reads_body = route.body_field is not None
    session = next((sub for sub in steps if sub.call in _SESSIONS), None)
    enter = enter_async_session if session is not None and session.call is get_async_session else enter_session
    # (name, reader) in the signature's order; a None reader is the session's place
    solved: tuple[tuple[str, Reader | None], ...] = tuple(
        (cast(str, sub.name), None if sub is session else cast(Reader, sub.call)) for sub in steps
    )
    session_request = session.request_param_name if session is not None else None
    session_stack = (
        "fastapi_function_astack"
        if session is not None and session.scope == "function"
        else "fastapi_inner_astack"
    )

    async def direct(request: Request) -> Response:
        if (overrides is not None and overrides.dependency_overrides) or (
            _get_request_telemetry() is not None
        ):
            return await fastapi_handler(request)
        body: Any = Undefined
        if reads_body:
            try:
                body = await _read_body(request)
            except Exception:  # noqa: BLE001 - FastAPI answers it, as it would have
                return await fastapi_handler(request)
        values: dict[str, Any] = {}
        for name, reader in solved:
            if reader is not None:  # restly's list parameters; a 422 raised here is FastAPI's
                values[name] = await reader(request)
                continue
            stack = request.scope[session_stack]
            opened = await enter(request, stack)  # as FastAPI runs the dependency
            if opened is None:  # the user's session generator: FastAPI runs the dependency
                opened = await _solve_generator(
                    request=request,
                    dependant=cast(Dependant, session),
                    stack=stack,
                    sub_values={session_request: request},  # type: ignore[dict-item]
                )
            values[name] = opened
        values_, errors = request_params_to_args(path_params, request.path_params)
        values.update(values_)
        if query_params:
            values_, query_errors = request_params_to_args(query_params, request.query_params)
            values.update(values_)
            errors.extend(query_errors)
        if body_params:
            values_, body_errors = await request_body_to_args(
                body_fields=body_params, received_body=body, embed_body_fields=embed
            )
            values.update(values_)
            errors.extend(body_errors)
        if request_name:
            values[request_name] = request
        if errors:
            raise RequestValidationError(
                errors,
                body=None if body is Undefined else body,
                endpoint_ctx=_context(request, dependant),
            )
        if is_coroutine:
            answer = await call(**values)
        else:
            answer = await get_fr_globals().run_sync_endpoint(
                _run_sync_endpoint, function=call, arguments=values
            )
        if isinstance(answer, Response):  # restly's routes: sent as it is
            return answer
        return await _serialized(route, answer, is_coroutine, _context(request, dependant))

    return direct


def _dependency_steps(dependant: Dependant) -> list[Dependant] | None:
    """The route's dependencies, in order, when each is restly's session (at most one) or
    a list parameters reader, all of the request alone; None when it has any other."""
    found: list[Dependant] = []
    for sub in dependant.dependencies:
        if (
            not (sub.call in _SESSIONS or is_list_params_reader(sub.call))
            or any(sub.call is seen.call for seen in found)
            or (sub.call in _SESSIONS and any(seen.call in _SESSIONS for seen in found))
            or sub.name is None
            or sub.concurrency is not None
            or sub.dependencies
            or sub.request_param_name is None
            or not _only_known_parameters(sub, path=False)
        ):
            return None
        found.append(sub)
    return found


def _only_known_parameters(dependant: Dependant, *, path: bool = True) -> bool:
    """Whether ``dependant`` takes nothing but path and query parameters and a body (when
    ``path``) and the request."""
    return not (
        (dependant.query_params and not path)
        or dependant.header_params
        or dependant.cookie_params
        or (dependant.path_params and not path)
        or (dependant.body_params and not path)
        or dependant.websocket_param_name
        or dependant.http_connection_param_name
        or dependant.response_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
    )


def _answers_response(call: Callable[..., Any]) -> bool:
    """Whether the endpoint is declared to return a `Response` (restly's generated routes
    are): FastAPI then sends it as it is, with nothing to serialize."""
    try:
        returned = inspect.signature(call).return_annotation
    except (TypeError, ValueError):
        return False
    return isinstance(returned, type) and issubclass(returned, Response)


async def _read_body(request: Request) -> Any:
    """The body as FastAPI hands it to validation: parsed JSON for a JSON media type
    (already parsed, strictly, by `restly._limits`), else the bytes; `Undefined` if empty."""
    raw = await request.body()
    if not raw:
        return Undefined
    content_type = request.headers.get("content-type")
    if content_type and _json_media_type(content_type):
        return await request.json()
    return raw  # FastAPI's strict content type: no Content-Type is not JSON


@functools.lru_cache(maxsize=64)
def _json_media_type(content_type: str) -> bool:
    """FastAPI's reading of a `Content-Type` as JSON (`application/json`, `…+json`)."""
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


def _strict_content_type(route: APIRoute) -> bool:
    """Whether the route reads a body without `Content-Type` as bytes (FastAPI's default)."""
    strict = getattr(route, "strict_content_type", True)
    return (strict.value if isinstance(strict, DefaultPlaceholder) else strict) is True


async def _serialized(route: APIRoute, answer: Any, is_coroutine: bool, context: Any) -> Response:
    """What FastAPI answers for an endpoint declared to return a `Response` that returned
    something else: the value serialized as the route's response model, if any, into the
    route's response class."""
    field = route.response_field
    response_class = route.response_class
    dump_json = field is not None and isinstance(response_class, DefaultPlaceholder)
    content = await serialize_response(
        field=field,
        response_content=answer,
        include=route.response_model_include,
        exclude=route.response_model_exclude,
        by_alias=route.response_model_by_alias,
        exclude_unset=route.response_model_exclude_unset,
        exclude_defaults=route.response_model_exclude_defaults,
        exclude_none=route.response_model_exclude_none,
        is_coroutine=is_coroutine,
        endpoint_ctx=context,
        dump_json=dump_json,
    )
    if isinstance(response_class, DefaultPlaceholder):
        response_class = response_class.value
    arguments: dict[str, Any] = {"background": None}
    if route.status_code:
        arguments["status_code"] = route.status_code
    response: Response
    if dump_json:
        response = Response(content=content, media_type="application/json", **arguments)
    else:
        response = response_class(content, **arguments)
    if not is_body_allowed_for_status_code(response.status_code):
        response.body = b""
    return response


def _context(request: Request, dependant: Dependant) -> Any:
    """The endpoint context FastAPI gives a validation error (for its message)."""
    if dependant.call is None:
        return {}
    context = dict(_extract_endpoint_context(dependant.call))
    if dependant.path:
        mount_path = request.scope.get("root_path", "").rstrip("/")
        context["path"] = f"{request.method} {mount_path}{dependant.path}"
    return context
