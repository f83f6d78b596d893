"""Step of `compile_view`: writes in one statement, where nothing needs the row before.

A generated ``PATCH`` reads the row, changes the object, flushes its ``UPDATE`` and answers
the object: two round trips. When nothing between the read and the write looks at the old
row — no ``authorize``, no commit hook, no reference to resolve, restly's own
persistence seams, a flat response — one ``UPDATE … RETURNING`` does the same work and
answers the same body. ``DELETE`` likewise becomes one ``DELETE … RETURNING`` instead of a
locked read and a delete, and ``POST`` one ``INSERT … RETURNING`` without an ORM object and
its unit of work::

    writes = compile_single_writes(BookView, mapper, lifecycle, flat_columns, by_id, ...)
    writes.insert      # INSERT INTO book … RETURNING book.id, …, book.id
    writes.update      # UPDATE book SET … WHERE book.id = :restly_id RETURNING book.id, …
    writes.deletes     # DELETE FROM book WHERE book.id = :restly_id RETURNING book.id

A view with ETags digesting its answers (``etag = True`` on a model without a version
counter) has them too: a write sent without a precondition header needs no old row, and the
tag is the digest of the returned row's JSON, which is what ``GET`` digests. Whether a request
may take them is its header check alone (the precondition guard read nothing, so
``_locked`` is unset); a write with ``If-Match`` or ``If-None-Match`` reads the row locked
first and takes the ORM path.

A row with a version counter has one more: a ``PATCH`` whose ``If-Match`` names the version
read checks it in the statement (``UPDATE … WHERE id = :id AND version = :v RETURNING …``,
the version advanced by the model's own generator) instead of reading the row locked first.
The precondition guard still reads the version, without a lock, because a stale tag must
answer 412 before the body is validated (412 beats 422) and a missing row 404; of two writes
that both passed that check, the database lets the second's ``UPDATE`` match nothing (it
waits for the first's row lock, then finds another version), and a read of the version then
tells 412 from 404.

The update and delete are ORM-enabled statements, so row scopes (``with_loader_criteria``) and the read
replica routing see them as they see the flush. What the ORM would do on its own beside the
statement rules a model out, at class creation:

- ``@validates`` methods, a version counter, inheritance (several tables or a
  discriminator), and for updates ``onupdate`` defaults (a flush that changes nothing emits
  no ``UPDATE``, so the timestamp stays; a statement would always move it);
- for creates, a constructor of the model's own (a dataclass or an ``__init__`` may compute
  values);
- for deletes, relationships the ORM maintains on a delete (one-to-many children it
  detaches, many-to-many rows it removes).

Two things can change after the class exists and are checked when a write runs, by
attribute lookups that cost nanoseconds: flush and mapper event listeners (an audit
``before_flush``, a ``before_update`` mapper event), which a statement would skip, and the
database (MariaDB has no ``UPDATE … RETURNING``). Either sends the write down the ORM path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, delete, insert, literal, select, update
from sqlalchemy.sql.dml import ReturningDelete, ReturningInsert, ReturningUpdate
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.interfaces import MANYTOMANY, ONETOMANY

from ..idempotency import claiming_guard, guarded_insert
from ..schemas import references_in
from ._lifecycle import Lifecycle
from ._options import uses_default

__all__ = ["VERSION_PARAMETER", "SingleWrites", "compile_single_writes"]

#: The bound parameter of the version ``If-Match`` named, in ``versioned_update``.
VERSION_PARAMETER = "restly_version"
#: Most keyed inserts (one per set of columns a create sets) kept per view.
MAX_KEYED_INSERTS = 64
#: Most updates (one per set of attributes a PATCH sets) kept per view.
MAX_UPDATES = 64
#: Prefix of the bound parameters of a keyed insert's values (never ``p_``: the key's).
_KEYED = "restly_v_"
#: Prefix of the bound parameters of an update's values.
_SET = "restly_set_"
#: Session events a flush fires; a single statement fires none of them.
_FLUSH_EVENTS = ("before_flush", "after_flush", "after_flush_postexec")
_INSERT_EVENTS = ("before_insert", "after_insert")
_UPDATE_EVENTS = ("before_update", "after_update")
_DELETE_EVENTS = ("before_delete", "after_delete")
#: restly's seams the single statements stand in for: all must be restly's own.
_CREATE_SEAMS = ("handle_create", "make_new_object", "save_object", "to_response_schema")
_UPDATE_SEAMS = ("handle_update", "handle_get", "update_object", "save_object", "to_response_schema")
_DELETE_SEAMS = ("handle_delete", "handle_get", "delete_object")


@dataclass(frozen=True, slots=True)
class SingleWrites:
    """The one-statement forms of a view's ``POST``, ``PATCH`` and ``DELETE`` (``None``:
    not for this view). ``insert`` and ``update`` take their values per request; ``insert``
    returns the response's columns, then the primary key."""

    mapper: Mapper[Any]
    #: A Core ``INSERT`` on the model's table (an ORM-enabled one costs more than the flush
    #: it replaces), with the column key of each attribute the body may set.
    insert: ReturningInsert[Any] | None
    insert_keys: dict[str, str]
    update: ReturningUpdate[Any] | None
    deletes: ReturningDelete[Any] | None
    #: ``PATCH`` of a row with a version counter whose ``If-Match`` named the version read
    #: (see ``versioned_update_for``): ``UPDATE … WHERE id = :restly_id AND version =
    #: :restly_version RETURNING`` the response's columns, then the version.
    versioned_update: ReturningUpdate[Any] | None = None
    #: The version of the row (``SELECT version … WHERE id``, through the row scopes).
    version_read: Select[Any] | None = None
    #: The version counter's attribute and generator (``None`` without a versioned update).
    version_key: str | None = None
    version_generator: Callable[[Any], Any] | None = None
    #: What ``insert`` returns: the response's columns, then the primary key.
    insert_returning: tuple[Any, ...] = ()
    #: The SQL of the defaults of the columns a keyed insert may leave out (scalars and SQL
    #: expressions), or ``None``: a default computed in Python per row (a callable, a
    #: sequence) keeps the claim before the insert.
    keyed_defaults: tuple[tuple[str, Any], ...] | None = None
    #: ``insert`` guarded by an unclaimed ``Idempotency-Key``, by the columns it sets
    #: (see ``keyed_insert_for``); filled on first use, bounded by ``MAX_KEYED_INSERTS``.
    keyed_inserts: dict[tuple[str, frozenset[str]], ReturningInsert[Any]] = field(default_factory=dict)
    #: ``update`` setting bound parameters, by the attributes it sets (see ``update_for``);
    #: filled on first use, bounded by ``MAX_UPDATES``.
    updates: dict[frozenset[str], ReturningUpdate[Any]] = field(default_factory=dict)

    def insert_for(
        self, session: Session | AsyncSession, values: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The parameters of ``insert`` for the attribute ``values``, or ``None`` when this
        create needs the ORM path."""
        if self.insert is None or self._listened(session, _INSERT_EVENTS):
            return None
        if not session.get_bind(self.mapper).dialect.insert_returning:
            return None
        keys = self.insert_keys
        return {keys[name]: value for name, value in values.items()}

    def keyed_insert_for(
        self, dialect: str, parameters: dict[str, Any]
    ) -> tuple[ReturningInsert[Any], dict[str, Any]]:
        """``insert`` for the column ``parameters`` of ``insert_for`` as an
        ``INSERT … SELECT`` that claims the request's ``Idempotency-Key`` as it writes
        (``restly.idempotency.claiming_guard``, whose parameters the caller adds; one of
        ``GUARDED_DIALECTS``), and its parameters. Columns not set get their defaults, as in
        ``insert``."""
        names = (dialect, frozenset(parameters))
        statement = self.keyed_inserts.get(names)
        if statement is None:
            assert self.insert is not None and self.keyed_defaults is not None  # callers check
            table: Any = self.mapper.local_table
            order = sorted(parameters)
            defaults = [(name, sql) for name, sql in self.keyed_defaults if name not in parameters]
            values = select(
                *(bindparam(_KEYED + name, type_=table.c[name].type) for name in order),
                *(sql for _, sql in defaults),
            )
            statement = guarded_insert(
                dialect,
                insert(table)
                .from_select(
                    [*order, *(name for name, _ in defaults)],
                    claiming_guard(dialect, values),
                    include_defaults=False,  # given above: a CTE beside it loses them
                )
                .returning(*self.insert_returning),
            )
            if len(self.keyed_inserts) < MAX_KEYED_INSERTS:
                self.keyed_inserts[names] = statement
        return statement, {_KEYED + name: value for name, value in parameters.items()}

    def update_for(
        self, session: Session | AsyncSession, values: dict[str, Any], parameters: dict[str, Any]
    ) -> tuple[ReturningUpdate[Any], dict[str, Any]] | None:
        """``update`` setting the attribute ``values``, and ``parameters`` with theirs; or
        ``None`` when this write needs the ORM path (nothing to set, an event listener that
        a flush would call, no RETURNING).

        The statement of each set of attributes is built once, with bound parameters: a
        statement made per request would cost its construction and its SQL cache key every
        time."""
        if self.update is None or not values or self._listened(session, _UPDATE_EVENTS):
            return None
        if not session.get_bind(self.mapper).dialect.update_returning:
            return None
        names = frozenset(values)
        statement = self.updates.get(names)
        if statement is None:
            columns = self.mapper.column_attrs
            statement = self.update.values(
                {
                    name: bindparam(_SET + name, type_=columns[name].columns[0].type)
                    for name in sorted(names)
                }
            )
            if len(self.updates) < MAX_UPDATES:
                self.updates[names] = statement
        bound = {_SET + name: value for name, value in values.items()}
        return statement, {**parameters, **bound}

    def versioned_ready(self, session: Session | AsyncSession) -> bool:
        """Whether a ``PATCH`` sending ``If-Match`` may check the version without a lock and
        write with ``versioned_update``: the view has one, nothing listens to the flush it
        replaces, and the database has ``UPDATE … RETURNING``."""
        if self.versioned_update is None or self._listened(session, _UPDATE_EVENTS):
            return False
        return bool(session.get_bind(self.mapper).dialect.update_returning)

    def versioned_update_for(self, values: dict[str, Any], version: Any) -> ReturningUpdate[Any] | None:
        """``versioned_update`` setting ``values`` and the version after ``version`` (the
        one ``If-Match`` named); ``None`` when nothing is to be set."""
        if self.versioned_update is None or not values:
            return None
        assert self.version_key is not None and self.version_generator is not None
        return self.versioned_update.values(
            {**values, self.version_key: self.version_generator(version)}
        )

    def delete_for(self, session: Session | AsyncSession) -> ReturningDelete[Any] | None:
        """``deletes``, or ``None`` when this delete needs the ORM path."""
        if self.deletes is None or self._listened(session, _DELETE_EVENTS):
            return None
        if not session.get_bind(self.mapper).dialect.delete_returning:
            return None
        return self.deletes

    def _listened(self, session: Session | AsyncSession, mapper_events: tuple[str, ...]) -> bool:
        if isinstance(session, AsyncSession):
            session = session.sync_session
        flush, mapper = session.dispatch, self.mapper.dispatch
        return any(getattr(flush, name) for name in _FLUSH_EVENTS) or any(
            getattr(mapper, name) for name in mapper_events
        )


def compile_single_writes(
    cls: Any,
    mapper: Mapper[Any],
    lifecycle: Lifecycle,
    flat_columns: tuple[Any, ...] | None,
    by_id: ColumnElement[bool],
    *,
    default_query: bool,
) -> SingleWrites:
    """The single-statement writes view class ``cls`` may use (see the module docstring).
    A version counter rules them out (its tags, and the ORM's check of the version read);
    digest tags do not."""
    plain = flat_columns is not None and mapper.version_id_col is None and _statement_will_do(mapper, lifecycle)
    model = mapper.class_
    pk_columns = mapper.primary_key
    insert_statement = None
    insert_keys: dict[str, str] = {}
    returned: list[Any] = []
    if plain and _creates_plainly(cls, mapper):
        assert flat_columns is not None  # plain
        returned = [attribute.property.columns[0] for attribute in flat_columns]
        table: Any = mapper.local_table  # one table: checked above
        insert_statement = insert(table).returning(*returned, *pk_columns)
        insert_keys = {
            attribute.key: attribute.columns[0].key for attribute in mapper.column_attrs
        }
    plain = plain and default_query and not lifecycle.authorize
    update_statement = None
    if plain and _updates_plainly(cls, mapper):
        update_statement = (
            update(model)
            .where(by_id)
            .returning(*flat_columns)  # type: ignore[misc]
            .execution_options(synchronize_session=False)
        )
    delete_statement = None
    if plain and _deletes_plainly(cls, mapper):
        delete_statement = (
            delete(model)
            .where(by_id)
            .returning(*pk_columns)
            .execution_options(synchronize_session=False)
        )
    versioned = _versioned_update(cls, mapper, lifecycle, flat_columns, by_id, default_query)
    return SingleWrites(
        mapper,
        insert_statement,
        insert_keys,
        update_statement,
        delete_statement,
        insert_returning=(*returned, *pk_columns) if insert_statement is not None else (),
        keyed_defaults=_insert_defaults(mapper) if insert_statement is not None else None,
        **versioned,
    )


def _versioned_update(
    cls: Any,
    mapper: Mapper[Any],
    lifecycle: Lifecycle,
    flat_columns: tuple[Any, ...] | None,
    by_id: ColumnElement[bool],
    default_query: bool,
) -> dict[str, Any]:
    """The fields of ``SingleWrites`` for a ``PATCH`` with ``If-Match`` on a row with a
    version counter, when nothing but the version is needed before the write: the same
    rules as ``update`` (no hooks, restly's seams, columns only, a flat response), and a
    counter that SQLAlchemy advances itself (not ``version_id_generator=False``) and the
    body cannot set."""
    column = mapper.version_id_col
    generator = mapper.version_id_generator
    if column is None or not callable(generator) or flat_columns is None:
        return {}
    if not default_query or lifecycle.authorize or not _statement_will_do(mapper, lifecycle):
        return {}
    if not _updates_plainly(cls, mapper):
        return {}
    key = mapper.get_property_by_column(column).key
    if key in cls.update_schema.model_fields:
        return {}
    attribute = getattr(mapper.class_, key)
    statement = (
        update(mapper.class_)
        .where(by_id, attribute == bindparam(VERSION_PARAMETER, type_=column.type))
        .returning(*flat_columns, attribute)
        .execution_options(synchronize_session=False)
    )
    return {
        "versioned_update": statement,
        "version_read": select(attribute).where(by_id),
        "version_key": key,
        "version_generator": generator,
    }


def _insert_defaults(mapper: Mapper[Any]) -> tuple[tuple[str, Any], ...] | None:
    """``(column key, SQL)`` of each column default an ``INSERT … SELECT`` must give itself,
    or ``None`` when one is computed in Python per row (see ``SingleWrites.keyed_defaults``)."""
    found = []
    for column in mapper.local_table.columns:
        default: Any = column.default
        if default is None:
            continue
        if default.is_scalar:
            found.append((column.key, literal(default.arg, type_=column.type)))
        elif default.is_clause_element:
            found.append((column.key, default.arg))
        else:
            return None
    return tuple(found)


def _statement_will_do(mapper: Mapper[Any], lifecycle: Lifecycle) -> bool:
    """Whether no commit hook needs the ORM object and the ORM does nothing of its own for
    the model beside the one statement (no inheritance, one table, no ``@validates``)."""
    return (
        not lifecycle.before_commit
        and not lifecycle.after_commit
        and mapper.inherits is None
        and mapper.polymorphic_on is None
        and len(mapper.tables) == 1
        and not mapper.validators
    )


def _creates_plainly(cls: Any, mapper: Mapper[Any]) -> bool:
    """Whether the ORM would do nothing for a ``POST`` beyond one ``INSERT`` of columns:
    the model is built by SQLAlchemy's own constructor (a dataclass or custom ``__init__``
    may compute values), and the body sets only columns."""
    if not all(uses_default(cls, name) for name in _CREATE_SEAMS):
        return False
    constructor = getattr(mapper.class_.__init__, "_sa_original_init", None)  # instrumented
    if getattr(constructor, "__qualname__", None) != "_declarative_constructor":
        return False  # SQLAlchemy's own sets the keyword arguments, nothing else
    schema = cls.creation_schema
    columns = mapper.column_attrs
    if any(name not in columns for name in schema.model_fields):
        return False
    return not references_in(schema, mapper.class_)


def _updates_plainly(cls: Any, mapper: Mapper[Any]) -> bool:
    """Whether the ORM would do nothing for a ``PATCH`` beyond one ``UPDATE`` of columns."""
    if not all(uses_default(cls, name) for name in _UPDATE_SEAMS):
        return False
    schema = cls.update_schema
    columns = mapper.column_attrs
    if any(name not in columns for name in schema.model_fields):
        return False  # a relationship or property to set: the ORM's work
    if references_in(schema, mapper.class_):
        return False
    return not any(
        column.onupdate is not None or column.server_onupdate is not None
        for column in mapper.columns
    )


def _deletes_plainly(cls: Any, mapper: Mapper[Any]) -> bool:
    """Whether the ORM would do nothing for a ``DELETE`` beyond one ``DELETE`` of the row."""
    if not all(uses_default(cls, name) for name in _DELETE_SEAMS):
        return False
    if getattr(cls, "_delete_answers_record", False):
        return False  # react-admin answers the deleted record; the statement returns its key
    return not any(
        relationship.direction in (ONETOMANY, MANYTOMANY) for relationship in mapper.relationships
    )

