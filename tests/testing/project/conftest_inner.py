"""The user project's conftest: configure restly, create the tables, name the app."""

import asyncio

import pytest
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import create_async_engine

import restly as fr
import settings
from models import Base
from runtime import APP_GLOBALS

with fr.use_fr_globals(APP_GLOBALS):
    if settings.CONFIGURE in ("both", "sync"):
        fr.configure(database_url=settings.SYNC_URL)
    if settings.CONFIGURE in ("both", "async"):
        fr.configure(async_database_url=settings.ASYNC_URL)
    if settings.CONFIGURE == "async-engine":  # an engine passed in, no URL at all
        fr.configure(async_engine=create_async_engine(settings.ASYNC_URL))
    if settings.CONFIGURE == "sync-engine":
        fr.configure(engine=create_engine(settings.SYNC_URL))
    if settings.CONFIGURE == "memory":  # restly's engines: one shared connection each
        fr.configure(database_url="sqlite://", async_database_url="sqlite+aiosqlite://")
        fr.db.create_all(Base)
        asyncio.run(fr.db.async_create_all(Base))


@pytest.fixture(scope="session", autouse=True)
def tables():
    engine = create_engine(settings.SYNC_URL)
    Base.metadata.create_all(engine)
    yield
    Base.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def app():
    from main import app

    return app


if settings.OWN_GLOBALS:

    @pytest.fixture
    def fr_globals():
        return APP_GLOBALS
