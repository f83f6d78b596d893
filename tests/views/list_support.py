"""Shared by the keyset and count tests: a table with ties and NULLs in every sort key.

No ``from __future__ import annotations``: the views' schemas are declared here.
"""

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any, Optional

import httpx
import pytest
from sqlalchemy import DateTime, Float, ForeignKey, Numeric, String, Uuid, insert
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import restly as fr


class Base(DeclarativeBase):
    pass


class Kind(enum.Enum):
    ODE = "ode"
    EPIC = "epic"
    SAGA = "saga"


#: Microseconds on every backend (MariaDB's DATETIME keeps none unless asked).
MICROS = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
#: With a time zone where the database keeps one (PostgreSQL), and microseconds.
AWARE = DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


class Shelf(Base):
    __tablename__ = "ls_shelf"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[Optional[str]] = mapped_column(String(20))


class Volume(Base):
    __tablename__ = "ls_volume"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(String(40))
    rank: Mapped[Optional[int]]
    weight: Mapped[Optional[Decimal]] = mapped_column(Numeric(8, 3))
    score: Mapped[Optional[float]] = mapped_column(Float)  # single precision on MariaDB
    stamp: Mapped[dt.datetime] = mapped_column(MICROS)
    moment: Mapped[dt.datetime] = mapped_column(AWARE)
    code: Mapped[uuid.UUID] = mapped_column(Uuid)
    flag: Mapped[bool]
    kind: Mapped[Kind]
    owner: Mapped[str] = mapped_column(String(10), default="ann")
    shelf_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ls_shelf.id"))
    shelf: Mapped[Optional[Shelf]] = relationship()


class ShelfRead(fr.BaseSchema):
    id: int
    name: Optional[str]


class NestedVolume(fr.BaseSchema):
    id: int
    title: str
    rank: Optional[int]
    stamp: dt.datetime
    shelf: Optional[ShelfRead]


class EveryKey(NestedVolume):
    """Every sort key: columns of each type and a nested relation."""

    weight: Optional[Decimal]
    score: Optional[float]
    flag: bool
    kind: Kind


SHELVES = [{"id": 1, "name": "alpha"}, {"id": 2, "name": None}, {"id": 3, "name": "beta"}]
STAMP = dt.datetime(2024, 1, 1, 12, 0, 0)
MOMENT = dt.datetime(2024, 6, 30, 23, 59, 59, 999_999)  # UTC


def volume(index: int) -> dict[str, Any]:
    """Row ``index``: a third of the ranks and a fifth of the weights NULL, stamps differing
    only in their microseconds, every value repeated many times."""
    return {
        "id": index,
        "title": f"vol {index % 6}",
        "rank": None if index % 3 == 0 else index % 4,
        "weight": None if index % 5 == 0 else Decimal(index % 3) / 4,
        "score": None if index % 6 == 0 else (index % 4) * 0.1,  # no float32 holds 0.1
        "stamp": STAMP + dt.timedelta(microseconds=index % 7),
        "moment": MOMENT - dt.timedelta(microseconds=index % 5),
        "code": uuid.uuid5(uuid.NAMESPACE_OID, str(index % 9)),
        "flag": index % 2 == 0,
        "kind": list(Kind)[index % 3],
        "owner": "ann" if index % 4 else "bob",
        "shelf_id": None if index % 4 == 0 else 1 + index % 3,
    }


VOLUMES = [volume(index) for index in range(1, 62)]


def seed(fr_globals: fr.FRGlobals, rows: list[dict[str, Any]] = VOLUMES) -> None:
    with fr_globals.get_engine().begin() as connection:
        connection.execute(insert(Shelf), SHELVES)
        connection.execute(insert(Volume), rows)


def ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    body = response.json()
    items = body["items"] if isinstance(body, dict) else body
    return [item["id"] for item in items]


async def walk(
    client: httpx.AsyncClient, response: httpx.Response, rel: str = "next", most: int = 200
) -> list[httpx.Response]:
    """The pages from ``response`` on, following its ``rel`` links (at most ``most``)."""
    pages = [response]
    for _ in range(most):
        assert response.status_code == 200, response.text
        link = response.links.get(rel)
        if link is None:
            return pages
        response = await client.get(link["url"])
        pages.append(response)
    pytest.fail(f"more than {most} pages following {rel!r} links")
