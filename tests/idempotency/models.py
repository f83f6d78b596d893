"""The resource of the idempotency tests, and views of every kind over it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Header
from sqlalchemy import String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "idem_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    count: Mapped[int] = mapped_column(default=0)


class Versioned(Base):
    """A row with a version counter: its ETag is the version."""

    __tablename__ = "idem_versioned"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    count: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(nullable=False)
    __mapper_args__ = {"version_id_col": version}


class Dated(Base):
    """A default computed in Python per row: a keyed create claims its key first."""

    __tablename__ = "idem_dated"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    day: Mapped[date] = mapped_column(default=lambda: date(2020, 1, 2))


BASES = {
    "async": fr.AsyncRestView,
    "sync": fr.RestView,
    "async-ra": fr.AsyncReactAdminView,
    "sync-ra": fr.ReactAdminView,
}


def current_user(x_user: str = Header("ann")) -> str:
    return x_user


def make_view(flavour: str, calls: list[str] | None = None, **namespace: Any) -> type:
    """A view of `Item` of `flavour` (see `BASES`) whose hooks append to `calls`, with a
    `user` dependency (header `X-User`) that scopes its keys."""
    is_async = flavour.startswith("async")
    log = calls if calls is not None else []

    def hook(name: str) -> Callable[..., Any]:
        if is_async:

            async def async_hook(self: Any, action: str, *args: Any) -> None:
                log.append(f"{name}:{action}")

            return async_hook

        def sync_hook(self: Any, action: str, *args: Any) -> None:
            log.append(f"{name}:{action}")

        return sync_hook

    body: dict[str, Any] = {
        "prefix": "/items",
        "model": Item,
        "__annotations__": {"user": Annotated[str, Depends(current_user)]},
        "authorize": hook("authorize"),
        "before_action_commit": hook("before"),
        "after_action_commit": hook("after"),
        "idempotency_scope": lambda self: self.user,
    }
    body.update(namespace)
    name = f"Idem{flavour.title().replace('-', '')}View{len(log)}{abs(hash(tuple(namespace)))}"
    return type(name, (BASES[flavour],), body)


def count_items(fr_globals: fr.FRGlobals, model: type = Item) -> int:
    with fr_globals.get_sessionmaker()() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def stored_keys(fr_globals: fr.FRGlobals) -> list[Any]:
    table = fr.idempotency.idempotency_keys
    with fr_globals.get_sessionmaker()() as session:
        return list(session.execute(select(table)).all())
