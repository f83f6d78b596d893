"""The read-replica guide's example (docs/read-replicas.md) against a real streaming replica."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

import restly as fr
from tests.db.replica_server import wait_replayed
from tests.test_docs_examples import fr_globals, load, serve  # noqa: F401 - fixtures

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(False)


def _asyncpg(url: str) -> str:
    return make_url(url).set(drivername="postgresql+asyncpg").render_as_string(False)


async def test_replicas_app_reads_lists_from_the_replica_and_editors_from_the_primary(
    load: Any,
    fr_globals: fr.FRGlobals,  # noqa: F811 - the fixture
    pg_replica: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    primary, replica = pg_replica
    monkeypatch.setenv("APP_DATABASE_URL", _asyncpg(primary))
    monkeypatch.setenv("APP_REPLICA_URLS", _asyncpg(replica))
    example = load("replicas_app")
    engine = create_engine(primary)
    example.Base.metadata.drop_all(engine)
    example.Base.metadata.create_all(engine)  # migrations run before the app starts
    try:
        wait_replayed(primary, replica)
        with psycopg.connect(_conninfo(replica), autocommit=True) as standby:
            standby.execute("select pg_wal_replay_pause()")  # the replica falls behind
            try:
                async with serve(example.app, fr_globals) as http:
                    created = await http.post("/articles", json={"title": "Replicas"})
                    assert created.status_code == 201, created.text
                    assert (await http.get("/articles")).json() == []  # the lagging replica
                    assert (await http.get("/editor/count")).json() == {"articles": 1}
                    standby.execute("select pg_wal_replay_resume()")
                    wait_replayed(primary, replica)
                    listed = (await http.get("/articles")).json()
                    assert [article["title"] for article in listed] == ["Replicas"]
            finally:
                standby.execute("select pg_wal_replay_resume()")
    finally:
        example.Base.metadata.drop_all(engine)
        engine.dispose()
