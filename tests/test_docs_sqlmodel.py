"""The SQLModel example of the model guide (``docs/models.md``), run as a reader would."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import SQLModel

import restly as fr
from tests.test_docs_examples import fr_globals, load, serve  # noqa: F401 - fixtures

pytestmark = pytest.mark.anyio


async def test_models_sqlmodel(load: Any, fr_globals: fr.FRGlobals) -> None:  # noqa: F811
    example = load("models_sqlmodel")
    tables = [example.Hero.__table__]
    async with fr_globals.get_async_engine().begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all, tables=tables)
    try:
        async with serve(example.app, fr_globals) as client:
            for prefix in ("/heroes", "/hero-cards"):
                # the database numbers the heroes: an id sent is ignored, as the document says
                sent = {"id": 99, "name": "Deadpond", "secret_name": "Dive Wilson"}
                created = await client.post(prefix, json=sent)
                assert created.status_code == 201, created.text
                hero = created.json()
                assert hero["id"] != 99 and hero["name"] == "Deadpond" and hero["age"] is None
                patched = await client.patch(f"{prefix}/{hero['id']}", json={"id": 1000, "age": 48})
                assert patched.json() == {**hero, "age": 48}
                assert (await client.get(f"{prefix}/1000")).status_code == 404
                too_long = await client.post(prefix, json={"name": "x" * 51, "secret_name": "s"})
                assert too_long.status_code == 422
                typo = await client.post(prefix, json={"nmae": "x", "secret_name": "s"})
                assert typo.status_code == 422
            listed = (await client.get("/heroes")).json()
            assert [h["name"] for h in listed] == ["Deadpond", "Deadpond"]
            document = (await client.get("/openapi.json")).json()["components"]["schemas"]
            for name, schema in document.items():
                if name.endswith("Create") or name.endswith("Update"):
                    assert schema["properties"]["id"]["readOnly"] is True, name
    finally:
        async with fr_globals.get_async_engine().begin() as connection:
            await connection.run_sync(SQLModel.metadata.drop_all, tables=tables)
