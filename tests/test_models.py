"""restly.models: mixins, bases, UTCDateTime and get_one_or_create, on SQLite, PostgreSQL and
MariaDB/MySQL (server backends skip with a reason when unreachable)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from .conftest import DatabaseURLs, mysql_urls, postgres_urls, sqlite_urls
from sqlalchemy.exc import IntegrityError, MultipleResultsFound, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from restly.exc import RestlyConfigurationError
from restly.models import (
    DataclassBase,
    IDBase,
    IDMixin,
    TimestampsMixin,
    UTCDateTime,
    async_get_one_or_create,
    get_one_or_create,
    snake_case,
    utc_now,
)


class Base(DeclarativeBase):
    pass


class Account(IDMixin, TimestampsMixin, Base):
    __tablename__ = "rmodels_account"

    email: Mapped[str] = mapped_column(sa.String(100), unique=True)
    plan: Mapped[str] = mapped_column(sa.String(20))


class RmodelsBlogPost(IDMixin, TimestampsMixin, DataclassBase):
    title: Mapped[str] = mapped_column(sa.String(100))
    body: Mapped[str] = mapped_column(sa.String(100), default="")


class RmodelsArticle(IDBase, TimestampsMixin):
    title: Mapped[str] = mapped_column(sa.String(100))


class RmodelsFeaturedArticle(RmodelsArticle):
    featured: Mapped[bool | None]


class RmodelsLegacy(IDBase):
    __tablename__ = "rmodels_legacy_table"


class RmodelsToken(IDMixin, Base):
    __tablename__ = "rmodels_token"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)


class RmodelsNamed(IDMixin, DataclassBase):
    __abstract__ = True


class RmodelsLabel(RmodelsNamed):
    name: Mapped[str] = mapped_column(sa.String(50))


TABLES = [Account.__table__, RmodelsBlogPost.__table__, RmodelsArticle.__table__]
LONG_AGO = datetime(2000, 1, 1, tzinfo=timezone.utc)


# --- class construction -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("BlogPost", "blog_post"),
        ("HTTPRequestLog", "http_request_log"),
        ("User2FA", "user2_fa"),
        ("Tag", "tag"),
        ("already_snake", "already_snake"),
    ],
)
def test_snake_case(name: str, table: str) -> None:
    assert snake_case(name) == table


def test_id_base_models_get_an_id_key_and_a_snake_case_table() -> None:
    table = RmodelsArticle.__table__

    assert table.name == "rmodels_article"
    assert list(table.c.keys()) == ["id", "title", "created_at", "updated_at", "featured"]
    assert [c.name for c in table.primary_key] == ["id"]
    assert isinstance(table.c.id.type, sa.Integer)
    assert table.c.id.autoincrement is True


def test_id_base_explicit_table_name_wins() -> None:
    assert RmodelsLegacy.__table__.name == "rmodels_legacy_table"


def test_id_base_subclass_shares_the_table() -> None:
    assert RmodelsFeaturedArticle.__table__ is RmodelsArticle.__table__
    assert "featured" in RmodelsArticle.__table__.c


def test_dataclass_base_models_are_keyword_only_dataclasses() -> None:
    post = RmodelsBlogPost(title="Hello")

    assert RmodelsBlogPost.__table__.name == "rmodels_blog_post"
    assert {f.name for f in dataclasses.fields(RmodelsBlogPost)} == {
        "id", "title", "body", "created_at", "updated_at"
    }
    assert (post.id, post.title, post.body, post.created_at) == (None, "Hello", "", None)
    with pytest.raises(TypeError):
        RmodelsBlogPost("Hello")  # type: ignore[misc]


@pytest.mark.parametrize("field", ["id", "created_at", "updated_at"])
def test_dataclass_mixin_columns_are_not_init_arguments(field: str) -> None:
    with pytest.raises(TypeError, match=field):
        RmodelsBlogPost(title="Hello", **{field: None})


def test_mixin_on_an_abstract_dataclass_base_reaches_the_model() -> None:
    assert list(RmodelsLabel.__table__.c.keys()) == ["id", "name"]
    assert RmodelsLabel.__table__.name == "rmodels_label"
    assert {f.name for f in dataclasses.fields(RmodelsLabel)} == {"id", "name"}


def test_id_mixin_works_on_a_plain_declarative_base() -> None:
    table = Account.__table__

    assert list(table.c.keys()) == ["id", "email", "plan", "created_at", "updated_at"]
    assert [c.name for c in table.primary_key] == ["id"]
    assert not dataclasses.is_dataclass(Account)


def test_id_declared_on_the_model_wins_over_the_mixin() -> None:
    assert isinstance(RmodelsToken.__table__.c.id.type, sa.String)


def test_timestamp_columns_are_utc_datetimes() -> None:
    for name in ("created_at", "updated_at"):
        column_type = Account.__table__.c[name].type
        assert isinstance(column_type, UTCDateTime)
        assert column_type.impl.timezone is True


def test_mixin_listed_after_the_base_is_refused_with_the_fix() -> None:
    class Throwaway(DeclarativeBase):
        pass

    with pytest.raises(RestlyConfigurationError) as info:

        class Late(Throwaway, TimestampsMixin):
            __tablename__ = "late"
            id: Mapped[int] = mapped_column(primary_key=True)

    assert str(info.value) == (
        "Late lists TimestampsMixin after its declarative base, so the mixin columns could not "
        "be added. List the mixins first: class Late(TimestampsMixin, Throwaway)."
    )


# --- timestamps on a real database --------------------------------------------------------------

# PostgreSQL answers in the session's zone; a non-UTC one proves values come back as UTC.
POSTGRES_ZONE = {
    "postgresql+psycopg": {"options": "-c timezone=Asia/Kolkata"},
    "postgresql+asyncpg": {"server_settings": {"timezone": "Asia/Kolkata"}},
}


def connect_args(url: str) -> dict[str, Any]:
    return POSTGRES_ZONE.get(url.split("://", 1)[0], {})


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "mysql"]
)
def any_db_urls(request: pytest.FixtureRequest, tmp_path: Path) -> DatabaseURLs:
    """Like ``db_urls``, plus MySQL/MariaDB."""
    if request.param == "sqlite":
        return sqlite_urls(tmp_path)
    return postgres_urls() if request.param == "postgresql" else mysql_urls()


@contextmanager
def engine_for(urls: DatabaseURLs) -> Iterator[sa.Engine]:
    """A sync engine on a database holding fresh, empty TABLES (dropped afterwards)."""
    engine = sa.create_engine(urls.sync_url, connect_args=connect_args(urls.sync_url))
    try:
        with engine.begin() as connection:
            recreate_tables(connection)
        yield engine
        with engine.begin() as connection:
            drop_tables(connection)
    finally:
        engine.dispose()


@pytest.fixture
def engine(any_db_urls: DatabaseURLs) -> Iterator[sa.Engine]:
    with engine_for(any_db_urls) as engine:
        yield engine


@asynccontextmanager
async def async_engine_for(urls: DatabaseURLs) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(urls.async_url, connect_args=connect_args(urls.async_url))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(recreate_tables)
        yield engine
        async with engine.begin() as connection:
            await connection.run_sync(drop_tables)
    finally:
        await engine.dispose()


def recreate_tables(connection: sa.Connection) -> None:
    drop_tables(connection)
    for table in TABLES:
        table.create(connection)


def drop_tables(connection: sa.Connection) -> None:
    for table in TABLES:
        table.drop(connection, checkfirst=True)


def assert_utc(value: datetime) -> None:
    assert value.tzinfo is timezone.utc


@pytest.mark.parametrize("model", [Account, RmodelsBlogPost, RmodelsArticle])
def test_timestamps_are_set_at_insert_as_aware_utc(engine: sa.Engine, model: type[Any]) -> None:
    values = {"email": "a@example.com", "plan": "free"} if model is Account else {"title": "T"}
    before = utc_now()
    with Session(engine) as session:
        row = model(**values)
        session.add(row)
        session.commit()
        after = utc_now()

        assert_utc(row.created_at)
        assert before <= row.created_at <= after
        assert row.updated_at == row.created_at
        expected = row.created_at

    with Session(engine) as session:
        stored = session.get(model, row.id)
        assert stored is not None
        assert_utc(stored.created_at)
        assert_utc(stored.updated_at)
        assert stored.created_at == expected  # microseconds survive the round trip


def test_updated_at_changes_on_update_and_created_at_does_not(engine: sa.Engine) -> None:
    with Session(engine) as session:
        account = Account(email="a@example.com", plan="free")
        session.add(account)
        session.commit()
        session.execute(
            sa.update(Account).values(created_at=LONG_AGO, updated_at=LONG_AGO)
        )
        session.commit()

        account.plan = "pro"
        session.commit()
        account_id = account.id

    with Session(engine) as session:
        stored = session.get(Account, account_id)
        assert stored is not None
        assert stored.created_at == LONG_AGO
        assert stored.updated_at > LONG_AGO + timedelta(days=365)
        assert_utc(stored.updated_at)


def test_utc_datetime_stores_other_zones_as_the_same_instant(engine: sa.Engine) -> None:
    plus_two = datetime(2024, 5, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    with engine.begin() as connection:
        connection.execute(
            sa.insert(Account).values(email="z@example.com", plan="free", created_at=plus_two)
        )
        stored = connection.scalar(sa.select(Account.created_at))

    assert stored == plus_two
    assert stored is not None
    assert_utc(stored)
    assert stored.hour == 10


def test_utc_datetime_refuses_naive_datetimes(engine: sa.Engine) -> None:
    with pytest.raises(StatementError, match="needs a timezone-aware datetime"):
        with engine.begin() as connection:
            connection.execute(
                sa.insert(Account).values(
                    email="n@example.com", plan="free", created_at=datetime(2024, 5, 1)
                )
            )


@pytest.mark.anyio
async def test_timestamps_with_an_async_session(any_db_urls: DatabaseURLs) -> None:
    async with async_engine_for(any_db_urls) as engine:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            account = Account(email="a@example.com", plan="free")
            session.add(account)
            await session.commit()
            assert_utc(account.created_at)
            assert account.updated_at == account.created_at
            await session.execute(sa.update(Account).values(updated_at=LONG_AGO))
            await session.commit()

            account.plan = "pro"
            await session.commit()

        async with AsyncSession(engine) as session:
            stored = await session.get(Account, account.id)
            assert stored is not None
            assert stored.created_at == account.created_at
            assert stored.updated_at > LONG_AGO + timedelta(days=365)
            assert_utc(stored.updated_at)


# --- get_one_or_create --------------------------------------------------------------------------


def count_accounts(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Account)) or 0


def test_get_one_or_create_creates_once_then_finds(engine: sa.Engine) -> None:
    with Session(engine) as session:
        first, created = get_one_or_create(session, Account, {"plan": "free"}, email="a@b.c")
        assert created is True
        assert first.plan == "free"
        session.commit()
        first_id = first.id

    with Session(engine) as session:
        again, created = get_one_or_create(session, Account, {"plan": "pro"}, email="a@b.c")
        assert created is False
        assert again.id == first_id
        assert again.plan == "free"  # defaults only apply to a new row
        assert count_accounts(session) == 1


def test_get_one_or_create_commits_nothing(engine: sa.Engine) -> None:
    with Session(engine) as session:
        get_one_or_create(session, Account, {"plan": "free"}, email="a@b.c")
        session.rollback()
        assert count_accounts(session) == 0


def test_get_one_or_create_on_sqlite_with_the_documented_transaction_fix(tmp_path: Path) -> None:
    """An engine that already emits BEGIN itself gets no second BEGIN from the helper."""
    engine = sa.create_engine(sqlite_urls(tmp_path).sync_url)

    @sa.event.listens_for(engine, "connect")
    def _driver_leaves_transactions_alone(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin_explicitly(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN")

    Account.__table__.create(engine)
    try:
        with Session(engine) as session:
            _, created = get_one_or_create(session, Account, {"plan": "free"}, email="a@b.c")
            assert created is True
            session.rollback()
            assert count_accounts(session) == 0
    finally:
        engine.dispose()


def insert_competitor_before_flush(session: Session, engine: sa.Engine, email: str) -> list[int]:
    """Commit a row with ``email`` from another connection just before ``session`` flushes.

    That is the race get_one_or_create must survive: the row appears after its SELECT found
    nothing and before its INSERT. Returns a list that receives the competitor's id.
    """
    competitor_ids: list[int] = []

    @sa.event.listens_for(session, "before_flush")
    def _competitor_wins(*_: Any) -> None:
        if competitor_ids:
            return
        with engine.begin() as connection:
            row = {"email": email, "plan": "competitor"}
            result = connection.execute(sa.insert(Account).values(row))
            competitor_ids.append(result.inserted_primary_key[0])

    return competitor_ids


def test_get_one_or_create_returns_the_row_a_concurrent_insert_won_with(engine: sa.Engine) -> None:
    with Session(engine) as session:
        competitor_ids = insert_competitor_before_flush(session, engine, "race@b.c")

        row, created = get_one_or_create(session, Account, {"plan": "free"}, email="race@b.c")

        assert created is False
        assert row.id == competitor_ids[0]
        assert row.plan == "competitor"
    with engine.connect() as connection:  # a fresh snapshot, whatever the isolation level
        assert connection.scalar(sa.select(sa.func.count()).select_from(Account)) == 1


def test_get_one_or_create_reraises_other_integrity_errors(engine: sa.Engine) -> None:
    with Session(engine) as session:
        session.add(Account(email="kept@b.c", plan="free"))
        with pytest.raises(IntegrityError):
            get_one_or_create(session, Account, email="no-plan@b.c")  # plan is NOT NULL

        # Only the savepoint was rolled back: the earlier row is still in the transaction.
        assert session.scalars(sa.select(Account.email)).all() == ["kept@b.c"]


def test_get_one_or_create_with_two_matches_raises(engine: sa.Engine) -> None:
    with Session(engine) as session:
        session.add_all([Account(email="a@b.c", plan="free"), Account(email="b@b.c", plan="free")])
        session.flush()
        with pytest.raises(MultipleResultsFound):
            get_one_or_create(session, Account, plan="free")


def test_get_one_or_create_refuses_a_name_in_filters_and_defaults() -> None:
    with pytest.raises(TypeError) as info:
        get_one_or_create(Session(), Account, {"email": "x", "plan": "free"}, email="a@b.c")

    assert str(info.value) == (
        "get_one_or_create() got 'email' both as a filter and in defaults; pass each name once "
        "(filters are also used to create the object)"
    )


def test_get_one_or_create_needs_a_filter() -> None:
    with pytest.raises(TypeError, match="needs at least one filter"):
        get_one_or_create(Session(), Account, {"plan": "free"})


@pytest.mark.anyio
async def test_async_get_one_or_create(any_db_urls: DatabaseURLs) -> None:
    async with async_engine_for(any_db_urls) as engine:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            first, created = await async_get_one_or_create(
                session, Account, {"plan": "free"}, email="a@b.c"
            )
            assert created is True
            await session.commit()

            again, created = await async_get_one_or_create(
                session, Account, {"plan": "pro"}, email="a@b.c"
            )
            assert (again.id, again.plan, created) == (first.id, "free", False)

            await async_get_one_or_create(session, Account, {"plan": "free"}, email="new@b.c")
            await session.rollback()  # nothing was committed by the helper
            emails = (await session.scalars(sa.select(Account.email))).all()
            assert emails == ["a@b.c"]


@pytest.mark.anyio
async def test_async_get_one_or_create_survives_a_concurrent_insert(
    any_db_urls: DatabaseURLs,
) -> None:
    sync_engine = sa.create_engine(any_db_urls.sync_url)
    try:
        async with async_engine_for(any_db_urls) as engine, AsyncSession(engine) as session:
            competitor_ids = insert_competitor_before_flush(
                session.sync_session, sync_engine, "race@b.c"
            )

            row, created = await async_get_one_or_create(
                session, Account, {"plan": "free"}, email="race@b.c"
            )

            assert (row.id, row.plan, created) == (competitor_ids[0], "competitor", False)
            with pytest.raises(IntegrityError):
                await async_get_one_or_create(session, Account, email="no-plan@b.c")
    finally:
        sync_engine.dispose()


# --- a real race between two sessions on a database server ------------------------------------

# How to learn a session's server-side id, and whether that session waits for another's lock.
BACKEND_ID = {"postgresql": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}
IS_BLOCKED = {
    "postgresql": "SELECT cardinality(pg_blocking_pids(:id)) > 0",
    "mysql": (
        "SELECT COUNT(*) > 0 FROM information_schema.INNODB_TRX "
        "WHERE trx_mysql_thread_id = :id AND trx_state = 'LOCK WAIT'"
    ),
}


def wait_until_blocked(engine: sa.Engine, backend_id: int) -> None:
    """Wait until the session ``backend_id`` waits for a lock another transaction holds."""
    query = sa.text(IS_BLOCKED[engine.dialect.name])
    deadline = time.monotonic() + 10
    with engine.connect() as connection:
        while not connection.scalar(query, {"id": backend_id}):
            if time.monotonic() > deadline:
                raise AssertionError("the second session never waited for the first")
            # InnoDB refreshes INNODB_TRX only after 0.1 s without reads: poll slower than that.
            time.sleep(0.15)
            connection.rollback()


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres), "mysql"])
def server_urls(request: pytest.FixtureRequest) -> DatabaseURLs:
    return postgres_urls() if request.param == "postgresql" else mysql_urls()


@pytest.fixture
def server_engine(server_urls: DatabaseURLs) -> Iterator[sa.Engine]:
    with engine_for(server_urls) as engine:
        yield engine


def test_race_between_two_sessions_on_a_unique_column(server_engine: sa.Engine) -> None:
    with (
        Session(server_engine, expire_on_commit=False) as first,
        Session(server_engine, expire_on_commit=False) as second,
    ):
        second_id = second.scalar(sa.text(BACKEND_ID[server_engine.dialect.name]))
        assert isinstance(second_id, int)
        winner, created = get_one_or_create(first, Account, {"plan": "first"}, email="r@b.c")
        assert created is True

        with ThreadPoolExecutor(max_workers=1) as pool:
            # The second INSERT blocks on the first's uncommitted row, then hits the unique key.
            pending = pool.submit(
                get_one_or_create, second, Account, {"plan": "second"}, email="r@b.c"
            )
            try:
                wait_until_blocked(server_engine, second_id)
            finally:
                first.commit()  # unblocks the second session even when the wait failed
            loser, created = pending.result(timeout=10)

        assert created is False
        assert (loser.id, loser.plan) == (winner.id, "first")


@pytest.mark.anyio
async def test_async_race_between_two_sessions_on_a_unique_column(
    server_urls: DatabaseURLs, server_engine: sa.Engine
) -> None:
    engine = create_async_engine(server_urls.async_url)
    try:
        async with (
            AsyncSession(engine, expire_on_commit=False) as first,
            AsyncSession(engine, expire_on_commit=False) as second,
        ):
            second_id = await second.scalar(sa.text(BACKEND_ID[server_engine.dialect.name]))
            assert isinstance(second_id, int)
            winner, created = await async_get_one_or_create(
                first, Account, {"plan": "first"}, email="r@b.c"
            )
            assert created is True

            pending = asyncio.ensure_future(
                async_get_one_or_create(second, Account, {"plan": "second"}, email="r@b.c")
            )
            try:
                await asyncio.to_thread(wait_until_blocked, server_engine, second_id)
            finally:
                await first.commit()  # unblocks the second session even when the wait failed
                await asyncio.wait([pending], timeout=10)
            loser, created = pending.result()

            assert created is False
            assert (loser.id, loser.plan) == (winner.id, "first")
    finally:
        await engine.dispose()
