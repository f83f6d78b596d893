"""Shared fixtures: database backends and a fresh restly runtime state per test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from restly import FRGlobals, configure, use_fr_globals

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_MYSQL_URL = "mysql://root@127.0.0.1:3306/test"


def worker_database_name(name: str) -> str:
    """``name`` for this pytest-xdist worker: ``test`` is ``test_gw0`` in worker ``gw0``.

    The suite runs in parallel worker processes (``-n`` in pyproject's ``addopts``); each
    worker has databases of its own, so tests that create, empty or drop tables, or count
    the server's connections, never meet another worker's. Unchanged outside xdist.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or name.endswith(f"_{worker}"):
        return name
    return f"{name}_{worker}"


def _use_worker_databases() -> None:
    """Point ``RESTLY_TEST_POSTGRES_URL`` / ``RESTLY_TEST_MYSQL_URL`` at this worker's own
    databases, creating them when missing. Processes the tests start inherit the URLs. A
    server that cannot be reached is left alone: its tests skip (or fail in CI) with the
    reason, as without xdist."""
    from sqlalchemy.engine import make_url

    for variable, default, create in (
        ("RESTLY_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL, _create_postgres_database),
        ("RESTLY_TEST_MYSQL_URL", DEFAULT_MYSQL_URL, _create_mysql_database),
    ):
        url = make_url(os.environ.get(variable, default))
        name = worker_database_name(url.database or "")
        if name == url.database:
            continue
        try:
            create(url, name)
        except Exception:  # noqa: BLE001, S112 - unreachable: *_unavailable_reason says why
            continue
        os.environ[variable] = url.set(database=name).render_as_string(hide_password=False)


def _create_postgres_database(url: Any, name: str) -> None:
    import psycopg

    server = url.render_as_string(hide_password=False)
    with psycopg.connect(server, connect_timeout=3, autocommit=True) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            admin.execute(f'CREATE DATABASE "{name}"')


def _create_mysql_database(url: Any, name: str) -> None:
    import pymysql

    connection = pymysql.connect(
        host=url.host or "127.0.0.1", port=url.port or 3306, user=url.username or "root",
        password=url.password or "", connect_timeout=3,
    )  # fmt: skip
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{name}`")
    finally:
        connection.close()


_use_worker_databases()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class DatabaseURLs:
    """A pair of URLs for one database: one for a sync engine, one for an async engine."""

    name: str
    sync_url: str
    async_url: str
    #: The URLs reach PostgreSQL through PgBouncer in transaction pooling mode: engines
    #: must be built with restly's ``pgbouncer=True``.
    pgbouncer: bool = False

    @property
    def dialect(self) -> str:
        return self.name.split("-")[0]


@cache
def postgres_unavailable_reason() -> str | None:
    """Return why PostgreSQL can't be used for tests, or None when it can."""
    url = os.environ.get("RESTLY_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    try:
        import psycopg
    except ImportError:  # pragma: no cover - the test extra installs it
        return "psycopg is not installed (pip install -e '.[test]')"
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except Exception as error:  # noqa: BLE001 - any failure means "skip with the reason"
        return f"PostgreSQL unreachable at {url} ({type(error).__name__}); set RESTLY_TEST_POSTGRES_URL"
    return None


@cache
def mysql_unavailable_reason() -> str | None:
    """Return why MariaDB/MySQL can't be used for tests, or None when it can."""
    url = os.environ.get("RESTLY_TEST_MYSQL_URL", DEFAULT_MYSQL_URL)
    try:
        import aiomysql  # noqa: F401
        import pymysql
        from sqlalchemy.engine import make_url
    except ImportError:  # pragma: no cover - the test extra installs them
        return "pymysql/aiomysql are not installed (pip install -e '.[test]')"
    parsed = make_url(url)
    try:
        pymysql.connect(
            host=parsed.host or "127.0.0.1",
            port=parsed.port or 3306,
            user=parsed.username or "root",
            password=parsed.password or "",
            database=parsed.database,
            connect_timeout=3,
        ).close()
    except Exception as error:  # noqa: BLE001 - any failure means "skip with the reason"
        return f"MariaDB unreachable at {url} ({type(error).__name__}); set RESTLY_TEST_MYSQL_URL"
    return None


def skip_or_fail(reason: str) -> None:
    """Skip a test needing an unreachable server, or fail it where servers are required (CI)."""
    if os.environ.get("RESTLY_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (RESTLY_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def postgres_urls() -> DatabaseURLs:
    reason = postgres_unavailable_reason()
    if reason is not None:
        skip_or_fail(reason)
    url = os.environ.get("RESTLY_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    rest = url.split("://", 1)[1]
    return DatabaseURLs(
        "postgresql", f"postgresql+psycopg://{rest}", f"postgresql+asyncpg://{rest}"
    )


def mysql_urls() -> DatabaseURLs:
    reason = mysql_unavailable_reason()
    if reason is not None:
        skip_or_fail(reason)
    url = os.environ.get("RESTLY_TEST_MYSQL_URL", DEFAULT_MYSQL_URL)
    rest = url.split("://", 1)[1]
    return DatabaseURLs("mariadb", f"mysql+pymysql://{rest}", f"mysql+aiomysql://{rest}")


def sqlite_urls(tmp_path: Path) -> DatabaseURLs:
    path = tmp_path / "restly-test.sqlite3"
    return DatabaseURLs("sqlite", f"sqlite:///{path}", f"sqlite+aiosqlite:///{path}")


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ]
)
def db_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DatabaseURLs]:
    """URLs of an empty database on each backend; tests create and drop their own tables."""
    if request.param == "sqlite":
        yield sqlite_urls(tmp_path)
    elif request.param == "postgresql":
        yield postgres_urls()
    else:
        yield mysql_urls()


@pytest.fixture(scope="session")
def pgbouncer_urls() -> Iterator[DatabaseURLs]:
    """URLs of the test PostgreSQL through a real PgBouncer in transaction pooling mode,
    started once per run (see tests/db/pgbouncer_server.py)."""
    from tests.db.pgbouncer_server import pgbouncer

    with pgbouncer(server_pool=20) as through:
        yield DatabaseURLs(
            "postgresql-pgbouncer",
            f"postgresql+psycopg://{through}",
            f"postgresql+asyncpg://{through}",
            pgbouncer=True,
        )


@pytest.fixture(scope="session")
def pg_replica() -> Iterator[tuple[str, str]]:
    """``(primary, replica)`` sync URLs: a real streaming replica of the test PostgreSQL
    (``pg_basebackup -R``, see tests/db/replica_server.py), started once per run."""
    from tests.db.replica_server import streaming_replica

    primary = postgres_urls().sync_url  # skips (or fails in CI) without PostgreSQL
    with streaming_replica(primary) as replica:
        yield primary, replica


@pytest.fixture
def fr_globals() -> Iterator[FRGlobals]:
    """A fresh restly runtime state, active for the whole test: nothing leaks between tests."""
    g = FRGlobals()
    with use_fr_globals(g):
        yield g
    if g._built_engine is not None:
        g._built_engine.dispose()


@pytest.fixture
async def database(
    db_urls: DatabaseURLs, fr_globals: FRGlobals, request: pytest.FixtureRequest
) -> AsyncIterator[DatabaseURLs]:
    """Configure ``fr_globals`` for ``db_urls`` and create the tables of the test module's
    ``Base`` (dropped again afterwards); async engines are disposed in the test's loop."""
    base = request.module.Base
    configure(
        database_url=db_urls.sync_url,
        async_database_url=db_urls.async_url,
        pgbouncer=db_urls.pgbouncer,
    )
    engine = fr_globals.get_engine()
    base.metadata.drop_all(engine)
    base.metadata.create_all(engine)
    try:
        yield db_urls
    finally:
        await fr_globals.dispose()
        base.metadata.drop_all(engine)
        engine.dispose()  # a test may have reconfigured: this engine is no longer the globals'


@pytest.fixture
async def client_for() -> AsyncIterator[Callable[[FastAPI], httpx.AsyncClient]]:
    """Make an HTTP client for an app; raised app errors become 500 answers, as in production."""
    clients: list[httpx.AsyncClient] = []

    def make(app: FastAPI) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        client = httpx.AsyncClient(transport=transport, base_url="http://test")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


#: Files that take minutes, run first. The suite gives whole files to its workers
#: (`--dist loadfile`, pyproject), in collection order: a long file reached last would keep
#: one worker busy while the others have nothing left. Rough order of cost, measured.
SLOW_FILES = (
    "tests/reliability/test_schemathesis.py",
    "tests/views/test_relationships.py",
    "tests/testing/test_plugin.py",
    "tests/testing/test_configure_tests.py",
    "tests/test_new.py",
    "tests/db/test_network.py",
    "tests/test_react_admin_browser.py",
    "tests/deploy/test_workers.py",
    "tests/deploy/test_shutdown.py",
    "tests/deploy/test_cold_start.py",
    "tests/deploy/test_soak.py",
    "tests/test_typing.py",
    "tests/test_clients.py",
    "tests/test_migrations.py",
    "tests/db/test_replicas.py",
    "tests/views/test_row_scopes.py",
    "tests/views/test_list_cursor.py",
    "tests/query/test_list_references.py",
    "tests/views/test_react_admin.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Move the tests of `SLOW_FILES` to the front (stable: each file keeps its order)."""
    rank = {name: index for index, name in enumerate(SLOW_FILES)}
    root = config.rootpath

    def key(item: pytest.Item) -> int:
        try:
            name = item.path.relative_to(root).as_posix()
        except ValueError:
            return len(rank)
        return rank.get(name, len(rank))

    items.sort(key=key)
