"""The pytest plugin, run on a small user project (``project/``) with pytester.

Each run is a fresh interpreter over a real database (a SQLite file, or PostgreSQL when
``RESTLY_TEST_POSTGRES_URL`` is reachable). Isolation is proven by test order: the user
project's first tests write through the client and the session fixtures, later ones see
nothing, and a last one counts the rows with an engine of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

RunProject = Callable[..., pytest.RunResult]

SYNC_TESTS = (
    "test_a_sync_writes",
    "test_a_sync_failed_request_rolls_back_only_its_savepoint",
    "test_b_sync_sees_nothing",
)
ASYNC_TESTS = (
    "test_c_async_writes",
    "test_c_async_failed_request_rolls_back_only_its_savepoint",
    "test_c_async_session_needs_an_async_fixture",
    "test_d_async_sees_nothing",
    "test_e_sync_client_async_view_writes",
    "test_f_sync_client_async_view_sees_nothing",
    "test_g_client_runs_the_lifespan",
)
CHECKS = ("test_z_database_is_empty", "test_z_globals_are_restored")


def node_ids(*names: str) -> tuple[str, ...]:
    return tuple(f"test_isolation.py::{name}" for name in names)


def test_writes_vanish_after_each_test(run_project: RunProject, db_urls: Any) -> None:
    result = run_project(db_urls)
    result.assert_outcomes(passed=12)


@pytest.mark.parametrize("configure", ["async", "async-engine"])
def test_async_only_project(run_project: RunProject, db_urls: Any, configure: str) -> None:
    result = run_project(db_urls, configure=configure, args=node_ids(*ASYNC_TESTS, *CHECKS))
    result.assert_outcomes(passed=9)


@pytest.mark.parametrize("configure", ["sync", "sync-engine"])
def test_sync_only_project(run_project: RunProject, db_urls: Any, configure: str) -> None:
    result = run_project(db_urls, configure=configure, args=node_ids(*SYNC_TESTS, *CHECKS))
    result.assert_outcomes(passed=5)


def test_fr_globals_fixture_names_the_apps_globals(run_project: RunProject, db_urls: Any) -> None:
    result = run_project(db_urls, own_globals=True)
    result.assert_outcomes(passed=12)


MIXED_LOOPS = '''
import pytest


@pytest.mark.anyio
async def test_sync_client_with_async_session(client, async_session):
    client.get("/items")
'''


def test_sync_client_and_async_session_in_one_test_is_explained(
    run_project: RunProject, db_urls: Any
) -> None:
    result = run_project(db_urls, files={"test_mixed.py": MIXED_LOOPS}, args=("test_mixed.py",))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*RuntimeError: This test's async database connection was opened in another event "
            "loop. The sync `client` runs the app in its own loop: in async tests use "
            "`async_client` together with `async_session`.",
        ]
    )


def test_missing_app_fixture_is_explained(pytester: pytest.Pytester, run_pytest: Any) -> None:
    pytester.makepyfile(test_no_app="def test_uses_the_client(client):\n    pass\n")
    result = run_pytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*restly's test clients need your FastAPI app: define a fixture named `app` in "
            "conftest.py that returns it, e.g.",
            "*@pytest.fixture",
            "*def app():",
        ]
    )


def test_async_fixtures_without_an_async_runner_fail_clearly(
    pytester: pytest.Pytester, run_pytest: Any
) -> None:
    pytester.makepyfile(
        test_no_runner="def test_uses_async_session(async_session):\n    pass\n"
    )
    result = run_pytest("-p", "no:anyio")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*requested an async fixture 'async_session', with no plugin or hook that handled it*"]
    )


MEMORY_TESTS = '''
import pytest
from sqlalchemy import func, select

from models import Item, Note


@pytest.mark.anyio
async def test_a_async_writes(async_client, async_session):
    await async_client.post("/items", json={"name": "a"})
    assert await async_session.scalar(select(func.count()).select_from(Item)) == 1


@pytest.mark.anyio
async def test_b_async_sees_nothing(async_client):
    assert (await async_client.get("/items")).json() == []


def test_c_sync_client_on_the_async_view(client):
    client.post("/items", json={"name": "c"})
    assert len(client.get("/items").json()) == 1


def test_d_sync_writes(client, session):
    client.post("/notes", json={"text": "d"})
    assert session.scalar(select(func.count()).select_from(Note)) == 1


def test_e_nothing_left(client):
    assert client.get("/items").json() == []
    assert client.get("/notes").json() == []
'''


def test_in_memory_sqlite_survives_and_is_isolated(run_project: RunProject) -> None:
    urls = SimpleNamespace(sync_url="sqlite://", async_url="sqlite+aiosqlite://")
    result = run_project(
        urls, configure="memory", files={"test_memory.py": MEMORY_TESTS}, args=("test_memory.py",)
    )
    result.assert_outcomes(passed=5)
