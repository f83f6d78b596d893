"""List query parameters: filters, sorting and pagination for list routes.

``create_list_params_schema`` compiles a response schema, once, into a pydantic model of
every accepted query key; FastAPI validates the query string against it.
``apply_list_params`` turns a validated instance into WHERE / ORDER BY / LIMIT on a select::

    ListParams = create_list_params_schema(BookSchema, model=Book, default_page_size=20)

    @app.get("/books")
    async def list_books(params: Annotated[ListParams, fastapi.Query()], session: ...):
        query = apply_list_params(params, select(Book), Book)
        return (await session.scalars(query)).all()

    # GET /books?title__contains=war peace&author.name=Tolstoy&order_by=-year&page=2

Keys: ``field`` (equal; ``a,b`` is IN), ``field__ne`` (NOT IN), ``__gt/__gte/__lt/__lte``,
``__isnull=true|false``, ``__contains`` (string fields; every word, ignoring case), dotted
relation paths (``author.name``), reference fields by id (``author=1``, ``tags=1,2``),
``order_by`` (``-`` for descending), ``page``, ``page_size``.

For a paginated answer, count with ``list_count_query`` (same filters, no order or pages)
and read the page actually served with ``list_params_page``. ``list_params_dependency``
(with ``list_params_openapi``) replaces ``fastapi.Query()`` and avoids FastAPI inspecting
every one of the ~10 keys per field on each request.

Module map, in import order: ``_values`` (how one value parses) -> ``_targets`` (which schema
values exist, where they live on the model) -> ``_plan`` (the keys, compiled once) -> ``_sql``
(the plan bound to a model: ``bind_plan``) -> ``_params`` (the pydantic class) -> ``_openapi``
(its documentation); per request: ``_apply``, ``_prepared``, ``_dependency``. Keyset pages:
``_keyset`` (a listing's total order, the condition seeking past a row) and ``_cursor``
(the signed tokens holding a position); ``_estimate`` reads the planner's row estimates.

Names imported here but left out of ``__all__`` are for the rest of restly, which imports
them from this package, never from its private modules. ``_react_admin`` ->
``_react_admin_parse`` is react-admin's ``sort``/``range``/``filter`` dialect, compiled to
the same plan and bound filters.
"""

from ._apply import apply_list_params, list_count_query
from ._dependency import list_params_dependency
from ._openapi import list_params_openapi
from ._params import (
    MAX_PAGE,
    ListParams,
    create_list_params_schema,
    list_params_extras,
    list_params_page,
    list_plan,
)
from ._plan import RESERVED_KEYS, ListPlan, Op

# For the rest of restly (`X as X` marks an intended re-export); not part of the public API.
from ._dependency import deferred_list_params_dependency as deferred_list_params_dependency
from ._dependency import is_list_params_reader as is_list_params_reader
from ._openapi import deferred_list_params_openapi as deferred_list_params_openapi
from ._params import DeferredListParams as DeferredListParams
from ._params import defer_list_params_schema as defer_list_params_schema
from ._prepared import MAX_SHAPES as MAX_SHAPES
from ._prepared import PreparedList as PreparedList
from ._prepared import prepared_list as prepared_list
from ._cursor import MAX_CURSOR_LENGTH as MAX_CURSOR_LENGTH
from ._cursor import InvalidCursor as InvalidCursor
from ._cursor import cursor_binding as cursor_binding
from ._cursor import cursor_codec as cursor_codec
from ._estimate import estimating as estimating
from ._estimate import planned_rows as planned_rows
from ._estimate import plans_counts as plans_counts
from ._estimate import watch_estimates as watch_estimates
from ._keyset import Keyset as Keyset
from ._keyset import Position as Position
from ._keyset import keyset as keyset
from ._params import list_position as list_position
from ._params import set_list_position as set_list_position
from ._sql import bind_plan as bind_plan
from ._react_admin import DEFAULT_RANGE_SIZE as DEFAULT_RANGE_SIZE
from ._react_admin import ReactAdminListParams as ReactAdminListParams
from ._react_admin import ReactAdminPlan as ReactAdminPlan
from ._react_admin import compile_react_admin_plan as compile_react_admin_plan
from ._react_admin_parse import parse_react_admin_params as parse_react_admin_params
from ._react_admin_parse import (
    react_admin_parameters_openapi as react_admin_parameters_openapi,
)
from ._targets import MAX_RELATION_DEPTH
from ._values import MAX_CONTAINS_WORDS, MAX_IN_ITEMS

__all__ = [
    "MAX_CONTAINS_WORDS",
    "MAX_IN_ITEMS",
    "MAX_PAGE",
    "MAX_RELATION_DEPTH",
    "RESERVED_KEYS",
    "ListParams",
    "ListPlan",
    "Op",
    "apply_list_params",
    "create_list_params_schema",
    "list_count_query",
    "list_params_dependency",
    "list_params_extras",
    "list_params_openapi",
    "list_params_page",
    "list_plan",
]
