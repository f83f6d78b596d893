"""The list-parameters class: a pydantic model of every query key a list route accepts.

FastAPI validates the query string against it (``extra="forbid"``: an unknown key answers
422 naming it), and OpenAPI documents each key with its type::

    UserListParams = create_list_params_schema(UserSchema, model=User, default_page_size=20)

    @app.get("/users")
    async def list_users(params: Annotated[UserListParams, fastapi.Query()]): ...

    # GET /users?name__contains=jo&age__gte=18&order_by=-age&page=2

The class is built with ``defer_build``: pydantic compiles its validator (a few milliseconds
for ~60 keys) on first use, not for every view at import. Creation still fails at once on
anything that could not validate: each filter value type is checked (once per type, see
``value_type_schema``), and a class with ``extra_query_params`` is built right away.

Views go one step further (``defer_list_params_schema``): every check and the plan happen
when the view class is created, and the pydantic class itself when the list route is first
called or ``list_params_schema`` first read. An application declares many views whose list
routes are rarely all used, and the class is most of a view's creation time.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    WithJsonSchema,
    create_model,
)
from pydantic_core import PydanticCustomError

from ..exc import RestlyConfigurationError
from ._cursor import MAX_CURSOR_LENGTH
from ._keyset import Position
from ._plan import ListPlan, check_extra_names, compile_plan, python_name
from ._values import split_commas, value_type_schema

__all__ = [
    "MAX_PAGE",
    "ListParams",
    "DeferredListParams",
    "create_list_params_schema",
    "defer_list_params_schema",
    "list_params_extras",
    "list_params_page",
    "list_plan",
    "list_position",
    "paging_openapi",
    "set_list_position",
]

MAX_PAGE = 2**31 - 1
"""Highest page number; keeps OFFSET far inside what every database accepts."""


class ListParams(BaseModel):
    """Base of generated list-parameters classes; ``__list_plan__`` is their compiled plan."""

    model_config = ConfigDict(extra="forbid")

    __list_plan__: ClassVar[ListPlan]

    page: int | None = None
    page_size: int | None = None
    order_by: list[str] | None = None
    cursor: str | None = None

    #: Where a keyset page starts: the ``cursor``, decoded and checked by the view.
    _position: Position | None = PrivateAttr(default=None)


def create_list_params_schema(
    schema: type[BaseModel],
    *,
    model: type | None = None,
    default_page_size: int | None = None,
    max_page_size: int = 1000,
    extra_query_params: Mapping[str, Any] | None = None,
    name: str | None = None,
) -> type[ListParams]:
    """Build the query-parameters model of a list route serving ``schema``.

    Args:
        schema: the response schema; its public (alias) field names are the filter keys.
        model: the mapped class queried. With it, fields the model lacks are left out and
            integer bounds follow the column types; without it, the plan is bound to the model
            on the first ``apply_list_params`` call.
        default_page_size: page size when the client sends none. None means unpaginated
            unless the client sends ``page_size`` (``page`` alone then uses ``max_page_size``).
        max_page_size: the largest ``page_size`` accepted, and the most rows any list answers.
        extra_query_params: more documented keys, ``name -> annotation`` (optional, default
            None) or ``name -> (annotation, default)``; validated and passed through, never
            applied to SQL. Read them with ``list_params_extras``.
        name: the class name, shown in OpenAPI; defaults to ``<Schema>ListParams``.

    All per-schema work happens here, once; a request only validates and looks keys up.
    """
    return defer_list_params_schema(
        schema,
        model=model,
        default_page_size=default_page_size,
        max_page_size=max_page_size,
        extra_query_params=extra_query_params,
        name=name,
    ).get()


def defer_list_params_schema(
    schema: type[BaseModel],
    *,
    model: type | None = None,
    default_page_size: int | None = None,
    max_page_size: int = 1000,
    extra_query_params: Mapping[str, Any] | None = None,
    name: str | None = None,
) -> DeferredListParams:
    """``create_list_params_schema``, with the pydantic class itself built on first use.

    Every check happens now: the limits, the plan (every key, operator and value type), each
    value type's schema and the extra parameters' names. What is left is pydantic's class
    of ~50 fields (about 2 ms with its FieldInfo objects); a view needs it only when its list
    route is first called, and its OpenAPI description comes from the plan. With
    ``extra_query_params`` the class is built at once: any annotation may be given there,
    and only pydantic can check it.
    """
    if max_page_size < 1:
        raise RestlyConfigurationError(f"max_page_size must be >= 1; got {max_page_size!r}.")
    if default_page_size is not None and not 1 <= default_page_size <= max_page_size:
        raise RestlyConfigurationError(
            f"default_page_size must be between 1 and max_page_size ({max_page_size}); "
            f"got {default_page_size!r}."
        )
    plan = compile_plan(
        schema, model=model, default_page_size=default_page_size, max_page_size=max_page_size
    )
    # No key can fail to bind to ``model`` later: given the model, ``compile_plan`` resolved
    # every target on it and left out those it cannot serve. The plan is bound on the first
    # request that needs it (``bind_plan``), so an application's many views do not each
    # keep ~50 bound filters from class creation on.
    # Each distinct value type once (a view has ~50 filters of a handful of types).
    for value_type in {id(spec.value_type): spec.value_type for spec in plan.filters}.values():
        value_type_schema(value_type)  # fails here, not on the first request
    extras = dict(extra_query_params or {})
    check_extra_names(plan, list(extras))
    deferred = DeferredListParams(
        plan, name or f"{schema.__name__}ListParams", schema.__module__, extras
    )
    if extras:
        deferred.get()
    return deferred


class DeferredListParams:
    """A list-parameters class whose checks are done, built by pydantic on first ``get()``.

    ``plan`` is complete at once (``list_params_openapi`` documents the keys from it); the
    class is built once, under a lock, and every ``get()`` returns that same class.
    """

    __slots__ = ("_built", "_extras", "_lock", "_module", "_name", "plan")

    def __init__(
        self, plan: ListPlan, name: str, module: str, extras: Mapping[str, Any]
    ) -> None:
        self.plan = plan
        self._name = name
        self._module = module
        self._extras = extras
        self._built: type[ListParams] | None = None
        self._lock = threading.Lock()

    @property
    def has_extras(self) -> bool:
        """Whether the class has fields besides the plan's (``extra_query_params``)."""
        return bool(self._extras)

    def get(self) -> type[ListParams]:
        """The pydantic class, built on the first call."""
        built = self._built
        if built is None:
            with self._lock:
                built = self._built
                if built is None:
                    built = self._built = self._build()
        return built

    def _build(self) -> type[ListParams]:
        plan = self.plan
        fields: dict[str, Any] = {
            spec.field_name: (
                spec.value_type,
                Field(None, alias=spec.key, title=spec.key, description=spec.description),
            )
            for spec in plan.filters
        }
        fields.update(_paging_fields(plan))
        extras = _extra_fields(self._extras, set(fields))
        fields.update(extras)
        params_class: type[ListParams] = create_model(
            self._name,
            __base__=ListParams,
            __module__=self._module,
            __cls_kwargs__={"defer_build": True},
            **fields,
        )
        # Deferred for this class only, not for the annotations that name it: FastAPI builds
        # its TypeAdapter(Annotated[Params, Query()]) at once and expects it complete.
        config = params_class.model_config.copy()
        config.pop("defer_build", None)
        params_class.model_config = config
        # replace() keeps the models already bound: they share the same cache.
        params_class.__list_plan__ = replace(plan, extra_fields=tuple(extras)) if extras else plan
        if extras:
            params_class.model_rebuild()  # any annotation may be given: check it now
        return params_class


_PAGE_DESCRIPTION = "Page number, counted from 1."
_CURSOR_DESCRIPTION = (
    "Continue a listing: the opaque cursor of a `next` or `prev` link (the `Link` header, or "
    "`next_cursor`/`prev_cursor` of the envelope), with the same filters and order_by; not "
    "with page."
)
_ORDER_BY_DESCRIPTION = (
    "Comma-separated sort keys; a leading '-' sorts descending. Ties are broken by the primary "
    "key, in the direction of the last key."
)


def _page_size_description(plan: ListPlan) -> str:
    default = plan.default_page_size
    size_default = f"default {default}" if default else "unpaginated when omitted"
    return f"Rows per page, at most {plan.max_page_size}; {size_default}."


def _allowed_sort_keys(plan: ListPlan) -> frozenset[str]:
    return frozenset(plan.sort_keys) | frozenset(f"-{key}" for key in plan.sort_keys)


def _paging_fields(plan: ListPlan) -> dict[str, Any]:
    """``page``, ``page_size`` and ``order_by``, with this plan's limits and sort keys.

    ``paging_openapi`` writes their JSON schemas: change both together.
    """
    sort_keys = plan.sort_keys
    allowed = _allowed_sort_keys(plan)

    def known_sort_key(key: str) -> str:
        if key not in allowed:
            raise PydanticCustomError(
                "unknown_sort_key",
                "Unknown sort key '{key}'; sort by one of: {choices}",
                {"key": key, "choices": ", ".join(sort_keys)},
            )
        return key

    sort_item = Annotated[
        str,
        AfterValidator(known_sort_key),
        WithJsonSchema(sort_key_schema(allowed)),
    ]
    most_keys = Field(max_length=max(len(sort_keys), 1))
    sort_list = Annotated[list[sort_item], most_keys]
    return {
        "page": (
            int | None,
            Field(None, ge=1, le=MAX_PAGE, description=_PAGE_DESCRIPTION),
        ),
        "page_size": (
            int | None,
            Field(None, ge=1, le=plan.max_page_size, description=_page_size_description(plan)),
        ),
        "order_by": (
            Annotated[sort_list | None, BeforeValidator(split_commas)],
            Field(None, description=_ORDER_BY_DESCRIPTION),
        ),
        "cursor": (
            str | None,
            Field(None, max_length=MAX_CURSOR_LENGTH, description=_CURSOR_DESCRIPTION),
        ),
    }


def sort_key_schema(allowed: Iterable[str]) -> dict[str, Any]:
    """The JSON schema of one ``order_by`` key: an enum of the allowed keys, with names a
    client generator can give its members (``x-enum-varnames``: ``-author.name`` ->
    ``AUTHOR_NAME_DESC``; without them generators write ``VALUE_0``)."""
    keys = sorted(allowed)
    names = [
        re.sub(r"\W+", "_", key.lstrip("-")).upper() + ("_DESC" if key.startswith("-") else "")
        for key in keys
    ]
    return {"enum": keys, "type": "string", "x-enum-varnames": names}


def paging_openapi(plan: ListPlan) -> dict[str, dict[str, Any]]:
    """The JSON schemas pydantic generates for the fields of ``_paging_fields``.

    Written out rather than generated: ``order_by`` differs per view, and generating it
    costs a millisecond per view at class creation.
    """

    def optional_integer(maximum: int, description: str, title: str) -> dict[str, Any]:
        integer = {"maximum": maximum, "minimum": 1, "type": "integer"}
        return {"anyOf": [integer, {"type": "null"}], "description": description, "title": title}

    sort_item = sort_key_schema(_allowed_sort_keys(plan))
    sort_list = {"items": sort_item, "maxItems": max(len(plan.sort_keys), 1), "type": "array"}
    return {
        "page": optional_integer(MAX_PAGE, _PAGE_DESCRIPTION, "Page"),
        "page_size": optional_integer(
            plan.max_page_size, _page_size_description(plan), "Page Size"
        ),
        "order_by": {
            "anyOf": [sort_list, {"type": "null"}],
            "description": _ORDER_BY_DESCRIPTION,
            "title": "Order By",
        },
        "cursor": {
            "anyOf": [{"maxLength": MAX_CURSOR_LENGTH, "type": "string"}, {"type": "null"}],
            "description": _CURSOR_DESCRIPTION,
            "title": "Cursor",
        },
    }


def _extra_fields(extra_query_params: Mapping[str, Any], taken: set[str]) -> dict[str, Any]:
    """Fields for ``extra_query_params``: documented and validated, not applied to SQL."""
    fields: dict[str, Any] = {}
    for key, declared in extra_query_params.items():
        annotation, default = declared if isinstance(declared, tuple) else (declared, None)
        fields[python_name(key, taken)] = (annotation, Field(default, alias=key, title=key))
    return fields


def list_plan(params: BaseModel | type[BaseModel]) -> ListPlan:
    """The compiled plan of a params class (or instance) from ``create_list_params_schema``."""
    cls = params if isinstance(params, type) else type(params)
    plan = getattr(cls, "__list_plan__", None)
    if not isinstance(plan, ListPlan):
        raise TypeError(
            f"{cls.__name__} was not made by create_list_params_schema(); "
            "build list parameters with restly.query.create_list_params_schema(schema, model=...)."
        )
    return plan


def list_params_page(params: BaseModel) -> tuple[int | None, int | None]:
    """The ``(page, page_size)`` a list answers, after defaults; ``(None, None)`` unpaginated.

    ``page_size`` alone means page 1; ``page`` alone uses ``default_page_size`` or, when that
    is None, ``max_page_size``; neither uses ``default_page_size`` when set. An unpaginated
    list is still limited to ``max_page_size`` rows.
    """
    plan = list_plan(params)
    page: int | None = getattr(params, "page", None)
    page_size: int | None = getattr(params, "page_size", None)
    if page_size is None:
        if page is None and plan.default_page_size is None:
            return None, None
        page_size = plan.default_page_size or plan.max_page_size
    return page or 1, page_size


def list_position(params: BaseModel) -> Position | None:
    """Where the keyset page of ``params`` starts (set by the view from ``cursor``), if any."""
    return getattr(params, "_position", None)


def set_list_position(params: BaseModel, position: Position | None) -> None:
    """Make the page of ``params`` start at ``position`` (a decoded, checked cursor)."""
    params._position = position  # type: ignore[attr-defined]


def list_params_extras(params: BaseModel) -> dict[str, Any]:
    """The values of the ``extra_query_params`` keys, by their query names."""
    fields = type(params).model_fields
    return {
        fields[name].alias or name: getattr(params, name) for name in list_plan(params).extra_fields
    }
