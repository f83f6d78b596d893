"""A view's ``list_params_schema``: checked when the class is created, one class for good.

pydantic builds the class when the list route is first called or the attribute first read
(``restly.query._params.defer_list_params_schema``); whichever comes first, every reader and
every request sees the same class, and a mistake still fails at class creation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import PydanticSchemaGenerationError
from pydantic.version import version_short
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr
from restly.exc import RestlyConfigurationError
from restly.query import ListParams, list_params_openapi, list_plan

pytestmark = pytest.mark.anyio


class Base(DeclarativeBase):
    pass


class Planet(Base):
    __tablename__ = "lp_planet"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    moons: Mapped[int] = mapped_column(default=0)


PYDANTIC_MINOR = version_short()


class OwnType:
    """A type pydantic has no schema for."""


@pytest.fixture(params=["async", "sync"])
def view_base(request: pytest.FixtureRequest) -> type:
    return fr.AsyncRestView if request.param == "async" else fr.RestView


@pytest.fixture
def client_for(database: Any, client_for: Callable[..., httpx.AsyncClient]) -> Any:
    return client_for


def planet_view(view_base: type, seen: list[Any], **options: Any) -> type:
    """A planet view whose ``handle_list`` records the ``query_params`` it is given."""
    if view_base is fr.AsyncRestView:

        async def handle_list(self: Any, query_params: Any, query: Any = None) -> Any:
            seen.append(query_params)
            return await fr.AsyncRestView.handle_list(self, query_params, query)

    else:

        def handle_list(self: Any, query_params: Any, query: Any = None) -> Any:  # type: ignore[misc]
            seen.append(query_params)
            return fr.RestView.handle_list(self, query_params, query)

    namespace = {"prefix": "/planets", "model": Planet, "handle_list": handle_list, **options}
    return type("PlanetView", (view_base,), namespace)


@pytest.mark.parametrize("first", ["request", "read"])
async def test_the_list_route_and_readers_share_one_class(
    view_base: type, client_for: Any, first: str
) -> None:
    seen: list[Any] = []
    view = planet_view(view_base, seen)
    app = FastAPI()
    fr.include_view(app, view)
    client = client_for(app)
    read_first = view.list_params_schema if first == "read" else None
    await client.post("/planets", json={"name": "Mars", "moons": 2})
    await client.post("/planets", json={"name": "Venus"})
    answer = await client.get("/planets", params={"moons__gte": "1", "order_by": "-name"})
    assert [planet["name"] for planet in answer.json()] == ["Mars"]
    params_class = view.list_params_schema
    assert params_class is view.list_params_schema  # the same class on every read
    assert read_first in (None, params_class)
    assert issubclass(params_class, ListParams)
    assert type(seen[0]) is params_class
    assert seen[0].moons__gte == 1
    assert list_plan(params_class).sort_keys == ("id", "name", "moons")
    unknown = await client.get("/planets", params={"colour": "red"})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["query", "colour"]


def test_instances_read_the_class_of_their_view(view_base: type) -> None:
    view = planet_view(view_base, [])
    assert view().list_params_schema is view.list_params_schema


def test_the_documented_parameters_are_those_of_the_class(view_base: type) -> None:
    view = planet_view(view_base, [])
    app = FastAPI()
    fr.include_view(app, view)
    documented = app.openapi()["paths"]["/planets"]["get"]["parameters"]
    assert documented == list_params_openapi(view.list_params_schema)["parameters"]
    assert {"name__contains", "moons__lt", "page", "order_by"} <= {p["name"] for p in documented}


def test_concurrent_first_reads_get_one_class(view_base: type) -> None:
    view = planet_view(view_base, [])
    barrier = threading.Barrier(8)
    found: list[type] = []

    def read() -> None:
        barrier.wait()
        found.append(view.list_params_schema)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 8 and all(params_class is found[0] for params_class in found)


def test_a_clashing_extra_parameter_fails_at_class_creation(view_base: type) -> None:
    with pytest.raises(RestlyConfigurationError) as caught:
        planet_view(view_base, [], extra_query_params={"moons__gte": int})
    assert str(caught.value) == (
        "PlanetView is misconfigured (1 problem):\n"
        "  - PlanetView.extra_query_params ['moons__gte'] clash with list parameters of "
        "Planet; rename them (e.g. 'x_moons__gte')."
    )


def test_an_extra_parameter_pydantic_cannot_validate_fails_at_class_creation(
    view_base: type,
) -> None:
    with pytest.raises(RestlyConfigurationError) as caught:
        planet_view(view_base, [], extra_query_params={"day": OwnType})
    assert str(caught.value) == (
        "PlanetView is misconfigured (1 problem):\n"
        "  - PlanetView.extra_query_params: Unable to generate pydantic-core schema for "
        f"{OwnType!r}. Set `arbitrary_types_allowed=True` in the model_config to ignore this "
        "error or implement `__get_pydantic_core_schema__` on your type to fully support it. "
        f"For further information visit https://errors.pydantic.dev/{PYDANTIC_MINOR}/u/"
        "schema-for-unknown-type"
    )

