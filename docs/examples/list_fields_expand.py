from datetime import date
from typing import Optional

from fastapi import FastAPI
from sqlalchemy import ColumnElement, ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import restly as fr


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    password: Mapped[str] = mapped_column(String(100))
    retired: Mapped[bool] = mapped_column(default=False)


class Book(Base):
    __tablename__ = "book"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    published_at: Mapped[date]
    author_id: Mapped[int] = mapped_column(ForeignKey("author.id"))
    author: Mapped[Author] = relationship()
    reviews: Mapped[list["Review"]] = relationship(order_by="Review.id")


class Review(Base):
    __tablename__ = "review"
    id: Mapped[int] = mapped_column(primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("book.id"))
    stars: Mapped[int]


class AuthorSchema(fr.IDSchema):
    name: str
    password: fr.WriteOnly[str]  # never answered, never selectable: not even author.password


@fr.scope(Author)
def active_authors() -> ColumnElement[bool]:
    return Author.retired.is_(False)  # a retired author is expanded as null


fr.configure(async_database_url="sqlite+aiosqlite:///app.db")
app = FastAPI()


@fr.include_view(app)
class AuthorView(fr.AsyncRestView):
    prefix = "/authors"
    model = Author
    schema = AuthorSchema


@fr.include_view(app)
class ReviewView(fr.AsyncRestView):
    prefix = "/reviews"
    model = Review


@fr.include_view(app)
class BookView(fr.AsyncRestView):
    prefix = "/books"
    model = Book
    include_pagination_metadata = True
    # Answered with the read schemas of AuthorView and ReviewView, declared above.
    expandable = ("author", "reviews")
    sparse_fields = True
