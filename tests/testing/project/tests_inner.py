"""Tests of the user project. They run in file order: the ``*_sees_nothing`` tests and
``test_z_database_is_empty`` come after the tests that write."""

import pytest
from sqlalchemy import create_engine, func, select

import restly as fr
import settings
from models import Item, Note
from runtime import APP_GLOBALS


def count_sync(session, model):
    return session.scalar(select(func.count()).select_from(model))


async def count_async(session, model):
    return await session.scalar(select(func.count()).select_from(model))


# -- sync: a sync view, the sync client and the sync session -----------------------------


def test_a_sync_writes(client, session):
    created = client.post("/notes", json={"text": "via client"}).json()
    session.add(Note(text="via session"))
    session.commit()
    # One connection: the view's committed row and the session's row are both visible.
    assert count_sync(session, Note) == 2
    assert session.get(Note, created["id"]).text == "via client"
    assert sorted(note["text"] for note in client.get("/notes").json()) == [
        "via client",
        "via session",
    ]


def test_a_sync_failed_request_rolls_back_only_its_savepoint(client, session):
    client.post("/notes", json={"text": "twice"})
    client.post("/notes", json={"text": "twice"}, assert_status_code=409)
    assert [note["text"] for note in client.get("/notes").json()] == ["twice"]
    assert count_sync(session, Note) == 1


def test_b_sync_sees_nothing(client, session):
    assert count_sync(session, Note) == 0
    assert client.get("/notes").json() == []


# -- async: an async view, the async client and the async session ------------------------


@pytest.mark.anyio
async def test_c_async_writes(async_client, async_session):
    created = (await async_client.post("/items", json={"name": "via client"})).json()
    async_session.add(Item(name="via session"))
    await async_session.commit()
    assert await count_async(async_session, Item) == 2
    assert (await async_session.get(Item, created["id"])).name == "via client"
    listed = (await async_client.get("/items")).json()
    assert sorted(item["name"] for item in listed) == ["via client", "via session"]
    async with fr.async_session(APP_GLOBALS) as opened:  # outside a request: the same connection
        assert await count_async(opened, Item) == 2


@pytest.mark.anyio
async def test_c_async_failed_request_rolls_back_only_its_savepoint(async_client, async_session):
    await async_client.post("/items", json={"name": "twice"})
    await async_client.post("/items", json={"name": "twice"}, assert_status_code=409)
    assert [item["name"] for item in (await async_client.get("/items")).json()] == ["twice"]
    assert await count_async(async_session, Item) == 1


@pytest.mark.anyio
async def test_c_async_session_needs_an_async_fixture(restly_savepoints):
    # Only async fixtures run in the test's loop, where the rollback must happen.
    with pytest.raises(RuntimeError, match="In async tests request `async_session` or "):
        async with fr.async_session(APP_GLOBALS):
            pass


@pytest.mark.anyio
async def test_d_async_sees_nothing(async_client, async_session):
    assert await count_async(async_session, Item) == 0
    assert (await async_client.get("/items")).json() == []


# -- the sync client on an async view (the app runs in the client's own event loop) -----


def test_e_sync_client_async_view_writes(client):
    created = client.post("/items", json={"name": "from a sync test"}).json()
    client.patch(f"/items/{created['id']}", json={"name": "renamed"})
    assert [item["name"] for item in client.get("/items").json()] == ["renamed"]


def test_f_sync_client_async_view_sees_nothing(client):
    assert client.get("/items").json() == []


def test_g_client_runs_the_lifespan(client, app):
    assert app.state.lifespan == "started"


# -- afterwards ----------------------------------------------------------------------------


def test_z_database_is_empty():
    # Checked on a new engine, outside restly and its fixtures.
    engine = create_engine(settings.SYNC_URL)
    try:
        with engine.connect() as connection:
            for model in (Item, Note):
                assert connection.scalar(select(func.count()).select_from(model)) == 0
    finally:
        engine.dispose()


def test_z_globals_are_restored():
    g = APP_GLOBALS
    assert g.session_generator is None
    assert g.sync_session_generator is None
    assert g.make_session is None
    assert g.async_make_session is None
