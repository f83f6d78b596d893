"""A representative resource with every field kind, shared by the reliability tests."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    Uuid,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import restly as fr


class Base(DeclarativeBase):
    pass


class Color(enum.Enum):
    red = "red"
    green = "green"


class Owner(Base):
    __tablename__ = "rel_owner"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)


class Thing(Base):
    __tablename__ = "rel_thing"
    id: Mapped[int] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    big: Mapped[int] = mapped_column(BigInteger, default=0)
    small: Mapped[int | None] = mapped_column(SmallInteger)
    label: Mapped[str] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(Text)
    ratio: Mapped[float | None] = mapped_column(Float)
    price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    flag: Mapped[bool] = mapped_column(default=False)
    day: Mapped[date | None]
    at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    token: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    color: Mapped[Color | None] = mapped_column(Enum(Color))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("rel_owner.id"))
    data: Mapped[Any | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Tag(Base):
    """A foreign key checked at COMMIT where the backend can defer it (PostgreSQL, SQLite)."""

    __tablename__ = "rel_tag"
    __table_args__ = (
        ForeignKeyConstraint(
            ["owner_id"], ["rel_owner.id"], deferrable=True, initially="DEFERRED"
        ).ddl_if(dialect=("postgresql", "sqlite")),
        ForeignKeyConstraint(["owner_id"], ["rel_owner.id"]).ddl_if(dialect="mysql"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int]


class Note(Base):
    """A row with references: a required one (a relationship) and an optional column."""

    __tablename__ = "rel_note"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))
    secret: Mapped[str] = mapped_column(String(40), default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("rel_owner.id"))
    owner: Mapped[Owner] = relationship(foreign_keys=[owner_id])
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("rel_owner.id"))


class NoteSchema(fr.IDSchema):
    text: str
    secret: fr.WriteOnly[str] = ""
    owner: fr.IDRef[Owner]
    reviewer_id: fr.MustExist[int, Owner] | None = None


def view_base(kind: str) -> type:
    return fr.AsyncRestView if kind == "async" else fr.RestView


def make_app(*kinds: str, **options: Any) -> FastAPI:
    """An app serving ``/{kind}/things`` and ``/{kind}/owners`` for each view kind."""
    app = FastAPI()
    for kind in kinds or ("async", "sync"):
        for name, model in (("things", Thing), ("owners", Owner)):
            namespace = {"prefix": f"/{kind}/{name}", "model": model, **options}
            view = type(f"{model.__name__}{kind.title()}View", (view_base(kind),), namespace)
            fr.include_view(app, view)
    return app


def thing(**values: Any) -> dict[str, Any]:
    """A valid creation body, with ``values`` on top."""
    return {"count": 1, "label": "x", **values}
