"""The pytest plugin, run on a small user project (``project/``) with pytester.

Each run is a fresh interpreter over a real database (a SQLite file, or PostgreSQL when
``RESTLY_TEST_POSTGRES_URL`` is reachable). Isolation is proven by test order: the user
project's first tests write through the client and the session fixtures, later ones see
nothing, and a last one counts the rows with an engine of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

RunProject = Callable[..., pytest.RunResult]

SYNC_TESTS = ("test_a_sync_writes", "test_b_sync_sees_nothing")
ASYNC_TESTS = (
    "test_c_async_writes",
    "test_d_async_sees_nothing",
    "test_e_sync_client_async_view_writes",
    "test_f_sync_client_async_view_sees_nothing",
)
CHECKS = ("test_z_database_is_empty", "test_z_globals_are_restored")


def node_ids(*names: str) -> tuple[str, ...]:
    return tuple(f"test_isolation.py::{name}" for name in names)


def test_writes_vanish_after_each_test(run_project: RunProject, db_urls: Any) -> None:
    result = run_project(db_urls)
    result.assert_outcomes(passed=8)


@pytest.mark.parametrize("configure", ["async", "async-engine"])
def test_async_only_project(run_project: RunProject, db_urls: Any, configure: str) -> None:
    result = run_project(db_urls, configure=configure, args=node_ids(*ASYNC_TESTS, *CHECKS))
    result.assert_outcomes(passed=6)


@pytest.mark.parametrize("configure", ["sync", "sync-engine"])
def test_sync_only_project(run_project: RunProject, db_urls: Any, configure: str) -> None:
    result = run_project(db_urls, configure=configure, args=node_ids(*SYNC_TESTS, *CHECKS))
    result.assert_outcomes(passed=4)
