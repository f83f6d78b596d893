"""Fixtures of the deployment tests: a database with none of their tables, and the
environment of the served app (``tests/deploy/app.py``)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

import restly as fr
from tests.conftest import DatabaseURLs, postgres_urls

from .models import Base

#: The tests reading process facts (memory, descriptors, worker processes) from /proc.
linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads process facts from Linux /proc"
)


def drop_tables(url: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        Base.metadata.drop_all(engine)
        fr.idempotency_metadata.drop_all(engine)
    finally:
        engine.dispose()


@pytest.fixture
def fresh_postgres() -> Iterator[DatabaseURLs]:
    """The test PostgreSQL without the app's tables (the app creates them), dropped after."""
    urls = postgres_urls()
    drop_tables(urls.sync_url)
    yield urls
    drop_tables(urls.sync_url)


def app_environ(urls: DatabaseURLs, **extra: str) -> dict[str, str]:
    """The environment of a served app on ``urls``, its connections named uniquely."""
    return {
        "DEPLOY_DATABASE_URL": urls.sync_url,
        "DEPLOY_APP_NAME": f"restly-deploy-{uuid.uuid4().hex[:12]}",
        **extra,
    }


def server_connections(urls: DatabaseURLs, app_name: str) -> int:
    """How many PostgreSQL connections the served app holds (by ``application_name``)."""
    engine = create_engine(urls.sync_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return int(
                connection.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                    {"name": app_name},
                )
                or 0
            )
    finally:
        engine.dispose()
