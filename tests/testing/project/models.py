"""The user project's models (table names made unique per run by ``settings.SUFFIX``)."""

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import settings


class Base(DeclarativeBase):
    pass


class Item(Base):
    """Served by an async view."""

    __tablename__ = f"restly_testing_items_{settings.SUFFIX}"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


class Note(Base):
    """Served by a sync view."""

    __tablename__ = f"restly_testing_notes_{settings.SUFFIX}"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(50), unique=True)
