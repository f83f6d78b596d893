"""`BaseRestView`: the options of a REST view, and what its sync and async twins share.

```python
class BookView(fr.AsyncRestView):
    prefix = "/books"
    model = Book
    include_pagination_metadata = True
```

Options are plain class attributes, documented where they are declared; what restly derives
for requests is one `CompiledView` (`cls.__restly_compiled__`, built by `restly.resource`).
Methods here choose statements and dump answers; they bind the compiled view once
(`compiled = self.__restly_compiled__`) and read its fields. Seams marked `@restly_default`
are restly's own: overriding one turns off the shortcuts that rely on it.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy import inspect as sa_inspect

from ..exc import NotFound
from ..query import apply_list_params, list_count_query, list_params_page, prepared_list
from ..resource import ID_PARAMETER, CompiledView, RowTypeMismatch, restly_default
from ._base import View

__all__ = ["BaseRestView"]


class BaseRestView(View):
    """What the sync and async REST views share: options, queries and serialisation."""

    __abstract__ = True
    __restly_model_view__ = True

    #: The SQLAlchemy mapped class this resource serves (required).
    model: ClassVar[type[Any] | None] = None
    #: Response schema; generated from the model's columns when not given.
    schema: ClassVar[type[BaseModel] | None] = None
    #: Body schema of ``POST``; default: ``schema`` without ``ReadOnly`` fields.
    creation_schema: ClassVar[type[BaseModel] | None] = None
    #: Body schema of ``PATCH``; default: ``creation_schema`` with every field optional.
    update_schema: ClassVar[type[BaseModel] | None] = None
    #: What responses are serialised with; default: ``schema`` without ``WriteOnly`` fields.
    response_schema: ClassVar[type[BaseModel] | None] = None
    #: Type of the ``{id}`` path parameter; default: the primary key's type.
    id_type: ClassVar[type[Any] | None] = None
    #: Names of generated routes to leave out, e.g. ``("delete",)``.
    exclude_routes: ClassVar[Collection[str]] = ()
    #: Answer lists as ``{"items", "total", "page", "page_size", "total_pages"}``.
    include_pagination_metadata: ClassVar[bool] = False
    #: Page size when a client sends ``page`` without ``page_size`` (default: globals').
    default_page_size: ClassVar[int | None] = None
    #: Largest ``page_size`` accepted, and most rows of any list (default: globals', 1000).
    max_page_size: ClassVar[int | None] = None
    #: More query parameters for the list route: ``{name: annotation}``; passed through in
    #: ``query_params`` for your ``handle_list`` / ``build_list_query`` to use.
    extra_query_params: ClassVar[Mapping[str, Any] | None] = None

    # -- derived by ResourceMeta (outputs: declaring them is an error) ----------------
    #: The list route's query parameters, derived from ``response_schema`` (read-only).
    list_params_schema: ClassVar[type[BaseModel] | None] = None
    #: The list route's response model: ``list[response_schema]`` or ``Page[...]``.
    list_response_model: ClassVar[Any]
    #: What requests use, compiled once (see ``restly.resource.CompiledView``).
    __restly_compiled__: ClassVar[CompiledView]

    #: Per request: the object read with a row lock, so ``delete_object`` need not lock it.
    _locked: Any = None

    # -- queries -----------------------------------------------------------------------

    @restly_default
    def build_list_query(self) -> Select[Any]:
        """The statement every route starts from: override to scope rows (tenants, soft
        deletes). It applies to the list, its count, and get/update/delete by id."""
        return self.__restly_compiled__.base_statement

    def _get_statement(self, id: Any) -> Select[Any]:
        return self.build_list_query().where(self.__restly_compiled__.pk_column == id)

    @restly_default
    def _list_statement(self, query_params: BaseModel, query: Select[Any] | None) -> Select[Any]:
        base = self.build_list_query() if query is None else query
        return apply_list_params(query_params, base, self.model)  # type: ignore[arg-type]

    def _rows(self, statement: Select[Any]) -> Select[Any] | None:
        """``statement`` reading only the response's columns (no ORM objects to build), or
        ``None`` when whole objects are needed."""
        compiled = self.__restly_compiled__
        if not compiled.plain_reads or statement._with_options:
            return None
        return statement.with_only_columns(*compiled.flat_columns, maintain_column_froms=True)  # type: ignore[misc]

    def _prepared_list(
        self, query_params: BaseModel
    ) -> tuple[Select[Any], Select[Any] | None, dict[str, Any]] | None:
        """The page statement, count statement and parameters of this list request when
        restly decides the whole list (default query, own ``handle_list``/``count_index``);
        ``None`` when an override does.

        Statements are prepared once per request shape (``restly.query.prepared_list``): rows
        of the response's columns for a flat response, else objects with their eager loads.
        With the envelope, the page carries its total, so one round trip answers; the count
        statement runs only for an empty page past the last one, where no row carries it."""
        compiled = self.__restly_compiled__
        if compiled.prepared_base is None:
            return None
        return prepared_list(
            query_params,
            compiled.prepared_base,
            self.model,  # type: ignore[arg-type]
            total=self.include_pagination_metadata,
            cache=compiled.list_statements,
        )

    def _dump_found(self, found: Sequence[Any], query_params: BaseModel, total: int | None) -> bytes:
        """The answer for the rows of a prepared page (see ``_prepared_list``)."""
        if self.__restly_compiled__.list_rows is not None:
            return self._dump_rows(found, query_params, total)
        return self._dump_list([row[0] for row in found], query_params, total)

    @staticmethod
    def _carried_total(rows: Sequence[Any], query_params: BaseModel) -> int | None:
        """The total a page of rows carries; for an empty page, 0 if it is the first page,
        else ``None`` (unknown: count)."""
        if rows:
            return int(rows[0][-1])
        page, _ = list_params_page(query_params)
        return 0 if (page or 1) == 1 else None

    def _get_rows_statement(self, id: Any) -> tuple[Select[Any] | None, dict[str, Any] | None]:
        compiled = self.__restly_compiled__
        if compiled.default_query:
            return compiled.get_rows, {ID_PARAMETER: id}
        return self._rows(self._get_statement(id)), None

    def _get_objects_statement(self, id: Any) -> tuple[Select[Any], dict[str, Any] | None]:
        compiled = self.__restly_compiled__
        if compiled.default_query:
            return compiled.get_objects, {ID_PARAMETER: id}
        return self._get_statement(id), None

    def _locked_statement(self, id: Any) -> tuple[Select[Any], dict[str, Any]] | None:
        """The by-id read with ``FOR UPDATE`` (ignored by SQLite), when ``handle_get`` and
        the query are restly's own; ``None`` otherwise (then ``delete_object`` locks)."""
        compiled = self.__restly_compiled__
        if compiled.default_query and compiled.default_get:
            return compiled.get_objects_locked, {ID_PARAMETER: id}
        return None

    @restly_default
    def _count_statement(self, query_params: BaseModel) -> Select[Any]:
        return list_count_query(query_params, self.build_list_query(), self.model)  # type: ignore[arg-type]

    # -- the write pipeline ------------------------------------------------------------

    def snapshot(self, obj: Any) -> dict[str, Any]:
        """The column values of ``obj`` before a write changes it: the hooks' ``old``.

        Only values already loaded are read (nothing is fetched, so it is safe on async
        sessions), keyed by attribute name. Override to record more (a relationship's ids).
        """
        loaded = sa_inspect(obj).dict
        return {key: loaded[key] for key in self.__restly_compiled__.column_keys if key in loaded}

    # -- responses ---------------------------------------------------------------------

    @restly_default
    def to_response_schema(self, obj: Any) -> BaseModel:
        """Turn an ORM object into the response schema object sent to the client."""
        return self.__restly_compiled__.one_validator.validate_python(obj, from_attributes=True)  # type: ignore[no-any-return]

    def _require(self, found: Any) -> Any:
        if found is None:
            raise NotFound()
        return found

    def _deleted_body(self, obj: Any, id: Any) -> bytes | None:
        """The body of a ``DELETE`` answer: none (204) here; react-admin answers the record."""
        return None

    def _dump_one(self, obj: Any) -> bytes:
        schema_obj = self.to_response_schema(obj)
        return schema_obj.__pydantic_serializer__.to_json(schema_obj, by_alias=True)

    def _dump_row(self, row: Any) -> bytes:
        """``_dump_one`` for a row of the response's columns (see ``_rows``)."""
        serializer = self.__restly_compiled__.row_serializer
        if serializer is not None:
            try:
                return serializer.dump_one(row)
            except RowTypeMismatch:
                pass  # a value of another type than its field's: validate it, as for objects
        return self._dump_one(row)

    def _dump_list(
        self, objects: Sequence[Any], query_params: BaseModel, total: int | None
    ) -> bytes:
        compiled = self.__restly_compiled__
        if not compiled.custom_response:
            adapter = compiled.list_adapter
            items = adapter.dump_json(
                adapter.validate_python(objects, from_attributes=True), by_alias=True
            )
        else:
            items = b"[" + b",".join(self._dump_one(obj) for obj in objects) + b"]"
        return self._envelope(items, query_params, total)

    def _dump_rows(self, rows: Sequence[Any], query_params: BaseModel, total: int | None) -> bytes:
        """``_dump_list`` for rows of the response's columns (see ``_rows``)."""
        serializer = self.__restly_compiled__.row_serializer
        if serializer is not None:
            try:
                items = serializer.dump_many(rows)
            except RowTypeMismatch:
                pass  # as in _dump_row
            else:
                return self._envelope(items, query_params, total)
        return self._dump_list(rows, query_params, total)

    def _envelope(self, items: bytes, query_params: BaseModel, total: int | None) -> bytes:
        if total is None:
            return items
        page, page_size = list_params_page(query_params)
        page = page or 1
        # An unpaginated list is still cut at max_page_size: that is its page size.
        size = page_size or self.max_page_size or max(total, 1)
        pages = math.ceil(total / size) if total else 0
        tail = f',"total":{total},"page":{page},"page_size":{size},"total_pages":{pages}}}'
        return b'{"items":' + items + tail.encode()
