"""Every example under ``docs/examples/`` imported and exercised over HTTP, like a reader would.

Each test loads one example file as a module while a fresh :class:`restly.FRGlobals` is
active (so no example registers views anywhere else) and from inside a temporary directory
(so the examples' relative SQLite files, such as ``app.db``, are created there).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

import restly as fr

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"

pytestmark = pytest.mark.anyio


@pytest.fixture
def fr_globals() -> fr.FRGlobals:
    return fr.FRGlobals()


@pytest.fixture
def load(
    fr_globals: fr.FRGlobals, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """``load("name")`` imports ``docs/examples/name.py`` under ``fr_globals`` in ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    loaded: list[str] = []

    def load_example(name: str) -> ModuleType:
        module_name = f"docs_example_{name}"
        spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        loaded.append(module_name)
        with fr.use_fr_globals(fr_globals):
            spec.loader.exec_module(module)
        return module

    yield load_example
    for module_name in loaded:
        sys.modules.pop(module_name, None)


@asynccontextmanager
async def serve(
    app: FastAPI, fr_globals: fr.FRGlobals, *, active: fr.FRGlobals | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """Run ``app``'s lifespan and yield a client calling it; dispose restly's engines after.

    ``fr_globals`` is the globals the app was built in; the server runs while ``active``
    (default: the same) is the active one.
    """
    try:
        with fr.use_fr_globals(active or fr_globals):
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                    yield client
    finally:
        await fr_globals.dispose()


def test_every_example_is_tested() -> None:
    source = Path(__file__).read_text()
    untested = [p.stem for p in EXAMPLES.glob("*.py") if f'load("{p.stem}")' not in source]
    assert untested == []


def test_every_seed_snippet_has_an_example() -> None:
    seeds = {p.stem for p in EXAMPLES.glob("seed_*.py")}
    assert seeds == {
        "seed_async_session_generator",
        "seed_sync_session_generator",
        "seed_background_task",
        "seed_own_declarative_base",
        "seed_isolating_state",
    }


# -- getting started ----------------------------------------------------------------------


async def test_getting_started(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("getting_started")
    assert list(fr_globals.registry) == [example.WorldView]
    async with serve(example.app, fr_globals) as client:
        created = await client.post("/world", json={"message": "Hello"})
        assert created.status_code == 201
        assert created.json() == {"id": 1, "message": "Hello"}
        assert (await client.get("/world")).json() == [{"id": 1, "message": "Hello"}]
        assert (await client.get("/world/")).json() == [{"id": 1, "message": "Hello"}]
        patched = await client.patch("/world/1", json={"message": "Hello again"})
        assert patched.json() == {"id": 1, "message": "Hello again"}
        assert (await client.delete("/world/1")).status_code == 204
        missing = await client.get("/world/1")
        assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})


# -- existing projects (the seed page) ----------------------------------------------------


async def test_seed_async_session_generator(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("seed_async_session_generator")
    assert fr_globals.async_database_url is None  # only the generator can give sessions
    async with example.engine.begin() as connection:
        await connection.run_sync(example.Base.metadata.create_all)
    try:
        async with serve(example.app, fr_globals) as client:
            created = await client.post("/world", json={"message": "from my_get_db"})
            assert created.status_code == 201
        async with example.MyAsyncSession() as session:
            stored = (await session.scalars(select(example.World.message))).all()
        assert stored == ["from my_get_db"]
    finally:
        await example.engine.dispose()


async def test_seed_sync_session_generator(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("seed_sync_session_generator")
    assert fr_globals.database_url is None
    example.Base.metadata.create_all(example.engine)
    try:
        async with serve(example.app, fr_globals) as client:
            created = await client.post("/world", json={"message": "from my_get_db"})
            assert created.status_code == 201
            assert (await client.get("/world/1")).json() == {"id": 1, "message": "from my_get_db"}
        with example.MySession() as session:
            assert session.scalars(select(example.World.message)).all() == ["from my_get_db"]
    finally:
        example.engine.dispose()


async def test_seed_background_task(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("seed_background_task")
    await fr.db.async_create_all(example.Base, fr_globals.get_async_engine())
    async with fr.async_session(fr_globals) as session:
        session.add_all([example.World(message="a"), example.World(message="b")])
    # Served outside the example's globals: the view activates its own for the request.
    async with serve(example.app, fr_globals, active=fr.FRGlobals()) as client:
        answer = await client.post("/reports")
        assert (answer.status_code, answer.json()) == (202, {"status": "scheduled"})
        async with fr.async_session(fr_globals) as session:
            counts = (await session.scalars(select(example.Report.world_count))).all()
    assert counts == [2]


async def test_seed_own_declarative_base(load: Any, fr_globals: fr.FRGlobals) -> None:
    example = load("seed_own_declarative_base")
    assert issubclass(example.World, example.AppBase)
    async with serve(example.app, fr_globals) as client:
        assert (await client.post("/world", json={"message": "custom base"})).status_code == 201
        assert (await client.get("/world")).json() == [{"id": 1, "message": "custom base"}]
    schema = example.WorldView.creation_schema
    assert list(schema.model_fields) == ["message"]


async def test_seed_isolating_state(load: Any, fr_globals: fr.FRGlobals, tmp_path: Path) -> None:
    example = load("seed_isolating_state")
    assert list(example.app_a_globals.registry) == [example.WorldViewA]
    assert list(example.app_b_globals.registry) == [example.WorldViewB]
    assert list(fr_globals.registry) == []
    for g in (example.app_a_globals, example.app_b_globals):
        await fr.db.async_create_all(example.Base, g.get_async_engine())
    async with serve(example.app_a, example.app_a_globals) as client_a:
        assert (await client_a.post("/world", json={"message": "only in A"})).status_code == 201
    # A real server runs outside any use_fr_globals block: the views bring their own.
    async with serve(example.app_b, example.app_b_globals, active=fr_globals) as client_b:
        assert (await client_b.get("/world")).json() == []
    assert (tmp_path / "app_a.db").exists() and (tmp_path / "app_b.db").exists()
