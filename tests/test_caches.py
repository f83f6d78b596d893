"""restly's caches hold no strong references: dropped models, schemas, views and apps go.

Views, models and schemas made at runtime (app factories, per-tenant schemas, test suites)
must not pile up in restly's caches; see restly._caches and docs/architecture.md.
"""

from __future__ import annotations

import functools
import gc
import sys
import typing
import weakref
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import create_model
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import DeclarativeBase, mapped_column, relationship

import restly as fr
from restly._caches import class_cache, put_bounded

COUNT = 50


def throwaway_app(
    base_view: type, count: int = COUNT, *, scoped: bool = False
) -> tuple[FastAPI, list[weakref.ref[Any]]]:
    """An app serving `count` parent/child model pairs of their own DeclarativeBase, under
    their own FRGlobals, with its OpenAPI document built; and weak references to all of it.
    ``scoped``: each parent model has a row scope (a sync function)."""
    fr_globals = fr.FRGlobals()

    class Base(DeclarativeBase):
        pass

    app = FastAPI()
    made: list[Any] = [fr_globals, Base, app]
    for index in range(count):
        parent = type(
            f"Parent{index}",
            (Base,),
            {
                "__tablename__": f"cache_parent_{index}",
                "id": mapped_column(Integer, primary_key=True),
                "name": mapped_column(String(20)),
            },
        )
        child = type(
            f"Child{index}",
            (Base,),
            {
                "__tablename__": f"cache_child_{index}",
                "id": mapped_column(Integer, primary_key=True),
                "parent_id": mapped_column(ForeignKey(f"cache_parent_{index}.id")),
                "parent": relationship(parent),
            },
        )
        if scoped:
            scope = fr.scope(parent, globals=fr_globals)(positive_ids(parent))
            made.append(scope)
        child_schema = create_model(
            f"ChildSchema{index}",
            __base__=fr.IDSchema,
            # a scoped to-one relationship can be hidden (null): reference its column then
            **{"parent_id" if scoped else "parent": (fr.IDRef[parent], ...)},  # type: ignore[valid-type]
            nested=(fr.IDSchema[parent] | None, None),  # type: ignore[misc]
        )
        parent_view = type(
            f"ParentView{index}",
            (base_view,),
            {
                "prefix": f"/parents{index}",
                "model": parent,
                "include_pagination_metadata": True,
                "schema": fr.create_schema_from_model(parent),
            },
            globals=fr_globals,
        )
        child_view = type(
            f"ChildView{index}",
            (base_view,),
            {"prefix": f"/children{index}", "model": child, "schema": child_schema},
            globals=fr_globals,
        )
        fr.include_view(app, parent_view, child_view)
        made += [parent, child, child_schema, parent_view, child_view]
    app.openapi()
    made += [route.endpoint for route in app.routes if hasattr(route, "endpoint")]
    return app, [weakref.ref(thing) for thing in made]


def positive_ids(model: Any) -> Any:
    """A row scope for ``model`` (a sync function of no dependencies)."""
    return lambda: model.id > 0


LRU_CACHE = type(functools.lru_cache(maxsize=1)(lambda: None))
THIRD_PARTY = ("fastapi", "pydantic", "pydantic_core", "starlette", "sqlalchemy")


def collect() -> None:
    """Collect garbage after emptying the bounded memo caches of typing and of restly's
    dependencies (FastAPI memoises facts about endpoints, typing parametrised forms such as
    ``Annotated[...]``), so that only restly's own caches are under test."""
    for clear in getattr(typing, "_cleanups", ()):
        clear()
    for name, module in list(sys.modules.items()):
        if name.partition(".")[0] in THIRD_PARTY:
            for value in list(vars(module).values()):
                if isinstance(value, LRU_CACHE):
                    value.cache_clear()
    gc.collect()


@pytest.mark.parametrize("base_view", [fr.AsyncRestView, fr.RestView], ids=["async", "sync"])
def test_dropped_models_schemas_views_and_apps_leave_nothing_behind(base_view: type) -> None:
    app, refs = throwaway_app(base_view)
    assert all(ref() is not None for ref in refs)
    del app
    collect()
    alive = [ref() for ref in refs if ref() is not None]
    assert alive == []


@pytest.mark.parametrize("base_view", [fr.AsyncRestView, fr.RestView], ids=["async", "sync"])
def test_dropped_scoped_apps_leave_nothing_behind(base_view: type) -> None:
    app, refs = throwaway_app(base_view, count=5, scoped=True)
    assert all(ref() is not None for ref in refs)
    del app
    collect()
    assert [ref() for ref in refs if ref() is not None] == []


def test_dropped_apps_do_not_keep_their_handlers_alive() -> None:
    app, refs = throwaway_app(fr.AsyncRestView, count=1)
    handlers = [weakref.ref(route.app) for route in app.routes if hasattr(route, "endpoint")]
    endpoint = refs[-1]
    del app, refs
    collect()
    assert endpoint() is None
    assert all(handler() is None for handler in handlers)


def test_class_caches_are_the_classes_own() -> None:
    class Parent:
        pass

    class Child(Parent):
        pass

    class_cache(Parent)["key"] = 1
    assert class_cache(Child) == {}
    assert class_cache(Parent) == {"key": 1}


def test_bounded_caches_forget_their_oldest_entry() -> None:
    cache: dict[int, str] = {}
    for key in range(4):
        put_bounded(cache, key, str(key), 3)
    assert cache == {1: "1", 2: "2", 3: "3"}
