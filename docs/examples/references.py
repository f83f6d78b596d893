# --8<-- [start:models]
from typing import Optional

from fastapi import FastAPI
from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import restly as fr


class Base(DeclarativeBase):
    pass


book_tag = Table(
    "book_tag",
    Base.metadata,
    Column("book_id", ForeignKey("book.id"), primary_key=True),
    Column("tag_id", ForeignKey("tag.id"), primary_key=True),
)


class Author(Base):
    __tablename__ = "author"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(200), default="")


class Publisher(Base):
    __tablename__ = "publisher"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Tag(Base):
    __tablename__ = "tag"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(50))


class Book(Base):
    __tablename__ = "book"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    author_id: Mapped[int] = mapped_column(ForeignKey("author.id"))
    author: Mapped[Author] = relationship()
    publisher_id: Mapped[Optional[int]] = mapped_column(ForeignKey("publisher.id"))
    tags: Mapped[list[Tag]] = relationship(secondary=book_tag, order_by=Tag.id)
# --8<-- [end:models]


fr.configure(async_database_url="sqlite+aiosqlite:///books.db")
app = FastAPI()


# --8<-- [start:book-view]
class BookSchema(fr.IDSchema):
    title: str
    author: fr.IDRef[Author]  # the relationship Book.author
    author_id: Optional[int] = None  # its foreign-key column: must agree when both are sent
    publisher_id: Optional[fr.IDRef[Publisher]] = None  # the column Book.publisher_id
    tags: list[fr.IDRef[Tag]] = []  # the to-many relationship Book.tags


@fr.include_view(app)
class BookView(fr.AsyncRestView):
    prefix = "/books"
    model = Book
    schema = BookSchema
# --8<-- [end:book-view]


# --8<-- [start:nested-form]
class BookWithIdsSchema(fr.IDSchema):
    title: str
    author: fr.IDSchema[Author]  # {"author": {"id": 1}} in and out


@fr.include_view(app)
class BookWithIdsView(fr.AsyncRestView):
    prefix = "/books-with-ids"
    model = Book
    schema = BookWithIdsSchema
# --8<-- [end:nested-form]


# --8<-- [start:nested-read]
class AuthorSchema(fr.IDSchema):
    name: str
    email: fr.WriteOnly[str] = ""  # hidden here and wherever AuthorSchema is nested


class TagSchema(fr.IDSchema):
    label: str


class BookDetailSchema(fr.IDSchema):
    title: str
    author_id: fr.IDRef[Author]  # written as an id...
    author: fr.ReadOnly[AuthorSchema]  # ...and shown as an object
    tags: list[TagSchema] = []  # a nested relationship: read-only on input


@fr.include_view(app)
class BookDetailView(fr.AsyncRestView):
    prefix = "/book-details"
    model = Book
    schema = BookDetailSchema
# --8<-- [end:nested-read]
