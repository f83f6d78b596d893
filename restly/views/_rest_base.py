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

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, ClassVar, Literal, NamedTuple
from urllib.parse import quote

from fastapi import Request, Response

from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError

from ..idempotency import GUARDED_DIALECTS, Claim, claim_parameters, current_request
from .._etags import Tags, parse_tags, representation_tag, strong_match, version_tag, weak_match
from .._prefer import parse_prefer, preference_applied
from .._faults import parse_integrity_error
from .._introspect import mapper_of
from ..exc import BadRequest, NotFound, PreconditionFailed, StillReferenced
from ..query import PreparedList, apply_list_params, list_count_query, prepared_list
from ..resource import ID_PARAMETER, CompiledView, RowTypeMismatch, StructPage, restly_default
from starlette.datastructures import Headers

from . import _persistence as persistence
from ._base import View
from ._list_pages import ListPages
from ._shaping import Shaping
from ._listing import Listing

__all__ = ["BaseRestView", "Written", "item_location"]

JSON = "application/json"


class Written(NamedTuple):
    """What the answer of a write needs (see ``BaseRestView._write_response``)."""

    #: The object's JSON.
    body: bytes
    #: Its primary key (the id in a created object's ``Location``).
    identity: Any
    #: Its ETag, on views with ETags.
    tag: str | None


class BaseRestView(Shaping, ListPages, View):
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
    #: Answer a strong ``ETag`` on ``GET /{id}`` and on every write, and honour
    #: ``If-None-Match`` (304) and ``If-Match`` (412 when stale) (see the "Conditional
    #: requests" guide). ``None``, the default: on when the model has a version counter
    #: (``__mapper_args__ = {"version_id_col": ...}``), whose value is the tag. ``True``
    #: without one: the tag is a digest of the object's JSON answer. ``False``: off.
    etag: ClassVar[bool | None] = None
    #: Refuse ``PATCH``/``PUT``/``DELETE`` without ``If-Match`` with 428 (needs ETags).
    require_if_match: ClassVar[bool] = False
    #: How the total of a list is counted unless the client prefers otherwise
    #: (``Prefer: count=...``): ``"exact"`` (``COUNT``), ``"planned"`` (the PostgreSQL
    #: planner's estimate; exact elsewhere), ``"estimated"`` (exact up to
    #: ``count_threshold`` rows, planned above) or ``"none"`` (no count: ``has_more``).
    #: Pages reached by a cursor count only when the client asks. Applies where a total
    #: is answered: the envelope, react-admin's ``Content-Range``.
    count: ClassVar[str] = "exact"
    #: With ``count = "estimated"``: the planner's estimates up to this many rows are
    #: replaced by an exact count.
    count_threshold: ClassVar[int] = 10_000
    #: Honour the ``Idempotency-Key`` header on ``POST`` and ``PATCH`` (see
    #: ``docs/idempotency.md``): ``True`` (default: used when a client sends the header),
    #: ``False`` (ignored), or ``"required"`` (a request without it answers 400). Needs
    #: restly's table (``fr.idempotency_metadata``; ``fr.db.create_all`` creates it).
    idempotency: ClassVar[bool | Literal["required"]] = True
    #: Relations a client may ask for as objects with ``?expand=author,reviews`` on the list
    #: and ``GET /{id}`` routes: relationship names of ``model``, or dotted paths up to two
    #: deep (``"author.publisher"``, its first step listed too). Each answers with the read
    #: schema of the view serving its model (declared before this one); or give the schemas:
    #: ``{"author": AuthorRead}``. Loaded with one ``SELECT ... IN`` per relation, through
    #: the target's row scope (a hidden row answers ``null`` or is left out of a list).
    expandable: ClassVar[Collection[str] | Mapping[str, type[BaseModel]]] = ()
    #: Accept ``?fields=id,title,author.name`` on the list and ``GET /{id}`` routes: answer
    #: only those fields (a dotted name selects within an expanded relation, and expands
    #: it). Off by default: with it, OpenAPI marks no field of the answer as required.
    sparse_fields: ClassVar[bool] = False

    # -- derived by ResourceMeta (outputs: declaring them is an error) ----------------
    #: The list route's query parameters, derived from ``response_schema`` (read-only).
    list_params_schema: ClassVar[type[BaseModel] | None] = None
    #: The list route's response model: ``list[response_schema]`` or ``Page[...]``.
    list_response_model: ClassVar[Any]
    #: What requests use, compiled once (see ``restly.resource.CompiledView``).
    __restly_compiled__: ClassVar[CompiledView]

    #: The generated routes that honour ``Idempotency-Key`` (when ``idempotency`` is on).
    __restly_idempotent_routes__: ClassVar[frozenset[str]] = frozenset({"post", "patch"})

    #: Per request: the object read with a row lock (for a delete, or by the precondition
    #: check), so the write uses it and ``delete_object`` need not lock it again.
    _locked: Any = None
    #: Per request: the version ``If-Match`` named, checked without a lock by the
    #: precondition check, for the ``UPDATE`` to check again (``(version,)``), or ``None``.
    _checked_version: tuple[Any] | None = None
    #: Per request: what the list request decided and found (see ``_start_listing``).
    _listing: Listing | None = None
    #: Per request: the ``Idempotency-Key`` this request claimed (its answer is recorded
    #: in the write's transaction) and the request, or ``None``.
    _claimed_key: tuple[Claim, Request | None] | None = None
    #: Per request: the stored answer of the key's earlier request, to answer instead.
    _replay: Response | None = None

    @classmethod
    def __restly_guards__(cls) -> dict[str, Callable[..., Any]]:
        """Routes whose preconditions are checked before their body is validated (see
        ``restly.resource._routes``): the writes of a view with ETags."""
        if cls.__restly_compiled__.conditional is None:
            return {}
        guard = cls._check_preconditions  # type: ignore[attr-defined]  # each twin's own
        return {name: guard for name in ("patch", "put", "delete")}

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

    def _prepared_list(self, query_params: BaseModel, listing: Listing) -> PreparedList | None:
        """The statements and parameters of this list request when restly decides the
        whole list (default query, own ``handle_list``/``count_index``); ``None`` when an
        override does.

        Statements are prepared once per request shape (``restly.query.prepared_list``): rows
        of the response's columns for a flat response, else objects with their eager loads.
        An exact total rides on the page (one round trip); the count statement runs on its
        own only where no row carries it. A keyset page's rows carry their sort keys."""
        compiled = self.__restly_compiled__
        if compiled.prepared_base is None:
            return None
        return prepared_list(
            query_params,
            compiled.prepared_base,
            self.model,  # type: ignore[arg-type]
            total=listing.count == "exact" and listing.position is None,
            cache=compiled.list_statements,
            keys=listing.keyset,
            position=listing.position,
            extra_row=listing.extra_row,
        )

    def _dump_found(self, found: Sequence[Any], query_params: BaseModel) -> bytes:
        """The answer for the rows of a prepared page (see ``_prepared_list``)."""
        listing = self._envelope_listing()
        if self.__restly_compiled__.list_rows is not None:
            return self._dump_rows(found, query_params, listing)
        return self._dump_list([row[0] for row in found], query_params, listing)

    def _envelope_listing(self) -> Listing | None:
        return self._listing if self.include_pagination_metadata else None

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

    def idempotency_scope(self) -> str:
        """Whose ``Idempotency-Key`` values these are: keys are looked up per scope, so two
        callers sending the same key never see each other's answers.

        The default, ``""``, is one scope for everyone. Return the caller's identity (set on
        ``self`` by a class-level dependency) when keys come from several users or tenants::

            def idempotency_scope(self) -> str:
                return f"user:{self.user.id}"

        A plain method on sync and async views alike; it runs before the write.
        """
        return ""

    def _key_to_claim(self) -> tuple[str, str, float] | None:
        """What claiming the request's ``Idempotency-Key`` takes (its lookup in the
        caller's scope, the request's fingerprint, the lifetime), or ``None``: no key was
        sent to a route honouring it, or this request claimed it already."""
        keyed = current_request()
        if keyed is None or self._claimed_key is not None or self._replay is not None:
            return None
        lookup = keyed.lookup(str(self.idempotency_scope()))
        return lookup, keyed.fingerprint, self.__restly_globals__.idempotency_ttl

    def _keyed_insert(self, schema_obj: BaseModel) -> tuple[Any, dict[str, Any]] | None:
        """The create of this ``POST`` claiming its ``Idempotency-Key`` in the same statement
        (``INSERT … SELECT … WHERE`` the key is unclaimed), and its parameters; ``None`` when
        the request sent no key, or the create or the database is not one for it: that
        takes a single ``INSERT`` (``restly.resource._single``), no ``authorize`` (which a
        replay must not run), and SQLite (whose write lock the statement takes before it
        reads the key) or PostgreSQL (whose claim becomes a CTE of the statement; see
        ``restly.idempotency._store``)."""
        compiled = self.__restly_compiled__
        writes = compiled.single_writes
        if writes.keyed_defaults is None or compiled.lifecycle.authorize:
            return None
        claiming = self._key_to_claim()
        if claiming is None:
            return None
        dialect = self.session.get_bind().dialect.name
        if dialect not in GUARDED_DIALECTS:
            return None
        values = persistence.schema_values(schema_obj, include_defaults=True)
        parameters = writes.insert_for(self.session, values)
        if not parameters:  # a flush listener, or nothing to insert: the claim comes first
            return None
        statement, parameters = writes.keyed_insert_for(dialect, parameters)
        parameters.update(claim_parameters(*claiming, dialect))
        return statement, parameters

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

    def _still_referenced(self, error: IntegrityError) -> Exception:
        """What a ``DELETE`` that broke a constraint answers: 409 "rows of ``book`` still
        reference it" when rows of other tables point at the row (the database refused the
        delete, or the ORM tried to set a required foreign key of loaded children to
        ``NULL``); the error itself otherwise."""
        violation = parse_integrity_error(error)
        if violation.kind not in ("foreign_key", "not_null"):
            return error
        table: Any = mapper_of(self.model).local_table  # type: ignore[union-attr]
        columns = set(violation.columns) if violation.kind == "not_null" else None
        tables = sorted(
            {
                key.parent.table.name
                for other in table.metadata.tables.values()
                for key in other.foreign_keys
                if key.references(table) and (columns is None or key.parent.name in columns)
            }
        )
        if not tables:
            return error
        return StillReferenced(f"Cannot delete: rows of {', '.join(tables)} still reference it")

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

    def _returned(self, row: Any, id: Any) -> Written:
        """The answer of a single-statement write from the row it returned (see
        ``_write_returning``)."""
        compiled = self.__restly_compiled__
        identity = row[len(compiled.flat_columns or ())] if id is None else id
        body = self._dump_row(row)
        tag = None
        if compiled.conditional is not None:  # a version follows the response's columns
            versioned = compiled.conditional.version_key is not None
            tag = version_tag(row[-1]) if versioned else representation_tag(body)
        return Written(body, identity, tag)

    def _dump_list(
        self, objects: Sequence[Any], query_params: BaseModel, listing: Listing | None
    ) -> bytes:
        compiled = self.__restly_compiled__
        if not compiled.custom_response:
            adapter = compiled.list_adapter
            items = adapter.dump_json(
                adapter.validate_python(objects, from_attributes=True), by_alias=True
            )
        else:
            items = b"[" + b",".join(self._dump_one(obj) for obj in objects) + b"]"
        return self._envelope(items, listing)

    def _dump_rows(
        self, rows: Sequence[Any], query_params: BaseModel, listing: Listing | None
    ) -> bytes:
        """``_dump_list`` for rows of the response's columns (see ``_rows``)."""
        serializer = self.__restly_compiled__.row_serializer
        if serializer is not None:
            try:
                items = serializer.dump_many(rows)
            except RowTypeMismatch:
                pass  # as in _dump_row
            else:
                return self._envelope(items, listing)
        if isinstance(rows, StructPage):  # structs have the fields as attributes, as rows do
            rows = rows.structs
        return self._dump_list(rows, query_params, listing)

    # -- ETags, preconditions and what a write answers ------------------------------------

    def _tag(self, obj: Any, body: bytes | None = None) -> str:
        """The ETag of ``obj`` (``body``: its answer, when already dumped)."""
        compiled = self.__restly_compiled__
        conditional = compiled.conditional
        assert conditional is not None  # only views with ETags ask
        if conditional.version_key is not None:
            return version_tag(getattr(obj, conditional.version_key))
        if body is None or compiled.row_serializer is not None:
            body = self._representation(obj)
        return representation_tag(body)

    def _representation(self, obj: Any) -> bytes:
        """The JSON of ``obj`` exactly as ``GET /{id}`` answers it (from rows, when it can),
        so a digest of it is the tag a client read."""
        serializer = self.__restly_compiled__.row_serializer
        if serializer is not None:
            try:
                return serializer.dump_one([getattr(obj, name) for name in serializer.names])
            except RowTypeMismatch:
                pass  # as in _dump_row: validated, as GET then answers
        return self._dump_one(obj)

    @staticmethod
    def _precondition_tags(headers: Headers) -> tuple[Tags | None, Tags | None]:
        """``If-Match`` and ``If-None-Match`` parsed (``None`` when absent); 400 when one
        is not ``*`` nor a list of quoted entity tags."""
        found = []
        for name in ("If-Match", "If-None-Match"):
            values = headers.getlist(name)
            try:
                found.append(parse_tags(values) if values else None)
            except ValueError:
                raise BadRequest(
                    f'{name} must be * or a list of quoted entity tags such as "3" or '
                    'W/"3", as the ETag header sends them'
                ) from None
        return found[0], found[1]

    def _not_modified(self, headers: Headers, tag: str) -> bool:
        """A read's preconditions against the current ``tag`` (RFC 9110 §13.2.2): 412 when
        ``If-Match`` fails, ``True`` (answer 304) when ``If-None-Match`` names it."""
        if_match, if_none_match = self._precondition_tags(headers)
        if if_match is not None and not strong_match(if_match, tag):
            raise PreconditionFailed()
        return if_none_match is not None and weak_match(if_none_match, tag)

    @staticmethod
    def _tagged(body: bytes | None, tag: str) -> Response:
        """``200`` with ``body`` and its ``ETag``, or ``304`` (``body`` None) with the tag."""
        if body is None:
            return Response(status_code=304, headers={"ETag": tag})
        return Response(body, status_code=200, media_type=JSON, headers={"ETag": tag})

    def _written(self, obj: Any, body: bytes) -> Written:
        """What the answer of a write of ``obj`` needs, taken before the commit (after it,
        a failing ``after_action_commit`` rolls back and expires the object)."""
        compiled = self.__restly_compiled__
        tag = self._tag(obj, body) if compiled.conditional is not None else None
        return Written(body, getattr(obj, compiled.pk_key, None), tag)

    @staticmethod
    def _write_response(written: Written, status: int, request: Request | None) -> Response:
        """The answer of a write: the body, the new ``ETag`` (views with ETags), the new
        object's ``Location`` (201), and no body for ``Prefer: return=minimal`` (201 empty,
        204 for an update; RFC 7240 §4.2), with ``Preference-Applied``. ``request`` is
        ``None`` when an override calls the route method without it: then only the body and
        ``ETag`` are sent."""
        headers = {"ETag": written.tag} if written.tag is not None else {}
        if request is not None:
            if status == 201 and written.identity is not None:
                headers["Location"] = item_location(request.scope, written.identity)
            if "prefer" in request.headers:
                preferred = parse_prefer(request.headers.getlist("prefer")).get("return")
                if preferred in ("minimal", "representation"):
                    headers["Preference-Applied"] = preference_applied("return", preferred)
                if preferred == "minimal":
                    return Response(status_code=201 if status == 201 else 204, headers=headers)
        return Response(written.body, status_code=status, media_type=JSON, headers=headers)

    def _envelope(self, items: bytes, listing: Listing | None) -> bytes:
        """The list's body: the items, in the envelope when ``listing`` is given."""
        if listing is None:
            return items
        self._links(listing.request, listing)  # the envelope repeats the links' cursors
        return b'{"items":' + items + listing.envelope_tail()


def item_location(scope: Any, identity: Any) -> str:
    """The path of the item ``identity`` of the collection a request was sent to, as the
    client addresses it: the app's ``root_path`` (whether or not a proxy stripped it from the
    path), every router and mount prefix, then the id (percent-encoded)."""
    path, root = scope["path"], scope.get("root_path", "")
    if root and not (path == root or path.startswith(root + "/")):
        path = root + path  # a proxy removed the root path: the client's URL has it
    return f"{path.rstrip('/')}/{quote(str(identity), safe='')}"
