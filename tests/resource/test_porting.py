"""The porting guard: FastAPI-Restly spellings restly would ignore fail at class creation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Select, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr
from restly.exc import RestlyConfigurationError
from restly.resource import RENAMED

pytestmark = pytest.mark.anyio


class Base(DeclarativeBase):
    pass


class Post(Base):
    __tablename__ = "port_post"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(80))


@pytest.fixture(params=[fr.AsyncRestView, fr.RestView, fr.AsyncReactAdminView, fr.ReactAdminView])
def view_base(request: pytest.FixtureRequest) -> type:
    return request.param  # type: ignore[no-any-return]


def message_of(namespace: dict[str, Any], base: type) -> str:
    with pytest.raises(RestlyConfigurationError) as caught:
        type("PostView", (base,), {"prefix": "/posts", "model": Post, **namespace})
    return str(caught.value)


def test_a_scope_under_its_old_name_is_refused_naming_the_new_one(
    fr_globals: fr.FRGlobals, view_base: type
) -> None:
    def build_query(self: Any) -> Select[Any]:
        raise AssertionError("never called")

    assert message_of({"build_query": build_query}, view_base) == (
        "PostView is misconfigured (1 problem):\n"
        "  - PostView.build_query is FastAPI-Restly's spelling, which restly never calls; "
        "rename it to build_list_query (the statement every route of the view starts from: "
        "list, count, get, update and delete)."
    )


@pytest.mark.parametrize(
    ("name", "instead"),
    [
        ("schema_create", "creation_schema"),
        ("schema_update", "update_schema"),
        ("paginated", "include_pagination_metadata"),
        ("get_many", "handle_list"),
        ("get_one", "handle_get"),
        ("create", "handle_create"),
        ("update", "handle_update"),
        ("perform_delete", "handle_delete"),
        ("count_listing", "count_index"),
        ("to_response", "to_response_schema"),
        ("get_many_endpoint", "index"),
    ],
)
def test_every_old_spelling_names_its_replacement(
    fr_globals: fr.FRGlobals, name: str, instead: str
) -> None:
    value: Any = True if name == "paginated" else (lambda self, *args: None)
    message = message_of({name: value}, fr.AsyncRestView)
    assert f"PostView.{name} is FastAPI-Restly's spelling" in message
    assert f"rename it to {instead}" in message
    assert name in RENAMED


def test_all_problems_are_reported_together_with_where_they_come_from(
    fr_globals: fr.FRGlobals,
) -> None:
    class AppView(fr.AsyncRestView):  # an abstract base: not checked itself
        def build_query(self) -> Any: ...

    message = message_of({"schema_create": object, "paginated": True}, AppView)
    assert message.startswith("PostView is misconfigured (3 problems):")
    assert "PostView.build_query (inherited from AppView) is FastAPI-Restly's" in message
    assert "PostView.schema_create" in message and "PostView.paginated" in message


async def test_a_route_named_like_an_old_verb_is_the_views_own_endpoint(
    fr_globals: fr.FRGlobals, tmp_path: Any
) -> None:
    class PostView(fr.AsyncRestView):
        prefix = "/posts"
        model = Post

        @fr.post("/{id}/create")
        async def create(self, id: int) -> dict[str, int]:
            return {"created": id}

    fr.configure(async_database_url=f"sqlite+aiosqlite:///{tmp_path / 'p.sqlite3'}")
    app = FastAPI()
    fr.include_view(app, PostView)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/posts/7/create")
    assert response.status_code == 201 and response.json() == {"created": 7}
    await fr_globals.dispose()


def test_plain_views_may_use_any_method_name(fr_globals: fr.FRGlobals) -> None:
    class Tools(fr.View):
        prefix = "/tools"

        def create(self) -> None: ...  # a helper of the view's own routes

        @fr.get("")
        def index(self) -> dict[str, str]:
            return {}

    assert Tools in fr_globals.registry


def test_the_porting_page_lists_every_refused_name() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "porting.md").read_text()
    missing = [name for name in RENAMED if f"| `{name}` |" not in page]
    assert missing == []
