"""Free helpers that turn validated schema objects into ORM objects and save them.

The generated REST views call these through their override seams; they are public so custom
routes can do the same::

    obj = fr.make_new_object(session, World, creation_schema_obj)
    fr.save_object(session, obj)            # flush, then refresh server-set values

Only the fields a client sent (plus schema defaults) are written, so column defaults and
server defaults apply to everything else.
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic_core import PydanticUndefined
from sqlalchemy import Select, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ..exc import NotFound

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
    """Return ``{attribute: value}`` for the fields the client sent.

    With ``include_defaults`` the schema's own non-``None`` defaults are added for fields
    that were not sent (a ``status: str = "draft"`` default reaches the database).
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
    """Build a ``model`` instance from ``schema_obj`` and add it to ``session``."""
    obj = model(**schema_values(schema_obj, include_defaults=True))
    session.add(obj)
    return obj


def update_object(session: Session | AsyncSession, obj: M, schema_obj: BaseModel) -> M:
    """Apply the fields the client sent in ``schema_obj`` to ``obj``."""
    for name, value in schema_values(schema_obj, include_defaults=False).items():
        setattr(obj, name, value)
    return obj


def save_object(session: Session, obj: M) -> M:
    """Flush ``obj``, then reload only the attributes the database set and did not return."""
    session.add(obj)
    session.flush()
    expired = inspect(obj).expired_attributes
    if expired:
        session.refresh(obj, attribute_names=list(expired))
    return obj


def delete_object(session: Session, obj: Any) -> None:
    """Delete ``obj`` and flush, so constraint errors surface inside the request.

    On server databases the row is locked first; if a concurrent request deleted it in the
    meantime, :class:`~restly.exc.NotFound` is raised (404) instead of deleting nothing.
    """
    lock = _row_lock(session, obj)
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
    """Async twin of :func:`make_new_object`."""
    return make_new_object(session, model, schema_obj)


async def async_update_object(session: AsyncSession, obj: M, schema_obj: BaseModel) -> M:
    """Async twin of :func:`update_object`."""
    return update_object(session, obj, schema_obj)


async def async_save_object(session: AsyncSession, obj: M) -> M:
    """Async twin of :func:`save_object`."""
    session.add(obj)
    await session.flush()
    expired = inspect(obj).expired_attributes
    if expired:
        await session.refresh(obj, attribute_names=list(expired))
    return obj


async def async_delete_object(session: AsyncSession, obj: Any) -> None:
    """Async twin of :func:`delete_object`."""
    lock = _row_lock(session, obj)
    if lock is not None and (await session.execute(lock)).first() is None:
        raise NotFound()
    await session.delete(obj)
    await session.flush()
