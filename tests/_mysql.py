"""MySQL/MariaDB test URLs, skipping with a reason when the server is unreachable.

Set RESTLY_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306/test). Tests on a shared server
use table names prefixed ``rmodels_`` and create and drop their own tables.
"""

from __future__ import annotations

import os
from functools import cache

import pytest
from .conftest import DatabaseURLs
from sqlalchemy.engine import make_url

DEFAULT_MYSQL_URL = "mysql://root@127.0.0.1:3306/test"


def mysql_url() -> str:
    return os.environ.get("RESTLY_TEST_MYSQL_URL", DEFAULT_MYSQL_URL)


@cache
def mysql_unavailable_reason() -> str | None:
    """Return why MySQL/MariaDB can't be used for tests, or None when it can."""
    url = make_url(mysql_url())
    try:
        import pymysql
    except ImportError:  # pragma: no cover - the test extra installs it
        return "pymysql is not installed (pip install pymysql aiomysql)"
    try:
        pymysql.connect(
            host=url.host or "127.0.0.1",
            port=url.port or 3306,
            user=url.username or "root",
            password=url.password or "",
            database=url.database,
            connect_timeout=3,
        ).close()
    except Exception as error:  # noqa: BLE001 - any failure means "skip with the reason"
        return f"MySQL unreachable at {url} ({type(error).__name__}); set RESTLY_TEST_MYSQL_URL"
    return None


def mysql_urls() -> DatabaseURLs:
    """URLs of the test MySQL/MariaDB database (pymysql, aiomysql), or skip the test."""
    reason = mysql_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    rest = mysql_url().split("://", 1)[1]
    return DatabaseURLs("mysql", f"mysql+pymysql://{rest}", f"mysql+aiomysql://{rest}")
