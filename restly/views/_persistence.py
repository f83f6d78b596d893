"""Free helpers that turn validated schema objects into ORM objects and save them.

The generated REST views call these through their override seams; they are public so custom
routes can do the same:

```python
obj = fr.make_new_object(session, World, creation_schema_obj)
fr.save_object(session, obj)            # flush, then refresh server-set values
```

Only the fields a client sent (plus schema defaults) are written, so column defaults and
server defaults apply to everything else. Reference fields (`fr.IDRef[Model]`,
`fr.IDSchema[Model]`) are resolved to the referenced rows first, one query per field; a
missing id answers 404 (see `restly.schemas._refs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic_core import PydanticUndefined
from sqlalchemy import Select, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstanceState, Session
from sqlalchemy.orm.interfaces import ORMOption

from .._introspect import relationship_keys
from ..exc import NotFound
from ..schemas import references_in, resolve_references

__all__ = [
    "async_delete_object",
    "async_make_new_object",
    "async_save_object",
    "async_update_object",
    "delete_object",
    "make_new_object",
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


@cache
def _fields_with_defaults(schema: type[BaseModel]) -> frozenset[str]:
    return frozenset(
        name
        for name, field in schema.model_fields.items()
        if field.default_factory is not None
        or (field.default is not PydanticUndefined and field.default is not None)
    )


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
    so the relationships a response shows are loaded and current.
    """
    session.add(obj)
    reload = _needs_reload(inspect(obj), options)
    session.flush()
    if reload:
        return _reload(session, obj, options)
    expired = inspect(obj).expired_attributes
    if expired:
        session.refresh(obj, attribute_names=list(expired))
    return obj


def _needs_reload(state: InstanceState[Any], options: Sequence[ORMOption]) -> bool:
    if not options:
        return False
    if state.key is None:
        return True  # new: its unloaded relationships would be lazy-loaded
    return not relationship_keys(state.class_).isdisjoint(state.committed_state)


def _reload(session: Session, obj: M, options: Sequence[ORMOption]) -> M:
    identity = inspect(obj).identity
    reloaded = session.get(type(obj), identity, options=options, populate_existing=True)
    assert reloaded is obj  # the identity map hands back the same object
    return obj


def delete_object(session: Session, obj: Any, *, locked: bool = False) -> None:
    """Delete `obj` and flush, so constraint errors surface inside the request.

    On server databases the row is locked first, unless the caller read it with a lock
    (`locked=True`); if a concurrent request deleted it in the meantime, `NotFound` is raised
    (404) instead of deleting nothing.
    """
    lock = None if locked else _row_lock(session, obj)
    if lock is not None and session.execute(lock).first() is None:
        raise NotFound()
    session.delete(obj)
    session.flush()


def _row_lock(session: Session | AsyncSession, obj: Any) -> Select[Any] | None:
    """``SELECT pk ... FOR UPDATE`` of ``obj``'s row; ``None`` on SQLite (one writer anyway)."""
    if session.get_bind().dialect.name == "sqlite":
        return None
    state = inspect(obj)
    if state.identity is None:
        return None
    keys = state.mapper.primary_key
    return select(*keys).where(*(k == v for k, v in zip(keys, state.identity))).with_for_update()


async def async_make_new_object(session: AsyncSession, model: type[M], schema_obj: BaseModel) -> M:
    """Async twin of `make_new_object`."""
    if references_in(type(schema_obj), model):
        # Resolving queries the database: run the sync code on the session's greenlet.
        return await session.run_sync(make_new_object, model, schema_obj)
    obj = model(**schema_values(schema_obj, include_defaults=True))
    session.add(obj)
    return obj


async def async_update_object(session: AsyncSession, obj: M, schema_obj: BaseModel) -> M:
    """Async twin of `update_object`.

    With references, the sync code runs on the session's greenlet: it queries the database,
    and replacing a collection loads its old members.
    """
    if references_in(type(schema_obj), type(obj)):
        return await session.run_sync(update_object, obj, schema_obj)
    return update_object(session.sync_session, obj, schema_obj)


async def async_save_object(
    session: AsyncSession, obj: M, *, options: Sequence[ORMOption] = ()
) -> M:
    """Async twin of `save_object`."""
    session.add(obj)
    reload = _needs_reload(inspect(obj), options)
    await session.flush()
    if reload:
        identity = inspect(obj).identity
        await session.get(type(obj), identity, options=options, populate_existing=True)
        return obj
    expired = inspect(obj).expired_attributes
    if expired:
        await session.refresh(obj, attribute_names=list(expired))
    return obj


async def async_delete_object(session: AsyncSession, obj: Any, *, locked: bool = False) -> None:
    """Async twin of `delete_object`."""
    lock = None if locked else _row_lock(session, obj)
    if lock is not None and (await session.execute(lock)).first() is None:
        raise NotFound()
    await session.delete(obj)
    await session.flush()
