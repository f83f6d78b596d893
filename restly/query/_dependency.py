"""A one-pass FastAPI dependency for list parameters.

``Annotated[Params, fastapi.Query()]`` works, but FastAPI then inspects every field of the
params class on every request, and a schema with ten fields already has ~100 filter keys
(about 4 microseconds each). ``list_params_dependency`` reads only the keys the client sent
and validates them in one pydantic call, with the same 422 answers; ``list_params_openapi``
(``restly.query._openapi``) documents the same parameters, for the route's ``openapi_extra``::

    Params = create_list_params_schema(BookSchema, model=Book)
    ParamsDep = Annotated[Params, fastapi.Depends(list_params_dependency(Params))]

    @app.get("/books", openapi_extra=list_params_openapi(Params))
    async def list_books(params: ParamsDep): ...
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, get_origin

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from .._annotations import COLLECTIONS, unwrap
from ._params import DeferredListParams, ListParams, list_plan

__all__ = ["deferred_list_params_dependency", "is_list_params_reader", "list_params_dependency"]

P = TypeVar("P", bound=BaseModel)

#: Every reader built here: each takes nothing but the request and has no side effects, so a
#: route's own handler may call it directly (``restly._direct``) instead of FastAPI solving it.
_READERS: weakref.WeakSet[Callable[..., Any]] = weakref.WeakSet()


def _keys(params_class: type[BaseModel]) -> tuple[frozenset[str], frozenset[str]]:
    """(keys taking one value, keys gathering repeated values into a list)."""
    single: set[str] = set()
    repeated: set[str] = set()
    for name, field in params_class.model_fields.items():
        is_list = get_origin(unwrap(field.annotation)) in COLLECTIONS
        (repeated if is_list else single).add(field.alias or name)
    return frozenset(single), frozenset(repeated)


def list_params_dependency(params_class: type[P]) -> Callable[[Request], Awaitable[P]]:
    """A dependency that validates the query string against ``params_class`` in one pass.

    It accepts and refuses exactly what ``Annotated[params_class, fastapi.Query()]`` does, with
    the same error body: list keys gather repeated values, other keys keep the last one, and
    an unknown key is a 422 naming it. Call it once per params class and reuse the result.
    """
    list_plan(params_class)  # refuse classes create_list_params_schema did not make
    return _reader(lambda: params_class)


def deferred_list_params_dependency(
    deferred: DeferredListParams, ignored: frozenset[str] = frozenset()
) -> Callable[[Request], Awaitable[ListParams]]:
    """``list_params_dependency`` of a deferred class, which the first request builds;
    keys in ``ignored`` are left to another reader (the view's ``fields``/``expand``)."""
    return _reader(deferred.get, ignored)


def _reader(
    params_class: Callable[[], type[P]], ignored: frozenset[str] = frozenset()
) -> Callable[[Request], Awaitable[P]]:
    # (keys taking one value, keys gathering a list, validate), once the class exists.
    known: tuple[frozenset[str], frozenset[str], Callable[[Any], P]] | None = None

    # async, though it never awaits: FastAPI runs a sync dependency in a worker thread.
    async def read_list_params(request: Request) -> P:
        nonlocal known
        if known is None:
            cls = params_class()
            known = (*_keys(cls), cls.model_validate)
        single, repeated, validate = known
        # Gathered as FastAPI does: a list key always gets a list, a one-value key its last
        # value, and an unknown key (about to be refused) its value, or a list if repeated.
        data: dict[str, Any] = {}
        for key, value in request.query_params.multi_items():
            if key in ignored:
                continue
            if key in single:
                data[key] = value
            elif key in repeated:
                data.setdefault(key, []).append(value)
            elif key in data:
                previous = data[key]
                data[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
            else:
                data[key] = value
        try:
            return validate(data)
        except ValidationError as error:
            raise RequestValidationError(
                [
                    {**detail, "loc": ("query", *detail["loc"])}
                    for detail in error.errors(include_url=False)
                ]
            ) from None

    _READERS.add(read_list_params)
    return read_list_params


def is_list_params_reader(call: object) -> bool:
    """Whether ``call`` is a dependency built by ``list_params_dependency`` or
    ``deferred_list_params_dependency`` (an async function of the request alone)."""
    try:
        return call in _READERS
    except TypeError:  # not weak-referenceable: not one of ours
        return False
