"""pytest plugin: per-test SAVEPOINT isolation and test clients for restly apps.

pytest loads it through the ``restly`` entry point (group ``pytest11``); nothing to
configure but an ``app`` fixture::

    # conftest.py
    @pytest.fixture
    def app():
        return my_fastapi_app

Fixtures (all function-scoped, none autouse):

``app``
    Your FastAPI app. The default fails and tells you to define it.
``fr_globals``
    The :class:`~restly.FRGlobals` put in savepoint mode: the active one when the test
    starts. Override it when your views were registered in another instance.
``restly_savepoints``
    The :class:`~restly.testing.SavepointIsolation` of the test. While it is set up, every
    session of ``fr_globals`` — the app's request sessions, ``fr.session()``,
    ``fr.async_session()`` and the fixtures below — is bound to one connection (per kind:
    sync, async) inside a transaction that is rolled back when the test ends, so a view's
    ``commit()`` only releases a SAVEPOINT. The globals' session factories and generators
    are restored afterwards. A custom ``session_generator`` / ``sync_session_generator``
    is set aside meanwhile (sessions come from the globals' session factories). Request
    it directly to isolate a test that uses neither a session nor a client fixture.
``session``
    A sync ``Session`` on the test's sync connection.
``client``
    A :class:`~restly.testing.RestlyTestClient` over ``app``, already entered (the app's
    lifespan runs) so the whole test shares one event loop for the app.
``async_session`` / ``async_client``
    An ``AsyncSession`` on the test's async connection and an
    :class:`~restly.testing.AsyncRestlyTestClient` over ``app`` (lifespan not run).

Which fixtures share a connection: sessions see each other's rows when they are of the
same kind. ``session``, sync views (``fr.RestView``) and ``fr.session()`` share the sync
connection; ``async_session``, async views (``fr.AsyncRestView``) and ``fr.async_session()``
share the async one. A connection of a kind is only opened when something asks for it, so
async-only and sync-only projects never need the other kind of engine.

Async fixtures need an async test runner; the plugin does not pick one for you. With
anyio's plugin (shipped with anyio) mark the tests ``@pytest.mark.anyio`` and define an
``anyio_backend`` fixture returning ``"asyncio"``. With pytest-asyncio, set
``asyncio_mode = "auto"`` (so it runs plain ``async def`` fixtures) and
``asyncio_default_fixture_loop_scope = "function"`` (fixtures in the test's loop).

An async connection belongs to one event loop, and its rollback must run there. So async
sessions are only handed out in a loop a fixture manages: the test's loop while
``async_session`` or ``async_client`` is set up (request one of them before calling
``fr.async_session()`` in an async test), and the ``client``'s own loop once the app has
started (so the app's startup cannot use ``fr.async_session()``; seed data in a fixture).
In an async test that uses ``async_session``, call the app with ``async_client``, not
``client``. Anything else fails with a ``RuntimeError`` saying so. Writes made through an
engine directly (``engine.begin()``) bypass all of this; with ``asyncpg``, engines used
that way in tests want ``poolclass=NullPool``, as each test runs in a new event loop.

SQLite: the test connections use SQLAlchemy's recipe for real SAVEPOINTs on ``sqlite3`` and
``aiosqlite`` (see :func:`restly.testing.savepoint_connection`). A database file works, and
so does an in-memory database on restly's own engines (one connection shared by every
thread; on engines of your own, use ``StaticPool`` for that). Do not write through both a sync and an async
connection to one SQLite file in one test: each holds the file's write lock until its
rollback at the end of the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

from ..db import FRGlobals, get_fr_globals
from ._isolation import SavepointIsolation
from ._setup import CLEANUPS, cleanup_mode, current_setup, isolate

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import Session

    from ._client import AsyncRestlyTestClient, RestlyTestClient

# The clients are imported by the fixtures that use them: pytest loads this module in every
# project where restly is installed, and the clients need httpx / httpx2.


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("restly").addoption(
        "--restly-cleanup",
        choices=CLEANUPS,
        default=None,
        help="how each test is undone (overrides configure_tests): rollback (SAVEPOINTs), "
        "delete (real commits, tables emptied after each test) or none",
    )


@pytest.fixture(scope="session", autouse=True)
def _restly_schema() -> None:
    """With ``configure_tests(base=...)`` or ``alembic=...``: the schema, built once."""
    setup = current_setup()
    if setup is not None:
        setup.build_schema()


@pytest.fixture(autouse=True)
def _restly_cleanup(request: pytest.FixtureRequest) -> Iterator[None]:
    """With ``configure_tests`` (or ``--restly-cleanup``): every test isolated as its mode
    says, whichever fixtures it uses."""
    mode = cleanup_mode(request.config.getoption("--restly-cleanup"))
    if mode is None:
        yield
        return
    yield from isolate(mode, current_setup(), request)


@pytest.fixture
def app() -> FastAPI:
    """Your FastAPI app: the one given to ``configure_tests``, or define a fixture named
    ``app`` that returns it."""
    setup = current_setup()
    configured = None if setup is None else setup.the_app()
    if configured is not None:
        return configured
    pytest.fail(
        "restly's test clients need your FastAPI app: define a fixture named `app` in "
        "conftest.py that returns it, e.g.\n\n"
        "    @pytest.fixture\n"
        "    def app():\n"
        "        from myproject.main import app\n"
        "        return app\n",
        pytrace=False,
    )


@pytest.fixture
def fr_globals() -> FRGlobals:
    """The runtime state to isolate: the one given to ``configure_tests``, else the active
    :class:`~restly.FRGlobals`."""
    setup = current_setup()
    return setup.the_globals() if setup is not None else get_fr_globals()


@pytest.fixture
def restly_savepoints(fr_globals: FRGlobals) -> Iterator[SavepointIsolation]:
    """Savepoint mode for ``fr_globals`` during the test; everything is rolled back after."""
    with SavepointIsolation(fr_globals) as isolation:
        yield isolation


@pytest.fixture
async def restly_async_scope(restly_savepoints: SavepointIsolation) -> AsyncIterator[None]:
    """Async sessions of ``fr_globals`` in savepoint mode in this test's event loop (what
    ``async_session`` and ``async_client`` set up; ``configure_tests`` sets it up for every
    async test)."""
    async with restly_savepoints.async_scope():
        yield


def _commits(request: pytest.FixtureRequest) -> bool:
    """Whether this run commits for real (``configure_tests`` cleanup ``delete``/``none``)."""
    return cleanup_mode(request.config.getoption("--restly-cleanup")) in ("delete", "none")


@pytest.fixture
def session(request: pytest.FixtureRequest, fr_globals: FRGlobals) -> Iterator[Session]:
    """A sync ``Session`` on the test's connection; ``commit()`` releases a SAVEPOINT (or
    commits, with cleanup ``delete``/``none``)."""
    if _commits(request):
        maker = fr_globals.get_sessionmaker()
    else:
        maker = request.getfixturevalue("restly_savepoints").sessionmaker()
    with maker() as opened:
        yield opened


@pytest.fixture
async def async_session(
    request: pytest.FixtureRequest, fr_globals: FRGlobals
) -> AsyncIterator[AsyncSession]:
    """An ``AsyncSession`` on the test's connection; ``commit()`` releases a SAVEPOINT (or
    commits, with cleanup ``delete``/``none``)."""
    if _commits(request):
        async with fr_globals.get_async_sessionmaker()() as opened:
            yield opened
        return
    savepoints: SavepointIsolation = request.getfixturevalue("restly_savepoints")
    async with savepoints.async_scope():
        async with (await savepoints.async_sessionmaker())() as opened:
            yield opened


@pytest.fixture
def client(app: FastAPI, request: pytest.FixtureRequest) -> Iterator[RestlyTestClient]:
    """A :class:`~restly.testing.RestlyTestClient` over ``app``, entered for the test."""
    from ._client import RestlyTestClient

    with RestlyTestClient(app) as test_client:
        if _commits(request):
            yield test_client
            return
        if test_client.portal is None:  # pragma: no cover - set by TestClient.__enter__
            raise RuntimeError("the TestClient did not start its event loop")
        savepoints: SavepointIsolation = request.getfixturevalue("restly_savepoints")
        # The app's async sessions are opened, and rolled back, in the client's own loop.
        with test_client.portal.wrap_async_context_manager(savepoints.async_scope()):
            yield test_client


@pytest.fixture
async def async_client(
    app: FastAPI, request: pytest.FixtureRequest
) -> AsyncIterator[AsyncRestlyTestClient]:
    """An :class:`~restly.testing.AsyncRestlyTestClient` over ``app``."""
    from ._client import AsyncRestlyTestClient

    if _commits(request):
        async with AsyncRestlyTestClient(app) as test_client:
            yield test_client
        return
    savepoints: SavepointIsolation = request.getfixturevalue("restly_savepoints")
    async with savepoints.async_scope():
        async with AsyncRestlyTestClient(app) as test_client:
            yield test_client
