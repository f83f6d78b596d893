"""``configure_tests``: a project's whole test set-up in one call in ``conftest.py``.

::

    # conftest.py
    from restly.testing import configure_tests
    from myproject.main import app
    from myproject.models import Base

    configure_tests(app=app, base=Base)                 # or alembic="alembic.ini"

Then, for the whole run: the schema is built once before the first test (``create_all`` of
``base``'s metadata, or ``alembic upgrade head``); every test is isolated as ``cleanup`` says,
whether it uses a client, a session fixture or ``fr.async_session()`` in code it calls; and
the ``app`` fixture is the app given. The cleanup modes:

``"rollback"`` (default)
    Each test runs in a transaction rolled back at its end; the app's commits release
    SAVEPOINTs (see :mod:`restly.testing.plugin`). Fast; sessions of one kind (sync or
    async) see each other's rows.
``"delete"``
    Tests commit for real, so every connection sees every row: another process, a browser
    driving a live server, sync and async sessions of one test. After each test the rows of
    every table are deleted (children first), except the tables named in ``keep`` (reference
    data seeded once) and Alembic's ``alembic_version``.
``"none"``
    Nothing is undone: a test sees what earlier tests wrote.

``pytest --restly-cleanup=delete`` overrides the mode of a run.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI
from sqlalchemy import Engine, MetaData, Table, delete
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import NoSuchTableError
from sqlalchemy.ext.asyncio import AsyncEngine

from ..db import FRGlobals, get_fr_globals
from ..exc import RestlyConfigurationError

__all__ = ["CLEANUPS", "Cleanup", "TestSetup", "configure_tests", "current_setup"]

Cleanup = Literal["rollback", "delete", "none"]
CLEANUPS: tuple[Cleanup, ...] = ("rollback", "delete", "none")
_ALEMBIC_TABLE = "alembic_version"


@dataclass
class TestSetup:
    """What ``configure_tests`` was told; read by the plugin's fixtures."""

    __test__ = False  # not a test class, whatever pytest's name rules say

    app: FastAPI | Callable[[], FastAPI] | None
    metadata: MetaData | None
    alembic: Path | None
    cleanup: Cleanup
    keep: frozenset[str]
    fr_globals: FRGlobals | None
    schema_built: bool = field(default=False, init=False)
    emptied_once: bool = field(default=False, init=False)

    def the_app(self) -> FastAPI | None:
        return self.app() if callable(self.app) and not isinstance(self.app, FastAPI) else self.app

    def the_globals(self) -> FRGlobals:
        return self.fr_globals or get_fr_globals()

    def build_schema(self) -> None:
        """``create_all`` or ``alembic upgrade head``, once per run."""
        if self.schema_built:
            return
        self.schema_built = True
        if self.alembic is not None:
            from alembic import command  # noqa: PLC0415 - alembic is the user's choice
            from alembic.config import Config  # noqa: PLC0415

            command.upgrade(Config(str(self.alembic)), "head")
        elif self.metadata is not None:
            _on_an_engine(self.the_globals(), self.metadata.create_all)

    def empty_tables(self) -> None:
        """The ``delete`` cleanup: every table's rows, children first, but those kept."""
        metadata = self.metadata
        if metadata is None:  # migrations built the schema: read it back
            metadata = MetaData()
            _on_an_engine(self.the_globals(), lambda connection: _reflect(metadata, connection))
        keep = self.keep | {_ALEMBIC_TABLE}
        tables = [t for t in reversed(metadata.sorted_tables) if t.name not in keep]

        def empty(connection: Any) -> None:
            for table in tables:
                connection.execute(delete(table))

        _on_an_engine(self.the_globals(), empty)


_SETUP: TestSetup | None = None


def _reflect(metadata: MetaData, connection: Any) -> None:
    """The database's tables into ``metadata``, skipping any dropped meanwhile (another
    process's tables in a shared test database)."""
    for name in sa_inspect(connection).get_table_names():
        try:
            Table(name, metadata, autoload_with=connection)
        except NoSuchTableError:
            continue


def configure_tests(
    *,
    app: FastAPI | Callable[[], FastAPI] | None = None,
    base: Any = None,
    alembic: str | Path | None = None,
    cleanup: Cleanup = "rollback",
    keep: Collection[str] = (),
    fr_globals: FRGlobals | None = None,
) -> None:
    """Set up this project's tests; call it once, in the top ``conftest.py``.

    ``app`` is what the ``app`` fixture returns (an app, or a factory called per test).
    ``base`` (a declarative base or a ``MetaData``) has its tables created once per run;
    ``alembic`` (the path of ``alembic.ini``) runs ``upgrade head`` instead — give one of
    them, or neither when the schema exists. ``cleanup`` is ``"rollback"``, ``"delete"`` or
    ``"none"`` (see the module documentation); ``keep`` names tables ``"delete"`` leaves
    alone. ``fr_globals`` is the :class:`~restly.FRGlobals` the app's views use, when it is
    not the active one.
    """
    global _SETUP  # noqa: PLW0603 - the plugin reads what conftest.py configured
    if base is not None and alembic is not None:
        raise RestlyConfigurationError(
            "configure_tests(base=..., alembic=...): give one way to build the schema: "
            "base= (create_all) or alembic= (upgrade head)."
        )
    if cleanup not in CLEANUPS:
        raise RestlyConfigurationError(
            f"configure_tests(cleanup={cleanup!r}): choose one of {', '.join(map(repr, CLEANUPS))}."
        )
    metadata = base if isinstance(base, MetaData) or base is None else getattr(base, "metadata", None)
    if base is not None and not isinstance(metadata, MetaData):
        raise RestlyConfigurationError(
            f"configure_tests(base={base!r}): give a declarative base (with .metadata) or a "
            "MetaData."
        )
    path = None if alembic is None else Path(alembic)
    if path is not None and not path.is_file():
        raise RestlyConfigurationError(
            f"configure_tests(alembic={str(alembic)!r}): no such file; give the path of "
            "alembic.ini."
        )
    _SETUP = TestSetup(app, metadata, path, cleanup, frozenset(keep), fr_globals)


def current_setup() -> TestSetup | None:
    """What ``configure_tests`` was told in this run, or ``None``."""
    return _SETUP


def _on_an_engine(fr_globals: FRGlobals, work: Callable[[Any], Any]) -> None:
    """Run ``work(connection)`` in a transaction on the globals' sync engine, else on its
    async engine (in a loop of its own, disposed after: the tests' loops are not this one)."""
    sync: Engine | None = _configured(fr_globals.get_engine)
    if sync is not None:
        with sync.begin() as connection:
            work(connection)
        return
    engine: AsyncEngine | None = _configured(fr_globals.get_async_engine)
    if engine is None:
        raise RestlyConfigurationError(
            "configure_tests: no database is configured; call fr.configure(...) (or import "
            "the module that does) before the tests start."
        )

    async def run() -> None:
        async with engine.begin() as connection:
            await connection.run_sync(work)
        await engine.dispose()

    asyncio.run(run())


def _configured(getter: Callable[[], Any]) -> Any:
    """The engine ``getter`` returns, or ``None`` when that kind is not configured (or its
    driver is not installed: an async-only project derives no usable sync URL)."""
    try:
        return getter()
    except (RuntimeError, ModuleNotFoundError):
        return None


def cleanup_mode(option: str | None) -> Cleanup | None:
    """The mode of this run: ``--restly-cleanup``, else ``configure_tests``'s, else None."""
    if option is not None:
        return option  # type: ignore[return-value] # pytest checked it against CLEANUPS
    return None if _SETUP is None else _SETUP.cleanup


def isolate(mode: Cleanup, setup: TestSetup | None, request: Any) -> Iterator[None]:
    """The body of the plugin's autouse fixture: isolate the test of ``request`` (a pytest
    ``FixtureRequest``) as ``mode`` says."""
    if mode == "rollback":
        request.getfixturevalue("restly_savepoints")
        if inspect.iscoroutinefunction(getattr(request.node, "function", None)):
            request.getfixturevalue("restly_async_scope")  # fr.async_session() in its loop
        yield
    elif mode == "delete":
        if setup is not None and not setup.emptied_once:  # rows a killed run left behind
            setup.emptied_once = True
            setup.empty_tables()
        yield
        if setup is not None:
            setup.empty_tables()
    else:
        yield
