import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import sessionmaker

from main import Note
from restly.testing import (
    activate_savepoint_only_mode,
    deactivate_savepoint_only_mode,
    savepoint_connection,
)


def test_create_then_read(client):
    created = client.post("/notes", json={"text": "hello"}).json()  # asserts 201
    assert client.get(f"/notes/{created['id']}").json()["text"] == "hello"  # asserts 200
    client.get("/notes/999", assert_status_code=404)
    client.post("/notes", json={}, assert_status_code=422)


def test_each_test_starts_from_an_empty_table(client):
    assert client.get("/notes").json() == []  # the note above was rolled back


@pytest.mark.anyio
async def test_seed_with_the_session_then_call_the_app(async_session, async_client):
    async_session.add(Note(text="seeded"))
    await async_session.commit()  # releases a SAVEPOINT; the test's transaction goes on
    listed = (await async_client.get("/notes")).json()
    assert [note["text"] for note in listed] == ["seeded"]
    await async_client.delete(f"/notes/{listed[0]['id']}")  # asserts 204
    assert await async_session.scalar(select(func.count(Note.id))) == 0


def test_savepoint_mode_on_a_sessionmaker_of_your_own():
    engine = create_engine("sqlite:///test.db")
    make_session = sessionmaker(engine)
    with savepoint_connection(engine) as connection:  # BEGIN ... ROLLBACK
        activate_savepoint_only_mode(make_session, bind=connection)
        try:
            with make_session() as session:
                session.add(Note(text="temporary"))
                session.commit()  # only releases a SAVEPOINT
            with make_session() as session:
                assert session.scalar(select(func.count(Note.id))) == 1
        finally:
            deactivate_savepoint_only_mode(make_session)
    with make_session() as session:
        assert session.scalar(select(func.count(Note.id))) == 0
    engine.dispose()
