"""The benchmark schema: ``author`` and ``book``, shared by every contender.

``book`` covers the column types a typical API serves: int, str, float, bool, datetime,
nullable text, an enum-like status string and a foreign key::

    from benchmarks.models import Base, Book
    Base.metadata.create_all(engine)
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = ["STATUSES", "Author", "Base", "Book"]

STATUSES = ("draft", "published", "archived")


class Base(DeclarativeBase):
    """A plain user base class: restly must work on any ``DeclarativeBase``."""


class Author(Base):
    __tablename__ = "author"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(200))
    born: Mapped[int]
    bio: Mapped[str | None] = mapped_column(Text)


class Book(Base):
    __tablename__ = "book"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    pages: Mapped[int]
    price: Mapped[float]
    in_stock: Mapped[bool]
    # Indexed because the list scenario filters on status and sorts on published_at,
    # as any competent schema for that query would.
    published_at: Mapped[datetime] = mapped_column(index=True)
    summary: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("author.id"), index=True)

    # Relationships are part of a realistic model; neither contender serializes this one.
    author: Mapped[Author] = relationship(lazy="raise")
