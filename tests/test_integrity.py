"""restly._faults: real constraint violations on every backend and driver, and their messages.

Each violation is provoked for real on SQLite (sqlite3, aiosqlite), PostgreSQL (psycopg,
asyncpg) and MariaDB/MySQL (pymysql, aiomysql). Server backends skip with a reason when
unreachable: set RESTLY_TEST_POSTGRES_URL / RESTLY_TEST_MYSQL_URL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from .conftest import DatabaseURLs, mysql_urls, postgres_urls, sqlite_urls
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from restly._faults import (
    IntegrityViolation,
    classify,
    describe_integrity_error,
    integrity_error_kind,
)

SECRET = "s3cret-value"  # stored in the violating rows; must never reach a message


@dataclass(frozen=True)
class Driver:
    """One database reached through one driver (sync or async)."""

    urls: DatabaseURLs
    is_async: bool

    @property
    def dialect(self) -> str:
        """SQLAlchemy's backend name: "mysql" for MariaDB too, like the expectations."""
        return sa.engine.make_url(self.urls.sync_url).get_backend_name()


DRIVERS = [
    pytest.param(("sqlite", False), id="sqlite"),
    pytest.param(("sqlite", True), id="aiosqlite"),
    pytest.param(("postgresql", False), id="psycopg", marks=pytest.mark.postgres),
    pytest.param(("postgresql", True), id="asyncpg", marks=pytest.mark.postgres),
    pytest.param(("mysql", False), id="pymysql"),
    pytest.param(("mysql", True), id="aiomysql"),
]
URLS: dict[str, Callable[[Path], DatabaseURLs]] = {
    "sqlite": sqlite_urls,
    "postgresql": lambda _: postgres_urls(),
    "mysql": lambda _: mysql_urls(),
}


def drivers_of(*dialects: str) -> list[Any]:
    """The DRIVERS params of these dialects, for ``parametrize(..., indirect=True)``."""
    return [param for param in DRIVERS if param.values[0][0] in dialects]


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Driver:
    dialect, is_async = request.param
    return Driver(URLS[dialect](tmp_path), is_async)


# --- tables (prefixed rmodels_ so they never clash with other tests on a shared server) ---------

metadata = sa.MetaData()
author = sa.Table(
    "rmodels_author",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("email", sa.String(100), nullable=False),
    sa.Column("region", sa.String(10)),
    sa.Column("code", sa.Integer),
    sa.Column("price", sa.Integer),
    sa.UniqueConstraint("email", name="rmodels_author_email_key"),
    sa.UniqueConstraint("region", "code", name="rmodels_author_region_code_key"),
    sa.CheckConstraint("price > 0", name="rmodels_author_price_positive"),
)
book = sa.Table(
    "rmodels_book",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column(
        "author_id",
        sa.Integer,
        sa.ForeignKey("rmodels_author.id", name="rmodels_book_author_id_fkey"),
    ),
    sa.Column("title", sa.String(100), nullable=False),
    sa.Column("isbn", sa.String(20), nullable=False),
)

# Constructs MariaDB lacks (an expression index, an EXCLUDE constraint), and an unnamed CHECK.
extra_metadata = sa.MetaData()
tag = sa.Table(
    "rmodels_tag",
    extra_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(50)),
    sa.Column("weight", sa.Integer, sa.CheckConstraint("weight < 100")),
    sa.Index("rmodels_tag_lower_name_key", sa.func.lower(sa.column("name")), unique=True),
)
booking = sa.Table(
    "rmodels_booking",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("room", sa.Integer),
    ExcludeConstraint(("room", "="), name="rmodels_booking_room_excl", using="btree"),
)


def an_author(id: int, **values: Any) -> sa.Insert:
    return author.insert().values(id=id, email=f"{SECRET}-{id}@example.com", **values)


def a_book(id: int, **values: Any) -> sa.Insert:
    return book.insert().values(id=id, title=SECRET, isbn=SECRET, **values)


def provoke(
    connection: Connection,
    tables: sa.MetaData,
    setup: Sequence[sa.Executable],
    violation: sa.Executable,
) -> DBAPIError:
    """Create ``tables``, run ``setup``, and return the error raised by ``violation``."""
    tables.drop_all(connection)
    tables.create_all(connection)
    connection.commit()
    try:
        for statement in setup:
            connection.execute(statement)
        connection.commit()
        try:
            connection.execute(violation)
        except DBAPIError as error:
            return error
        raise AssertionError(f"no error from {violation}")
    finally:
        connection.rollback()
        tables.drop_all(connection)
        connection.commit()


async def provoke_on(
    driver: Driver,
    setup: Sequence[sa.Executable],
    violation: sa.Executable,
    tables: sa.MetaData = metadata,
) -> DBAPIError:
    """Run :func:`provoke` through the driver (the async ones via ``run_sync``)."""
    if driver.is_async:
        async_engine = create_async_engine(driver.urls.async_url)
        enable_sqlite_foreign_keys(async_engine.sync_engine)
        try:
            async with async_engine.connect() as connection:
                return await connection.run_sync(provoke, tables, setup, violation)
        finally:
            await async_engine.dispose()
    engine = sa.create_engine(driver.urls.sync_url)
    enable_sqlite_foreign_keys(engine)
    try:
        with engine.connect() as connection:
            return provoke(connection, tables, setup, violation)
    finally:
        engine.dispose()


def enable_sqlite_foreign_keys(engine: sa.Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _foreign_keys_on(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


# --- the violations, and what each backend says about them -------------------------------------


@dataclass(frozen=True)
class Case:
    setup: tuple[sa.Executable, ...]
    violation: sa.Executable
    kind: str
    expected: dict[str, str]  # dialect -> message


CASES = {
    "unique": Case(
        (an_author(1),),
        author.insert().values(id=2, email=f"{SECRET}-1@example.com"),
        "unique",
        {
            "postgresql": "Unique constraint violated: rmodels_author_email_key (email)",
            "sqlite": "Unique constraint violated: email",
            "mysql": "Unique constraint violated: rmodels_author_email_key",
        },
    ),
    "unique-composite": Case(
        (an_author(1, region="eu", code=7),),
        an_author(2, region="eu", code=7),
        "unique",
        {
            "postgresql": (
                "Unique constraint violated: rmodels_author_region_code_key (region, code)"
            ),
            "sqlite": "Unique constraint violated: region, code",
            "mysql": "Unique constraint violated: rmodels_author_region_code_key",
        },
    ),
    "primary-key": Case(
        (an_author(1),),
        author.insert().values(id=1, email=f"{SECRET}-other@example.com"),
        "unique",
        {
            "postgresql": "Unique constraint violated: rmodels_author_pkey (id)",
            "sqlite": "Unique constraint violated: id",
            "mysql": "Unique constraint violated: PRIMARY",
        },
    ),
    "not-null": Case(
        (),
        book.insert().values(id=1, title=None, isbn=SECRET),
        "not_null",
        {
            "postgresql": "Not-null constraint violated: title",
            "sqlite": "Not-null constraint violated: title",
            "mysql": "Not-null constraint violated: title",
        },
    ),
    "not-null-omitted": Case(
        (),
        book.insert().values(id=1, title=SECRET),
        "not_null",
        {
            "postgresql": "Not-null constraint violated: isbn",
            "sqlite": "Not-null constraint violated: isbn",
            "mysql": "Not-null constraint violated: isbn",  # error 1364, not 1048
        },
    ),
    "foreign-key-insert": Case(
        (),
        a_book(1, author_id=99),
        "foreign_key",
        {
            "postgresql": "Foreign key constraint violated: rmodels_book_author_id_fkey",
            "sqlite": "Foreign key constraint violated",
            "mysql": "Foreign key constraint violated: rmodels_book_author_id_fkey",
        },
    ),
    "foreign-key-delete": Case(
        (an_author(1), a_book(1, author_id=1)),
        author.delete().where(author.c.id == 1),
        "foreign_key",
        {
            "postgresql": "Foreign key constraint violated: rmodels_book_author_id_fkey",
            "sqlite": "Foreign key constraint violated",
            "mysql": "Foreign key constraint violated: rmodels_book_author_id_fkey",
        },
    ),
    "check": Case(
        (),
        an_author(1, price=-5),
        "check",
        {
            "postgresql": "Check constraint violated: rmodels_author_price_positive",
            "sqlite": "Check constraint violated: rmodels_author_price_positive",
            "mysql": "Check constraint violated: rmodels_author_price_positive",
        },
    ),
}


@pytest.mark.anyio
@pytest.mark.parametrize("case_name", list(CASES))
async def test_violation_is_described_by_name_without_values(
    driver: Driver, case_name: str
) -> None:
    case = CASES[case_name]
    error = await provoke_on(driver, case.setup, case.violation)

    message = describe_integrity_error(error)

    assert message == case.expected[driver.dialect]
    assert integrity_error_kind(error) == case.kind
    assert classify(error) == "constraint"  # the status (409) reads the same tables
    assert SECRET not in message


@pytest.mark.anyio
@pytest.mark.parametrize("driver", drivers_of("mysql"), indirect=True)
@pytest.mark.parametrize("case_name", ["check", "not-null-omitted"])
async def test_mariadb_reports_some_violations_as_operational_errors(
    driver: Driver, case_name: str
) -> None:
    """These MariaDB errors are not IntegrityErrors, and are constraints all the same."""
    case = CASES[case_name]
    error = await provoke_on(driver, case.setup, case.violation)

    assert isinstance(error, OperationalError)
    assert not isinstance(error, IntegrityError)
    assert classify(error) == "constraint"


@pytest.mark.anyio
@pytest.mark.parametrize("driver", drivers_of("sqlite", "postgresql"), indirect=True)
async def test_unique_expression_index_is_named_without_its_expression(driver: Driver) -> None:
    setup = (tag.insert().values(id=1, name="News"),)
    violation = tag.insert().values(id=2, name="NEWS")
    error = await provoke_on(driver, setup, violation, extra_metadata)

    message = describe_integrity_error(error)

    assert message == "Unique constraint violated: rmodels_tag_lower_name_key"


@pytest.mark.anyio
@pytest.mark.parametrize("driver", drivers_of("sqlite", "postgresql"), indirect=True)
async def test_unnamed_check_does_not_echo_its_expression(driver: Driver) -> None:
    error = await provoke_on(driver, (), tag.insert().values(id=1, weight=500), extra_metadata)

    message = describe_integrity_error(error)

    assert integrity_error_kind(error) == "check"
    if driver.dialect == "sqlite":  # SQLite reports "CHECK constraint failed: weight < 100"
        assert message == "Check constraint violated"
    else:  # PostgreSQL generates a name
        assert message == "Check constraint violated: rmodels_tag_weight_check"


@pytest.mark.anyio
@pytest.mark.parametrize("driver", drivers_of("postgresql"), indirect=True)
async def test_exclusion_violation_names_constraint_and_columns(driver: Driver) -> None:
    setup = (booking.insert().values(id=1, room=4),)
    violation = booking.insert().values(id=2, room=4)
    error = await provoke_on(driver, setup, violation, booking.metadata)

    message = describe_integrity_error(error)

    assert message == "Exclusion constraint violated: rmodels_booking_room_excl (room)"
    assert integrity_error_kind(error) == "exclusion"


# --- messages of servers CI does not run, and of unknown drivers -------------------------------


def wrap(driver_error: Exception) -> IntegrityError:
    return IntegrityError("INSERT ...", {"email": SECRET}, driver_error)


@pytest.mark.parametrize(
    ("code", "text", "expected"),
    [
        (
            1062,
            f"Duplicate entry '{SECRET}' for key 'users.users_email_key'",
            "Unique constraint violated: users_email_key",
        ),
        (
            3819,
            "Check constraint 'price_positive' is violated.",
            "Check constraint violated: price_positive",
        ),
        (1062, "Doppelter Eintrag für Schlüssel", "Unique constraint violated"),
    ],
    ids=["mysql8-table-qualified-key", "mysql8-check", "localized-message"],
)
def test_mysql_message_forms(code: int, text: str, expected: str) -> None:
    pymysql = pytest.importorskip("pymysql")

    assert describe_integrity_error(wrap(pymysql.err.IntegrityError(code, text))) == expected


def test_unknown_driver_error_gets_the_generic_message() -> None:
    error = wrap(Exception(f"constraint broken by {SECRET}"))

    assert describe_integrity_error(error) == "Integrity constraint violated"
    assert integrity_error_kind(error) == "unknown"
    assert classify(error) == "constraint"  # it is an IntegrityError all the same


def test_operational_error_without_constraint_is_not_a_violation() -> None:
    error = OperationalError("SELECT 1", {}, Exception("server has gone away"))

    assert classify(error) != "constraint"


@pytest.mark.parametrize(
    ("violation", "message"),
    [
        (
            IntegrityViolation("unique", "users_email_key", ("email",)),
            "Unique constraint violated: users_email_key (email)",
        ),
        (
            IntegrityViolation("foreign_key", "book_author_id_fkey"),
            "Foreign key constraint violated: book_author_id_fkey",
        ),
        (IntegrityViolation("not_null", columns=("title",)), "Not-null constraint violated: title"),
        (IntegrityViolation("check"), "Check constraint violated"),
        # Names that are not identifiers are dropped, and a key's columns go all or none.
        (
            IntegrityViolation.of("unique", "a name; DROP", ["ok", "lower(x)"]),
            "Unique constraint violated",
        ),
    ],
)
def test_message_format(violation: IntegrityViolation, message: str) -> None:
    assert violation.message == message
