"""``restly.testing.configure_tests``: one call in a project's ``conftest.py`` builds the
schema once and isolates every test, in each cleanup mode, on every backend.

Each case writes a small project into a pytester directory and runs pytest on it in a fresh
interpreter. Isolation is proven by test order: a first test writes (through the client,
``fr.session()`` and ``fr.async_session()``), the next one counts what it sees.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text

RunPytest = Callable[..., pytest.RunResult]

MODELS = """
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import settings


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = f"ct_items_{settings.SUFFIX}"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class Kind(Base):
    '''Reference data: seeded once, kept by the delete cleanup.'''

    __tablename__ = f"ct_kinds_{settings.SUFFIX}"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
"""

MAIN = """
from fastapi import FastAPI

import restly as fr
import settings
from models import Item

fr.configure(database_url=settings.SYNC_URL, async_database_url=settings.ASYNC_URL)
app = FastAPI()


@fr.include_view(app)
class ItemView(fr.RestView):  # sync: the client and fr.session() share a connection
    prefix = "/items"
    model = Item
"""

CONFTEST = """
import pytest

from restly.testing import configure_tests

from main import app
from models import Base
import settings

configure_tests(app=app, base=Base, cleanup=settings.CLEANUP, keep=[f"ct_kinds_{settings.SUFFIX}"])


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""

TESTS = """
import pytest
from sqlalchemy import func, select

import restly as fr
from models import Item, Kind


def count(model):
    with fr.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_schema_exists_and_writes(client):
    client.post("/items", json={"name": "through the client"})
    with fr.session() as session:
        session.add(Item(name="through fr.session()"))
        session.commit()
    assert count(Item) == 2


def test_b_what_the_last_test_left(client):
    print(f"LEFT {count(Item)}")


def test_c_seed_reference_data():
    with fr.session() as session:
        session.add(Kind(name="kept"))
        session.commit()


@pytest.mark.anyio
async def test_d_async_code_without_a_client_fixture():
    async with fr.async_session() as session:
        session.add(Item(name="async"))
        await session.commit()


def test_e_what_the_async_test_left():
    print(f"AFTER ASYNC {count(Item)} KINDS {count(Kind)}")
"""


def write_project(pytester: pytest.Pytester, urls: Any, cleanup: str, suffix: str) -> None:
    (pytester.path / "settings.py").write_text(
        f"SYNC_URL = {urls.sync_url!r}\nASYNC_URL = {urls.async_url!r}\n"
        f"CLEANUP = {cleanup!r}\nSUFFIX = {suffix!r}\n"
    )
    for name, source in {"models.py": MODELS, "main.py": MAIN, "conftest.py": CONFTEST,
                         "test_project.py": TESTS}.items():  # fmt: skip
        (pytester.path / name).write_text(source)


def printed(result: pytest.RunResult, label: str) -> str:
    lines = [line for line in result.stdout.lines if label in line]
    assert lines, result.stdout.str()
    return lines[-1].split(label, 1)[1].strip()


@pytest.fixture
def drop_tables(db_urls: Any) -> Any:
    suffixes: list[str] = []
    yield suffixes
    engine = create_engine(db_urls.sync_url)
    with engine.begin() as connection:
        tables = [name for suffix in suffixes for name in (f"ct_items_{suffix}", f"ct_kinds_{suffix}")]
        for table in [*tables, "alembic_version"]:  # the migration test's, even if it failed
            if inspect(connection).has_table(table):
                connection.execute(text(f"DROP TABLE {table}"))
    engine.dispose()


@pytest.mark.parametrize(
    ("cleanup", "option", "left", "after_async", "kinds"),
    [
        ("rollback", None, "0", "0", "0"),  # every test rolled back, async code too
        ("delete", None, "0", "0", "1"),  # committed, then emptied; reference data kept
        ("none", None, "2", "3", "1"),  # nothing undone
        ("none", "--restly-cleanup=rollback", "0", "0", "0"),  # the command line wins
    ],
)
def test_each_cleanup_mode_isolates_as_it_says(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    db_urls: Any,
    drop_tables: list[str],
    cleanup: str,
    option: str | None,
    left: str,
    after_async: str,
    kinds: str,
) -> None:
    suffix = uuid.uuid4().hex[:10]
    drop_tables.append(suffix)
    write_project(pytester, db_urls, cleanup, suffix)
    result = run_pytest("-s", *([option] if option else []))
    result.assert_outcomes(passed=5)
    assert printed(result, "LEFT") == left
    assert printed(result, "AFTER ASYNC") == f"{after_async} KINDS {kinds}"
    engine = create_engine(db_urls.sync_url)  # the schema was built by configure_tests
    with engine.connect() as connection:
        assert inspect(connection).has_table(f"ct_items_{suffix}")
    engine.dispose()


def test_misconfiguration_is_refused_with_the_fix(tmp_path: Any) -> None:
    from restly.exc import RestlyConfigurationError
    from restly.testing import configure_tests

    with pytest.raises(RestlyConfigurationError, match="one way to build the schema"):
        configure_tests(base=object(), alembic="alembic.ini")
    with pytest.raises(RestlyConfigurationError, match="'rollback', 'delete', 'none'"):
        configure_tests(cleanup="truncate")  # type: ignore[arg-type]
    with pytest.raises(RestlyConfigurationError, match="no such file"):
        configure_tests(alembic=tmp_path / "missing.ini")
    with pytest.raises(RestlyConfigurationError, match="declarative base"):
        configure_tests(base=42)


MIGRATION = '''
"""create items and kinds"""
import sqlalchemy as sa
from alembic import op

import settings

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    for name in (f"ct_items_{settings.SUFFIX}", f"ct_kinds_{settings.SUFFIX}"):
        op.create_table(
            name,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("name", sa.String(50), nullable=False),
        )


def downgrade():
    pass
'''

ALEMBIC_CONFTEST = CONFTEST.replace(
    "configure_tests(app=app, base=Base,", 'configure_tests(app=app, alembic="alembic.ini",'
)


def test_the_schema_comes_from_alembic_migrations(
    pytester: pytest.Pytester, run_pytest: RunPytest, db_urls: Any, drop_tables: list[str]
) -> None:
    """``alembic=``: ``upgrade head`` builds the tables once; the ``delete`` cleanup reads
    them back from the database and leaves ``alembic_version`` alone."""
    import subprocess
    import sys

    suffix = uuid.uuid4().hex[:10]
    drop_tables.append(suffix)
    write_project(pytester, db_urls, "delete", suffix)
    (pytester.path / "conftest.py").write_text(ALEMBIC_CONFTEST)
    subprocess.run(
        [sys.executable, "-m", "alembic", "init", "migrations"],
        cwd=pytester.path, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    ini = pytester.path / "alembic.ini"
    url = db_urls.sync_url.replace("%", "%%")
    ini.write_text(ini.read_text().replace("driver://user:pass@localhost/dbname", url))
    (pytester.path / "migrations" / "versions" / "0001_create.py").write_text(MIGRATION)
    result = run_pytest("-s")
    result.assert_outcomes(passed=5)
    assert printed(result, "LEFT") == "0"
    assert printed(result, "AFTER ASYNC") == "0 KINDS 1"
    engine = create_engine(db_urls.sync_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001"
    engine.dispose()
