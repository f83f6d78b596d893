"""A two-tenant bookshop for the row-scope tests: models, users, scopes, views and rows.

Every model has a ``tenant_id``; each has a row scope showing a user the rows of their
tenant (``root`` sees every row). The user is read from the ``X-User`` header::

    alice -> tenant 1        bob -> tenant 2        root -> every tenant

Tenant 1 (alice): authors 1 Mia, 3 Zed; tag 1; books 1 Alpha (by Mia, tags 1 and 2),
2 Beta (by bob's Nora), 3 Gamma (by Zed); reviews 1 (Alpha), 2 (Alpha, tenant 2's), 3 (Gamma).
Tenant 2 (bob): authors 2 Nora, 4 Abe; tag 2; books 4 Delta (by Abe, tag 2), 5 Epsilon (by
alice's Mia); review 4 (Delta).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Optional

from fastapi import Depends, Header, HTTPException
from sqlalchemy import Column, ColumnElement, ForeignKey, String, Table
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import restly as fr


class Base(DeclarativeBase):
    pass


book_tag = Table(
    "scp_book_tag",
    Base.metadata,
    Column("book_id", ForeignKey("scp_book.id"), primary_key=True),
    Column("tag_id", ForeignKey("scp_tag.id"), primary_key=True),
)


class Author(Base):
    __tablename__ = "scp_author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    tenant_id: Mapped[int]


class Tag(Base):
    __tablename__ = "scp_tag"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    tenant_id: Mapped[int]


class Book(Base):
    __tablename__ = "scp_book"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(50))
    tenant_id: Mapped[int]
    author_id: Mapped[Optional[int]] = mapped_column(ForeignKey("scp_author.id"))
    author: Mapped[Optional[Author]] = relationship()
    reviews: Mapped[list[Review]] = relationship(order_by="Review.id")
    tags: Mapped[list[Tag]] = relationship(secondary=book_tag, order_by="Tag.id")


class Review(Base):
    __tablename__ = "scp_review"
    id: Mapped[int] = mapped_column(primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("scp_book.id"))
    stars: Mapped[int]
    tenant_id: Mapped[int]


class AuthorSchema(fr.IDSchema):
    name: str


class ReviewSchema(fr.IDSchema):
    stars: int


class BookSchema(fr.IDSchema):
    title: str
    author_id: fr.IDRef[Author] | None = None
    author: fr.ReadOnly[AuthorSchema | None] = None
    reviews: fr.ReadOnly[list[ReviewSchema]] = []
    tags: list[fr.IDRef[Tag]] = []


@dataclass(frozen=True)
class User:
    name: str
    tenant: int | None  # None: every tenant


USERS = {"alice": User("alice", 1), "bob": User("bob", 2), "root": User("root", None)}
ALICE, BOB, ROOT = ({"X-User": name} for name in ("alice", "bob", "root"))

#: How many times ``current_user`` ran (the per-request cache makes it once a request).
CALLS: list[str] = []


async def current_user(x_user: Annotated[str, Header()]) -> User:
    CALLS.append(x_user)
    try:
        return USERS[x_user]
    except KeyError:
        raise HTTPException(401, "Unknown user") from None


CurrentUser = Annotated[User, Depends(current_user)]


def tenant_scope(model: Any, *, asynchronous: bool) -> Callable[..., Any]:
    """A scope showing ``user`` the rows of ``model`` of their tenant."""

    def condition(user: User) -> ColumnElement[bool] | None:
        return None if user.tenant is None else model.tenant_id == user.tenant

    if asynchronous:

        async def scope_async(user: CurrentUser) -> ColumnElement[bool] | None:
            return condition(user)

        return scope_async

    def scope_sync(user: CurrentUser) -> ColumnElement[bool] | None:
        return condition(user)

    return scope_sync


def declare_scopes(g: fr.FRGlobals) -> None:
    """A tenant scope for every model of the bookshop (async for books, sync otherwise)."""
    for model in (Author, Tag, Book, Review):
        fr.scope(model, globals=g)(tenant_scope(model, asynchronous=model is Book))


def rows() -> list[list[Any]]:
    """The bookshop's rows, in insertion order (see the module documentation)."""
    return [
        [
            Author(id=1, name="Mia", tenant_id=1),
            Author(id=2, name="Nora", tenant_id=2),
            Author(id=3, name="Zed", tenant_id=1),
            Author(id=4, name="Abe", tenant_id=2),
            Tag(id=1, name="one", tenant_id=1),
            Tag(id=2, name="two", tenant_id=2),
        ],
        [
            Book(id=1, title="Alpha", tenant_id=1, author_id=1),
            Book(id=2, title="Beta", tenant_id=1, author_id=2),
            Book(id=3, title="Gamma", tenant_id=1, author_id=3),
            Book(id=4, title="Delta", tenant_id=2, author_id=4),
            Book(id=5, title="Epsilon", tenant_id=2, author_id=1),
        ],
        [
            Review(id=1, book_id=1, stars=5, tenant_id=1),
            Review(id=2, book_id=1, stars=1, tenant_id=2),
            Review(id=3, book_id=3, stars=4, tenant_id=1),
            Review(id=4, book_id=4, stars=3, tenant_id=2),
        ],
    ]


def tag_books(engine: Any) -> None:
    """Alpha has tags 1 and 2, Delta tag 2."""
    with engine.begin() as connection:
        connection.execute(
            book_tag.insert(), [{"book_id": 1, "tag_id": 1}, {"book_id": 1, "tag_id": 2}, {"book_id": 4, "tag_id": 2}]
        )


class AsyncTenantWrites:
    """New rows belong to the tenant of the user creating them."""

    user: CurrentUser

    async def make_new_object(self, schema_obj: Any) -> Any:
        obj = await super().make_new_object(schema_obj)  # type: ignore[misc]
        obj.tenant_id = self.user.tenant or 1
        return obj


class SyncTenantWrites:
    user: CurrentUser

    def make_new_object(self, schema_obj: Any) -> Any:
        obj = super().make_new_object(schema_obj)  # type: ignore[misc]
        obj.tenant_id = self.user.tenant or 1
        return obj


def bookshop_views(g: fr.FRGlobals, kind: str) -> dict[str, type[Any]]:
    """The bookshop's views of one kind ("async" or "sync"), by prefix."""
    rest = fr.AsyncRestView if kind == "async" else fr.RestView
    admin = fr.AsyncReactAdminView if kind == "async" else fr.ReactAdminView
    writes = AsyncTenantWrites if kind == "async" else SyncTenantWrites
    specs: dict[str, tuple[tuple[type, ...], Any, Any, dict[str, Any]]] = {
        "/books": ((writes, rest), Book, BookSchema, {"include_pagination_metadata": True}),
        "/ra/books": ((writes, admin), Book, BookSchema, {}),
        "/authors": ((writes, rest), Author, AuthorSchema, {}),
        "/reviews": ((writes, rest), Review, ReviewSchema, {}),
    }
    views = {}
    for prefix, (bases, model, schema, options) in specs.items():
        namespace = {"prefix": prefix, "model": model, "schema": schema, **options}
        name = f"{model.__name__}{'Admin' if 'ra' in prefix else ''}View"
        views[prefix] = types.new_class(
            name, bases, {"globals": g}, lambda ns, namespace=namespace: ns.update(namespace)
        )
    return views
