"""`configure`: set the database and error handling of the active `FRGlobals`.

```python
fr.configure(async_database_url="sqlite+aiosqlite:///app.db")          # async views
fr.configure(database_url="postgresql+psycopg://localhost/app")        # sync views
fr.configure(session_generator=my_get_db)                              # your own sessions
fr.configure(app=app)                                                  # + 409/503 handlers
fr.configure(app, health="/health", ready="/ready")                    # + probes
fr.configure(app, problem_details=True)                                # RFC 9457 errors
fr.configure(read_replica_urls=["postgresql+asyncpg://replica/app"])   # reads of GETs there
```

Each call changes only what it is given.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker

from .._handlers import install_exception_handlers
from ..exc import RestlyConfigurationError
from ._engine import PoolSettings
from ._globals import AsyncSessionGenerator, SessionGenerator, get_fr_globals
from ._health import install_health_routes

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["configure"]


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Any = _Unset()


def configure(
    app: FastAPI | None = None,
    *,
    async_database_url: str | URL | None = _UNSET,
    async_engine: AsyncEngine | None = _UNSET,
    async_make_session: async_sessionmaker[AsyncSession] | None = _UNSET,
    database_url: str | URL | None = _UNSET,
    engine: Engine | None = _UNSET,
    make_session: sessionmaker[Session] | None = _UNSET,
    session_generator: AsyncSessionGenerator | None = _UNSET,
    sync_session_generator: SessionGenerator | None = _UNSET,
    install_default_exception_handlers: bool = _UNSET,
    default_page_size: int | None = _UNSET,
    max_page_size: int = _UNSET,
    max_body_size: int | None = _UNSET,
    connect_timeout: float | None = _UNSET,
    statement_timeout: float | None = _UNSET,
    pgbouncer: bool = _UNSET,
    pool: PoolSettings | None = _UNSET,
    cursor_key: str | bytes | None = _UNSET,
    read_replica_urls: Sequence[str | URL] = _UNSET,
    replica_retry_after: float = _UNSET,
    idempotency_ttl: float | timedelta = _UNSET,
    sync_threads: int = _UNSET,
    health: str | None = None,
    ready: str | None = None,
    problem_details: bool | None = None,
) -> None:
    """Configure the active `FRGlobals`; only the arguments given change.

    Args:
        app: when given (and `install_default_exception_handlers`), restly's exception
            handlers are installed on it now (mounting a view on an app does it too).
        async_database_url: URL of the async engine restly builds (e.g. `sqlite+aiosqlite`).
        async_engine: an async engine to use as given.
        async_make_session: an `async_sessionmaker` to use as given.
        database_url: URL of the sync engine restly builds (e.g. `postgresql+psycopg`).
        engine: a sync engine to use as given.
        make_session: a `sessionmaker` to use as given.
        session_generator: an async generator function yielding an `AsyncSession` for
            each request of async views and for `fr.async_session()`.
        sync_session_generator: a generator function yielding a `Session` for sync
            views and `fr.session()`.
        install_default_exception_handlers: `False` leaves error handling to you (restly
            then installs no handler, neither here nor when views are mounted).
        default_page_size: page size of list requests that send `page` without
            `page_size`, for views created afterwards.
        max_page_size: the largest `page_size` (and the most rows of any list), for views
            created afterwards.
        max_body_size: request body limit in bytes of views mounted afterwards (413 above
            it; default 1 MiB; `None` for none).
        connect_timeout: seconds restly-built engines wait to connect, for a pooled
            connection or for a SQLite lock (default 10); past it the request answers 503.
        statement_timeout: seconds after which PostgreSQL cancels a statement of
            restly-built engines (default: no limit); the request answers 503.
        pgbouncer: `True` when PostgreSQL is reached through PgBouncer in transaction
            pooling mode: restly-built engines then keep no prepared statements across
            transactions and set `statement_timeout` per transaction.
        pool: pool options of restly-built engines, e.g.
            `fr.db.PoolSettings(size=20, max_overflow=0, pre_ping=False)`.
        cursor_key: the secret list cursors are signed and encrypted with (a random
            string of 32 characters or more, the same in every worker process, e.g. from
            an environment variable); `None` (default) uses a fixed key: cursors then work
            across workers but a client could forge one.
        read_replica_urls: URLs of read replicas (any driver: restly derives the async
            and sync ones as for the primary): the sessions of GET and HEAD requests read
            from them in turn; writes, and reads after a write, use the primary (see
            `restly.db.RoutingSession`). ``[]`` switches them off.
        replica_retry_after: seconds a replica that failed to connect is left out before
            it is tried again (default 30); its reads go to the other replicas or the
            primary meanwhile.
        idempotency_ttl: how long an `Idempotency-Key` and its stored answer are kept,
            in seconds or as a `timedelta` (default 24 hours); after it the same key runs
            as a new request.
        sync_threads: how many endpoints of sync views run at once in worker threads,
            per worker process (default 6; FastAPI's own pool would run 40); more
            requests wait on the event loop. Raise it for sync views that wait on a slow
            database or service; each busy thread holds its request's memory.
        health: with `app`, add a liveness route at this path (e.g. `"/health"`): it
            answers `{"status": "ok"}` without touching the database.
        ready: with `app`, add a readiness route at this path (e.g. `"/ready"`): it pings
            every configured engine and answers 503 with `Retry-After` when one is down.
        problem_details: with `app`, `True` answers every error of the app (restly's, the
            routing's 404/405, `HTTPException`s of your own routes, 500) as RFC 9457
            `application/problem+json` and documents it in OpenAPI; `False` switches back
            to `{"detail": ...}` (the default). Handlers you registered yourself are kept.
    """
    g = get_fr_globals()
    _check_generators(session_generator, sync_session_generator)
    _check_limits(max_body_size, connect_timeout, statement_timeout)
    _check_pool(pgbouncer, pool)
    _check_cursor_key(cursor_key)
    _check_replicas(read_replica_urls, replica_retry_after)
    _check_sync_threads(sync_threads)
    idempotency_ttl = _idempotency_seconds(idempotency_ttl)
    _check_health_paths(app, health, ready)
    _check_problem_details(app, problem_details)
    if any(
        value is not _UNSET
        for value in (
            async_database_url,
            database_url,
            connect_timeout,
            statement_timeout,
            pgbouncer,
            pool,
            read_replica_urls,
            replica_retry_after,
        )
    ):
        g.reset_database()  # engines restly built are rebuilt with the new settings
    for name, value in (
        ("async_database_url", async_database_url),
        ("async_engine", async_engine),
        ("async_make_session", async_make_session),
        ("database_url", database_url),
        ("engine", engine),
        ("make_session", make_session),
        ("session_generator", session_generator),
        ("sync_session_generator", sync_session_generator),
        ("default_page_size", default_page_size),
        ("max_page_size", max_page_size),
        ("install_default_exception_handlers", install_default_exception_handlers),
        ("max_body_size", max_body_size),
        ("connect_timeout", connect_timeout),
        ("statement_timeout", statement_timeout),
        ("pgbouncer", pgbouncer),
        ("pool", pool),
        ("cursor_key", cursor_key),
        ("read_replica_urls", _UNSET if read_replica_urls is _UNSET else tuple(read_replica_urls)),
        ("replica_retry_after", replica_retry_after),
        ("idempotency_ttl", idempotency_ttl),
        ("sync_threads", sync_threads),
    ):
        if value is not _UNSET:
            setattr(g, name, value)
    if async_engine is not _UNSET and async_make_session is _UNSET:
        g.async_make_session = None  # rebuild over the new engine
    if engine is not _UNSET and make_session is _UNSET:
        g.make_session = None
    if app is not None and problem_details is not None:
        install_exception_handlers(app, problem_details=problem_details)
    elif app is not None and g.install_default_exception_handlers:
        install_exception_handlers(app)
    if app is not None and (health is not None or ready is not None):
        install_health_routes(app, g, health=health, ready=ready)


def _check_health_paths(app: Any, health: Any, ready: Any) -> None:
    problems = []
    for name, path in (("health", health), ("ready", ready)):
        if path is None:
            continue
        if not isinstance(path, str) or not path.startswith("/"):
            problems.append(
                f"configure({name}=...) must be a path starting with '/'; got {path!r}. "
                f'Use e.g. {name}="/{name}".'
            )
        elif app is None:
            problems.append(
                f"configure({name}={path!r}) needs the app to add the route to. "
                f"Use fr.configure(app, {name}={path!r})."
            )
    if health is not None and health == ready:
        problems.append(
            f"configure(health=..., ready=...) must be two paths; both are {health!r}. "
            'Use e.g. health="/health", ready="/ready".'
        )
    if problems:
        raise RestlyConfigurationError("\n".join(problems), problems)


def _check_problem_details(app: Any, problem_details: Any) -> None:
    if problem_details is None:
        return
    if not isinstance(problem_details, bool):
        raise RestlyConfigurationError(
            f"configure(problem_details=...) must be True or False; got {problem_details!r}. "
            "Use problem_details=True."
        )
    if app is None:
        raise RestlyConfigurationError(
            f"configure(problem_details={problem_details!r}) needs the app whose errors it "
            f"formats. Use fr.configure(app, problem_details={problem_details!r})."
        )


def _check_limits(max_body_size: Any, *timeouts: Any) -> None:
    problems = []
    if max_body_size not in (_UNSET, None) and (
        isinstance(max_body_size, bool) or not isinstance(max_body_size, int) or max_body_size < 0
    ):
        problems.append(
            "configure(max_body_size=...) must be a number of bytes (an int >= 0) or None; "
            f"got {max_body_size!r}. Use e.g. max_body_size=1024 * 1024."
        )
    for name, value in zip(("connect_timeout", "statement_timeout"), timeouts):
        if value not in (_UNSET, None) and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0
        ):
            problems.append(
                f"configure({name}=...) must be a positive number of seconds or None; "
                f"got {value!r}. Use e.g. {name}=10."
            )
    if problems:
        raise RestlyConfigurationError("\n".join(problems), problems)


def _check_sync_threads(sync_threads: Any) -> None:
    if sync_threads is not _UNSET and (
        isinstance(sync_threads, bool) or not isinstance(sync_threads, int) or sync_threads < 1
    ):
        problem = (
            "configure(sync_threads=...) must be a number of threads (an int >= 1); "
            f"got {sync_threads!r}. Use e.g. sync_threads=6."
        )
        raise RestlyConfigurationError(problem, [problem])


def _check_pool(pgbouncer: Any, pool: Any) -> None:
    problems = []
    if pgbouncer is not _UNSET and not isinstance(pgbouncer, bool):
        problems.append(f"configure(pgbouncer=...) must be True or False; got {pgbouncer!r}.")
    if pool not in (_UNSET, None) and not isinstance(pool, PoolSettings):
        problems.append(
            f"configure(pool=...) must be a restly.db.PoolSettings or None; got {pool!r}. "
            "Use e.g. pool=fr.db.PoolSettings(size=20, max_overflow=10)."
        )
    else:
        for name in ("size", "max_overflow"):
            value = getattr(pool, name, None)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                problems.append(
                    f"configure(pool=PoolSettings({name}=...)) must be an int >= 0; got {value!r}."
                )
    if problems:
        raise RestlyConfigurationError("\n".join(problems), problems)


def _check_cursor_key(cursor_key: Any) -> None:
    if cursor_key in (_UNSET, None):
        return
    if not isinstance(cursor_key, (str, bytes)) or len(cursor_key) < 16:
        # Never the value itself: it is a secret.
        given = (
            f"a {type(cursor_key).__name__} of {len(cursor_key)} characters"
            if isinstance(cursor_key, (str, bytes))
            else f"a {type(cursor_key).__name__}"
        )
        message = (
            "configure(cursor_key=...) must be a secret str or bytes of at least 16 "
            f"characters, or None; got {given}. Use e.g. "
            'cursor_key=os.environ["RESTLY_CURSOR_KEY"] (shared by every worker).'
        )
        raise RestlyConfigurationError(message)


def _check_replicas(urls: Any, retry_after: Any) -> None:
    problems = []
    if urls is not _UNSET and (
        isinstance(urls, (str, URL))
        or not isinstance(urls, Sequence)
        or not all(isinstance(url, (str, URL)) for url in urls)
    ):
        problems.append(
            # Never the value itself: a URL may hold a password.
            "configure(read_replica_urls=...) must be a list of database URLs (str or URL); "
            f"got a {type(urls).__name__}{_element_types(urls)}. "
            'Use e.g. read_replica_urls=["postgresql+asyncpg://app@replica/app"].'
        )
    if retry_after is not _UNSET and (
        isinstance(retry_after, bool)
        or not isinstance(retry_after, (int, float))
        or retry_after < 0
    ):
        problems.append(
            "configure(replica_retry_after=...) must be a number of seconds >= 0; "
            f"got {retry_after!r}. Use e.g. replica_retry_after=30."
        )
    if problems:
        raise RestlyConfigurationError("\n".join(problems), problems)


def _element_types(urls: Any) -> str:
    if isinstance(urls, (list, tuple)):
        return " of " + ", ".join(sorted({type(url).__name__ for url in urls})) if urls else ""
    return ""


def _idempotency_seconds(ttl: Any) -> Any:
    """`idempotency_ttl` as seconds (a `timedelta` converted), checked."""
    if ttl is _UNSET:
        return ttl
    seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else ttl
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 1:
        message = (
            "configure(idempotency_ttl=...) must be at least one second, as a number of "
            f"seconds or a timedelta; got {ttl!r}. Use e.g. idempotency_ttl=24 * 60 * 60."
        )
        raise RestlyConfigurationError(message, [message])
    return float(seconds)


def _check_generators(session_generator: Any, sync_session_generator: Any) -> None:
    problems = []
    if session_generator not in (_UNSET, None) and not inspect.isasyncgenfunction(
        session_generator
    ):
        problems.append(
            "configure(session_generator=...) must be an async generator function "
            f"(async def ...: yield session); got {session_generator!r}. For a sync "
            "generator use sync_session_generator=."
        )
    if sync_session_generator not in (_UNSET, None) and not inspect.isgeneratorfunction(
        sync_session_generator
    ):
        problems.append(
            "configure(sync_session_generator=...) must be a generator function "
            f"(def ...: yield session); got {sync_session_generator!r}. For an async "
            "generator use session_generator=."
        )
    if problems:
        raise RestlyConfigurationError("\n".join(problems), problems)
