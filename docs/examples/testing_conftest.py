import pytest
from sqlalchemy import create_engine

from main import Base, app as main_app


@pytest.fixture(scope="session", autouse=True)
def tables():
    engine = create_engine("sqlite:///test.db")
    Base.metadata.create_all(engine)
    yield
    Base.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def app():
    return main_app


@pytest.fixture
def anyio_backend():
    return "asyncio"
