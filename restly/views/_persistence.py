"""Free helpers that turn validated schema objects into ORM objects and save them.

The generated REST views call these through their override seams; they are public so custom
routes can do the same:

```python
obj = fr.make_new_object(session, World, creation_schema_obj)
fr.save_object(session, obj)            # flush, then refresh server-set values
```

Only the fields a client sent (plus schema defaults) are written, so column defaults and
server defaults apply to everything else. Reference fields (`fr.IDRef[Model]`,
`fr.IDSchema[Model]`, `fr.MustExist`) are resolved to the referenced rows first, one query
per referenced model; a missing id answers 404 (see `restly.schemas._resolve`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from pydantic import BaseModel
from pydantic_core import PydanticUndefined
from sqlalchemy import Select, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstanceState, Session
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.interfaces import ORMOption

from .._introspect import relationship_keys
from ..db import WRITTEN
from ..exc import NotFound
from ..schemas import references_in, resolve_references

__all__ = [
    "async_delete_object",
    "async_lock_for_write",
    "async_make_new_object",
    "async_refresh_locked",
    "async_save_object",
    "async_update_object",
    "delete_object",
    "is_sqlite",
    "lock_for_write",
    "make_new_object",
    "refresh_locked",
    "save_object",
    "schema_values",
    "update_object",
]

M = TypeVar("M")


def schema_values(schema_obj: BaseModel, *, include_defaults: bool) -> dict[str, Any]:
    """Return `{attribute: value}` for the fields the client sent.

    With `include_defaults` the schema's own non-`None` defaults are added for fields
    that were not sent (a `status: str = "draft"` default reaches the database).
    """
    sent = schema_obj.model_fields_set
    fields = set(sent)
    if include_defaults:
        fields |= _fields_with_defaults(type(schema_obj))
    return schema_obj.model_dump(include=fields, by_alias=False)


def _fields_with_defaults(schema: type[BaseModel]) -> frozenset[str]:
    fields = _DEFAULTED.get(schema)
    if fields is None:
        fields = _DEFAULTED[schema] = frozenset(
            name
            for name, field in schema.model_fields.items()
            if field.default_factory is not None
            or (field.default is not PydanticUndefined and field.default is not None)
        )
    return fields


#: Fields with defaults, by schema class: weak, so a dropped schema class is not kept alive.
_DEFAULTED: WeakKeyDictionary[type[BaseModel], frozenset[str]] = WeakKeyDictionary()


def make_new_object(session: Session | AsyncSession, model: type[M], schema_obj: BaseModel) -> M:
    """Build a `model` instance from `schema_obj` and add it to `session`.

    Reference fields are resolved to the referenced rows (404 for a missing id); with an
    `AsyncSession` use `async_make_new_object` for schemas that have some.
    """
    values = schema_values(schema_obj, include_defaults=True)
    values = resolve_references(session, model, type(schema_obj), values)
    obj = model(**values)
    session.add(obj)
    return obj


def update_object(session: Session | AsyncSession, obj: M, schema_obj: BaseModel) -> M:
    """Apply the fields the client sent in `schema_obj` to `obj`.

    Reference fields are resolved to the referenced rows (404 for a missing id).
    """
    values = schema_values(schema_obj, include_defaults=False)
    values = resolve_references(session, type(obj), type(schema_obj), values)
    for name, value in values.items():
        setattr(obj, name, value)
    return obj


def save_object(session: Session, obj: M, *, options: Sequence[ORMOption] = ()) -> M:
    """Flush `obj`, then reload only the attributes the database set and did not return.

    With loader `options` (a view passes the ones its responses need), an object that is
    new or whose relationships or foreign keys changed is re-selected with them instead,
    so the relationships a response shows are loaded and current. If a concurrent request
    deleted the row since it was read, `NotFound` is raised (404).
    """
    session.add(obj)
    state = inspect(obj)
    if state.mapper.version_id_col is not None:
        _count_relationship_changes(obj, state)
    reload = _needs_reload(state, options)
    try:
        session.flush()
    except StaleDataError:
        # An UPDATE that matched no row: the row was deleted after this request read it.
        # With a version counter it may also have changed: that conflict stays a 409.
        if state.mapper.version_id_col is not None:
            raise
        raise NotFound() from None
    if reload:
        return _reload(session, obj, options)
    expired = state.expired_attributes
    if expired:
        session.refresh(obj, attribute_names=list(expired))
    return obj


def _count_relationship_changes(obj: Any, state: InstanceState[Any]) -> None:
    """Bump the version counter of a row whose relationships changed.

    SQLAlchemy bumps it only when it UPDATEs the row itself, which a change of a
    many-to-many collection or of a list of children alone does not: the version (and the
    ETag made of it) would stay while the object's answer changed. Setting the next version
    makes the flush UPDATE the row, checking the version it was read at as usual.
    """
    mapper = state.mapper
    generator, column = mapper.version_id_generator, mapper.version_id_col
    if state.key is None or generator is False or generator is None or column is None:
        return  # new (its first version is set on INSERT), or versions the application sets
    committed = state.committed_state
    for key in mapper.relationships.keys():
        if key in committed and state.attrs[key].history.has_changes():
            version_key = mapper.get_property_by_column(column).key
            if version_key not in committed:  # not already changed by this write
                setattr(obj, version_key, generator(getattr(obj, version_key)))
            return


def refresh_locked(session: Session, obj: Any) -> None:
    """Re-read the columns of ``obj`` with ``FOR UPDATE``: its current values, locked until
    the transaction ends (SQLite: nothing; take its write lock with `lock_for_write` before
    reading). A row deleted in the meantime raises `NotFound`."""
    if is_sqlite(session):
        return
    keys = [attribute.key for attribute in inspect(obj).mapper.column_attrs]
    try:
        session.refresh(obj, attribute_names=keys, with_for_update=True)
    except InvalidRequestError:
        raise NotFound() from None


def _needs_reload(state: InstanceState[Any], options: Sequence[ORMOption]) -> bool:
    if not options:
        return False
    if state.key is None:
        return True  # new: its unloaded relationships would be lazy-loaded
    return not relationship_keys(state.class_).isdisjoint(state.committed_state)


def _reload(session: Session, obj: M, options: Sequence[ORMOption]) -> M:
    identity = inspect(obj).identity
    reloaded = session.get(
        type(obj),
        identity,
        options=options,
        populate_existing=True,
        execution_options={WRITTEN: type(obj)},  # as written, even if out of a row scope
    )
    if reloaded is not obj:  # the identity map hands back the same object, unless it is gone
        raise NotFound()
    return obj


def delete_object(session: Session, obj: Any, *, locked: bool = False) -> None:
    """Delete `obj` and flush, so constraint errors surface inside the request.

    The row is locked first (`FOR UPDATE`; on SQLite the database's write lock), unless the
    caller read it with a lock (`locked=True`); if a concurrent request deleted it in the
    meantime, `NotFound` is raised (404) instead of deleting nothing.
    """
    lock = None if locked else _row_lock(session, obj)
    if lock is not None and session.execute(lock).first() is None:
        raise NotFound()
    session.delete(obj)
    session.flush()


def lock_for_write(session: Session) -> None:
    """On SQLite, take the database's write lock now (``BEGIN IMMEDIATE``), so that what the
    request reads next stays current until it commits; nothing elsewhere, where rows are
    locked with ``FOR UPDATE`` as they are read.

    SQLite ignores ``FOR UPDATE``, and pysqlite reads outside a transaction until the first
    write: two requests could read one row, and the second DELETE would match nothing (which
    SQLAlchemy only warns about). Holding the write lock before the read closes that gap.
    """
    if not is_sqlite(session):
        return
    connection = session.connection()
    raw: Any = connection.connection.dbapi_connection
    driver = getattr(raw, "_connection", raw)  # aiosqlite's adapter wraps its connection
    if not driver.in_transaction:  # a write of this transaction already holds the lock
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_sqlite(session: Session | AsyncSession) -> bool:
    """Whether `session` talks to SQLite (one writer at a time, no row locks)."""
    return session.get_bind().dialect.name == "sqlite"


def _row_lock(session: Session, obj: Any) -> Select[Any] | None:
    """``SELECT pk ... FOR UPDATE`` of ``obj``'s row (on SQLite, after taking the write lock)."""
    state = inspect(obj)
    if state.identity is None:
        return None
    keys = state.mapper.primary_key
    statement = select(*keys).where(*(k == v for k, v in zip(keys, state.identity)))
    if is_sqlite(session):
        lock_for_write(session)
        return statement
    return statement.with_for_update()


# -- async: the same code, run on the session's greenlet ------------------------------------
#
# ``AsyncSession.run_sync`` runs a sync function in SQLAlchemy's greenlet, where each query
# awaits the driver: one implementation serves both kinds, and one greenlet switch replaces
# one per awaited call. Without reference fields, building an object does no I/O, so it is
# called directly.


async def async_make_new_object(session: AsyncSession, model: type[M], schema_obj: BaseModel) -> M:
    """`make_new_object` for an `AsyncSession`."""
    if references_in(type(schema_obj), model):
        # Resolving queries the database: run the sync code on the session's greenlet.
        return await session.run_sync(make_new_object, model, schema_obj)
    return make_new_object(session.sync_session, model, schema_obj)


async def async_update_object(session: AsyncSession, obj: M, schema_obj: BaseModel) -> M:
    """`update_object` for an `AsyncSession` (resolving references and replacing a
    collection query the database: then it runs on the session's greenlet)."""
    if references_in(type(schema_obj), type(obj)):
        return await session.run_sync(update_object, obj, schema_obj)
    return update_object(session.sync_session, obj, schema_obj)


async def async_save_object(
    session: AsyncSession, obj: M, *, options: Sequence[ORMOption] = ()
) -> M:
    """`save_object` for an `AsyncSession`."""
    return await session.run_sync(save_object, obj, options=options)


async def async_delete_object(session: AsyncSession, obj: Any, *, locked: bool = False) -> None:
    """`delete_object` for an `AsyncSession`."""
    await session.run_sync(delete_object, obj, locked=locked)


async def async_refresh_locked(session: AsyncSession, obj: Any) -> None:
    """`refresh_locked` for an `AsyncSession`."""
    if not is_sqlite(session):
        await session.run_sync(refresh_locked, obj)


async def async_lock_for_write(session: AsyncSession) -> None:
    """`lock_for_write` for an `AsyncSession` (no greenlet switch off SQLite)."""
    if is_sqlite(session):
        await session.run_sync(lock_for_write)
