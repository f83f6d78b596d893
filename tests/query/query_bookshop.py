"""A small bookshop served by a hand-written list route built on restly.query.

No ``from __future__ import annotations`` here: FastAPI must see the route's real
``Annotated[ParamsClass, Query()]`` annotation, and the params class is a local.

The route does what the real list view does: validate the query string with the generated
params class, then build the page query and the count query from one base select.
"""

import datetime as dt
import enum
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Optional

import fastapi
import httpx
import pytest
import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import restly as fr
from restly.query import (
    apply_list_params,
    create_list_params_schema,
    list_count_query,
    list_params_extras,
    list_params_page,
)


class Base(DeclarativeBase):
    pass


@dataclass(frozen=True)
class ByCollation:
    """Expected ids that depend on how the database compares text.

    SQLite and PostgreSQL (the test databases use the "C" collation) compare code points:
    "C:\\path" < "Peace_Maker" < "War" < "o'Reilly" < "the WAR". MariaDB's default collation
    (``utf8mb4_general_ci``) ignores case, so titles compare as their upper-case forms:
    "the WAR years" comes before "War and Peace", and "_" after the letters.
    """

    code_points: list[int]
    ignoring_case: list[int]

    def on(self, backend: str) -> list[int]:
        return self.ignoring_case if backend == "mariadb" else self.code_points


class Genre(enum.Enum):
    NOVEL = "novel"
    ESSAY = "essay"
    POETRY = "poetry"


class Publisher(Base):
    __tablename__ = "query_publisher"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(sa.String(100))


class Author(Base):
    __tablename__ = "query_author"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(sa.String(100))
    born: Mapped[Optional[dt.date]]
    publisher_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("query_publisher.id"))
    publisher: Mapped[Optional[Publisher]] = relationship()
    books: Mapped[list["Book"]] = relationship(back_populates="author")


class Book(Base):
    __tablename__ = "query_book"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(sa.String(200))
    pages: Mapped[Optional[int]]
    rating: Mapped[Optional[float]]
    price: Mapped[Optional[Decimal]] = mapped_column(sa.Numeric(10, 2))
    in_print: Mapped[bool] = mapped_column(default=True)
    genre: Mapped[Genre] = mapped_column(default=Genre.NOVEL)
    code: Mapped[uuid.UUID] = mapped_column(default=uuid.uuid4)
    published_at: Mapped[Optional[dt.datetime]] = mapped_column(sa.DateTime(timezone=True))
    secret: Mapped[str] = mapped_column(sa.String(50), default="hidden")
    status: Mapped[str] = mapped_column(
        sa.Enum("draft", "live", name="query_status"), default="live"
    )
    author_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("query_author.id"))
    author: Mapped[Optional[Author]] = relationship(back_populates="books")
    tags: Mapped[list["Tag"]] = relationship()


class Tag(Base):
    __tablename__ = "query_tag"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    label: Mapped[str] = mapped_column(sa.String(50))
    book_id: Mapped[int] = mapped_column(sa.ForeignKey("query_book.id"))


class PublisherSchema(fr.IDSchema):
    name: str


class AuthorSchema(fr.IDSchema):
    name: str
    born: Optional[dt.date] = None
    publisher: Optional[PublisherSchema] = None


class TagSchema(fr.IDSchema):
    label: str


class BookSchema(fr.IDSchema):
    title: str = Field(alias="bookTitle")
    pages: Optional[int] = None
    rating: Optional[float] = None
    price: Optional[Decimal] = None
    in_print: bool
    genre: Genre
    code: uuid.UUID
    published_at: fr.ReadOnly[Optional[dt.datetime]] = None
    secret: fr.WriteOnly[str]
    status: str  # a database enum: only its labels are accepted
    author: Optional[AuthorSchema] = None
    tags: list[TagSchema] = []


BookListParams = create_list_params_schema(BookSchema, model=Book, max_page_size=50)

UTC = dt.timezone.utc
CODE_1 = uuid.UUID("00000000-0000-0000-0000-000000000001")


def people() -> list[Any]:
    """Two publishers and three authors (fresh objects: each test has its own session)."""
    return [
        Publisher(id=1, name="Penguin"),
        Publisher(id=2, name="Vintage"),
        Author(id=1, name="Ann", born=dt.date(1950, 1, 1), publisher_id=1),
        Author(id=2, name="Bob", born=None, publisher_id=2),
        Author(id=3, name="Cy", born=dt.date(1990, 6, 1), publisher_id=None),
    ]


def books() -> list[Book]:
    """Six books; ids follow the rows, so expected results read as lists of ids."""
    return [
        Book(id=1, title="War and Peace", pages=1225, rating=4.5, price=Decimal("12.50"),
             in_print=True, genre=Genre.NOVEL, code=CODE_1,
             published_at=dt.datetime(2001, 5, 1, 10, 0, tzinfo=UTC), author_id=1,
             tags=[Tag(id=1, label="classic"), Tag(id=2, label="russian")]),
        Book(id=2, title="Peace_Maker 100%", pages=300, rating=None, price=None,
             in_print=False, genre=Genre.ESSAY, published_at=None, author_id=2,
             status="draft"),
        Book(id=3, title="the WAR years", pages=None, rating=3.0, price=Decimal("7.00"),
             in_print=True, genre=Genre.NOVEL,
             published_at=dt.datetime(2020, 1, 1, 0, 0, tzinfo=UTC), author_id=None,
             tags=[Tag(id=3, label="modern")]),
        Book(id=4, title="C:\\path\\to", pages=300, rating=4.5, price=Decimal("20.00"),
             in_print=True, genre=Genre.POETRY,
             published_at=dt.datetime(2010, 3, 1, 12, 0, tzinfo=UTC), author_id=1,
             tags=[Tag(id=4, label="classic")]),
        Book(id=5, title="Peacemaker", pages=50, rating=1.0, price=Decimal("3.99"),
             in_print=False, genre=Genre.POETRY,
             published_at=dt.datetime(2015, 7, 1, 8, 30, tzinfo=UTC), author_id=3),
        Book(id=6, title="o'Reilly \"quoted\"", pages=300, rating=2.0, price=None,
             in_print=True, genre=Genre.ESSAY,
             published_at=dt.datetime(2015, 7, 1, 8, 30, tzinfo=UTC), author_id=2),
    ]


def make_app(
    engine: AsyncEngine, params_class: type[BaseModel] = BookListParams
) -> fastapi.FastAPI:
    """A list route like the real one: page query and count from the same base select."""
    app = fastapi.FastAPI()

    Params = Annotated[params_class, fastapi.Query()]  # type: ignore[valid-type]

    @app.get("/books")
    async def list_books(params: Params) -> dict[str, Any]:
        base = sa.select(Book)
        async with AsyncSession(engine) as session:
            rows = (await session.scalars(apply_list_params(params, base, Book))).all()
            total = await session.scalar(list_count_query(params, base, Book))
        page, page_size = list_params_page(params)
        return {
            "ids": [row.id for row in rows],
            "total": total,
            "page": page,
            "page_size": page_size,
            "extras": list_params_extras(params),
        }

    return app


async def add_rows(engine: AsyncEngine, rows: list[Any]) -> None:
    async with AsyncSession(engine) as session, session.begin():
        session.add_all(rows)


def make_client(app: fastapi.FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
