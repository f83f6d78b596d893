"""Real constraint violations over HTTP, on every backend and driver, through sync and async views.

Each violation is provoked in the database (unique, foreign key, not null, check) through a
``RestView`` (sqlite3, psycopg, PyMySQL) and an ``AsyncRestView`` (aiosqlite, asyncpg,
aiomysql), and answers 409 with the message ``restly._faults`` derives from the driver's own
codes. A value the database refuses answers 422. (An unreachable database answering 503 with
``Retry-After`` is covered for every driver in ``test_faults.py``.)

The declared creation schema is deliberately looser than the table (``nick`` optional,
``level`` unbounded), so the database, not validation, is what refuses the request.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr

from .conftest import strict_json
from .models import view_base

pytestmark = pytest.mark.anyio


class Base(DeclarativeBase):
    pass


class Team(Base):
    __tablename__ = "dberr_team"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    __table_args__ = (UniqueConstraint("name", name="dberr_team_name_key"),)


class Player(Base):
    __tablename__ = "dberr_player"
    __table_args__ = (CheckConstraint("score >= 0", name="dberr_player_score_check"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(
        ForeignKey("dberr_team.id", name="dberr_player_team_fkey")
    )
    nick: Mapped[str] = mapped_column(String(40))
    score: Mapped[int] = mapped_column(default=0)
    level: Mapped[int] = mapped_column(SmallInteger, default=1)


class PlayerInput(fr.BaseSchema):
    """The view's declared ``creation_schema``: restly uses it as written (the creation
    schema it would derive carries the columns' storage limits, SMALLINT's range too)."""

    team_id: int
    nick: str | None = None  # NOT NULL in the table: the database refuses a null
    score: int = 0
    level: int = 1  # SMALLINT in the table, unbounded here: the database checks the range


class PlayerSchema(PlayerInput, fr.IDSchema):
    pass


# A table with a NOT NULL column (no default) that the model does not map: restly's INSERT
# leaves the column out, which MariaDB reports as error 1364, an OperationalError.
badge_table = Table(
    "dberr_badge",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("label", String(40), nullable=False),
    Column("code", Integer, nullable=False),
)


class Badge(Base):
    __table__ = badge_table
    __mapper_args__ = {"include_properties": ["id", "label"]}


def app_for(kind: str) -> FastAPI:
    app = FastAPI()
    base = view_base(kind)
    for name, namespace in (
        ("Team", {"prefix": "/teams", "model": Team}),
        (
            "Player",
            {
                "prefix": "/players",
                "model": Player,
                "schema": PlayerSchema,
                "creation_schema": PlayerInput,
            },
        ),
        ("Badge", {"prefix": "/badges", "model": Badge}),
    ):
        fr.include_view(app, type(f"{name}{kind.title()}View", (base,), namespace))
    return app


# What each backend's driver lets restly say: PostgreSQL names constraint and columns,
# SQLite the columns, MariaDB the constraint.
EXPECTED = {
    "unique": {
        "postgresql": "Unique constraint violated: dberr_team_name_key (name)",
        "sqlite": "Unique constraint violated: name",
        "mariadb": "Unique constraint violated: dberr_team_name_key",
    },
    "foreign_key": {
        "postgresql": "Foreign key constraint violated: dberr_player_team_fkey",
        "sqlite": "Foreign key constraint violated",
        "mariadb": "Foreign key constraint violated: dberr_player_team_fkey",
    },
    "check": {
        "postgresql": "Check constraint violated: dberr_player_score_check",
        "sqlite": "Check constraint violated: dberr_player_score_check",
        "mariadb": "Check constraint violated: dberr_player_score_check",
    },
}


def assert_conflict(response: Any, detail: str) -> None:
    assert response.status_code == 409, response.text
    assert strict_json(response) == {"detail": detail}


async def test_violations_answer_409_naming_the_constraint(
    database: Any, kind: str, client_for: Any
) -> None:
    client = client_for(app_for(kind))
    team = await client.post("/teams", json={"name": "Owls"})
    assert team.status_code == 201, team.text
    team_id = team.json()["id"]

    duplicate = await client.post("/teams", json={"name": "Owls"})
    assert_conflict(duplicate, EXPECTED["unique"][database.dialect])
    orphan = await client.post("/players", json={"team_id": team_id + 99, "nick": "x"})
    assert_conflict(orphan, EXPECTED["foreign_key"][database.dialect])
    unnamed = await client.post("/players", json={"team_id": team_id, "nick": None})
    assert_conflict(unnamed, "Not-null constraint violated: nick")
    negative = await client.post("/players", json={"team_id": team_id, "nick": "x", "score": -1})
    assert_conflict(negative, EXPECTED["check"][database.dialect])

    # Nothing of the refused requests was written, and the app keeps serving.
    assert [t["name"] for t in (await client.get("/teams")).json()] == ["Owls"]
    assert (await client.get("/players")).json() == []
    ok = await client.post("/players", json={"team_id": team_id, "nick": "x", "score": 3})
    assert ok.status_code == 201, ok.text


async def test_a_not_null_column_left_out_of_the_insert_answers_409(
    database: Any, kind: str, client_for: Any
) -> None:
    """MariaDB says 1364 ("Field 'code' doesn't have a default value") as an OperationalError;
    PostgreSQL and SQLite raise an IntegrityError. Every backend answers the same 409."""
    client = client_for(app_for(kind))

    response = await client.post("/badges", json={"label": "gold"})

    assert_conflict(response, "Not-null constraint violated: code")
    assert (await client.get("/badges")).json() == []


@pytest.mark.parametrize(
    "db_urls",
    [
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ],
    indirect=True,
)
async def test_a_value_the_database_refuses_answers_422(
    database: Any, kind: str, client_for: Any
) -> None:
    """SMALLINT out of range: SQLSTATE 22003 on PostgreSQL, error 1264 on MariaDB. (SQLite
    stores any integer in any column, so it has nothing to refuse here.)"""
    client = client_for(app_for(kind))
    team_id = (await client.post("/teams", json={"name": "Owls"})).json()["id"]

    response = await client.post("/players", json={"team_id": team_id, "nick": "x", "level": 70000})

    assert response.status_code == 422, response.text
    assert strict_json(response) == {
        "detail": [
            {
                "type": "value_error",
                "loc": [],
                "msg": "The database refused a value of this request",
                "input": None,
            }
        ]
    }
    assert (await client.get("/players")).json() == []
