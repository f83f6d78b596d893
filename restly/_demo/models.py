"""The demo's tables: authors, their books, and reviews of those books."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Author", "Book", "DemoBase", "Review"]


class DemoBase(DeclarativeBase):
    """Declarative base of the demo tables (kept apart from any application's metadata)."""


class Author(DemoBase):
    __tablename__ = "author"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    born: Mapped[int | None]


class Book(DemoBase):
    __tablename__ = "book"
    __table_args__ = (UniqueConstraint("author_id", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    year: Mapped[int | None]
    author_id: Mapped[int] = mapped_column(ForeignKey("author.id"))


class Review(DemoBase):
    __tablename__ = "review"

    id: Mapped[int] = mapped_column(primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("book.id", ondelete="CASCADE"))
    rating: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
