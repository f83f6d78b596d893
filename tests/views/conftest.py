"""The view suite runs on a fourth backend: PostgreSQL through PgBouncer in transaction
pooling mode (SPEC §12), where a server connection serves a different client for each
transaction and nothing may be kept on it across transactions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DatabaseURLs, mysql_urls, postgres_urls, sqlite_urls


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("postgresql-pgbouncer", marks=[pytest.mark.postgres, pytest.mark.pgbouncer]),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ]
)
def db_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DatabaseURLs]:
    """URLs of an empty database on each backend; tests create and drop their own tables."""
    if request.param == "sqlite":
        yield sqlite_urls(tmp_path)
    elif request.param == "postgresql":
        yield postgres_urls()
    elif request.param == "postgresql-pgbouncer":
        yield request.getfixturevalue("pgbouncer_urls")
    else:
        yield mysql_urls()
