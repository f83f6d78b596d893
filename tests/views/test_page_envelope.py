"""``fr.views.Page[Model]``: the list envelope, one class per model for views and users alike."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr
from restly.schemas import _page
from restly.views import Page

T = TypeVar("T")


class Base(DeclarativeBase):
    pass


class Moon(Base):
    __tablename__ = "pe_moon"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))


class Item(BaseModel):
    name: str


class Reference(BaseModel, Generic[T]):
    """pydantic's own parametrisation of the same envelope, to compare with."""

    items: list[T]
    total: int | None
    page: int | None
    page_size: int
    total_pages: int | None
    has_more: bool | None = Field(None, description=_page._HAS_MORE)
    total_estimated: bool | None = Field(None, description=_page._ESTIMATED)
    next_cursor: str | None = Field(None, description=_page._NEXT)
    prev_cursor: str | None = Field(None, description=_page._PREV)


@pytest.mark.parametrize("mode", ["validation", "serialization"])
def test_the_schema_is_pydantics_parametrisation(mode: Any) -> None:
    ours = Page[Item].model_json_schema(mode=mode)
    theirs = Reference[Item].model_json_schema(mode=mode)
    assert ours.pop("title") == "Page[Item]"
    assert theirs.pop("title") == "Reference[Item]"
    assert ours == theirs


def test_one_class_per_model_and_a_page_subclass() -> None:
    envelope = Page[Item]
    assert envelope is Page[Item]
    assert issubclass(envelope, Page)
    assert list(envelope.model_fields) == [
        "items", "total", "page", "page_size", "total_pages",
        "has_more", "total_estimated", "next_cursor", "prev_cursor",
    ]  # fmt: skip
    page = envelope.model_validate(
        {"items": [{"name": "Io"}], "total": 1, "page": 1, "page_size": 10, "total_pages": 1}
    )
    assert page.items == [Item(name="Io")]
    with pytest.raises(ValidationError):
        envelope.model_validate({"items": [{"nom": "Io"}], "total": 1, "page": 1,
                                 "page_size": 10, "total_pages": 1})  # fmt: skip


def test_members_a_page_does_not_have_are_left_out() -> None:
    plain = Page[Item](items=[Item(name="Io")], total=1, page=1, page_size=10, total_pages=1)
    assert plain.model_dump() == {
        "items": [{"name": "Io"}], "total": 1, "page": 1, "page_size": 10, "total_pages": 1
    }  # fmt: skip
    uncounted = Page[Item](
        items=[], total=None, page=None, page_size=10, total_pages=None, has_more=True,
        next_cursor="abc",
    )  # fmt: skip
    assert uncounted.model_dump(exclude={"items"}) == {
        "total": None, "page": None, "page_size": 10, "total_pages": None, "has_more": True,
        "next_cursor": "abc",
    }  # fmt: skip


def test_other_parameters_still_work() -> None:
    assert Page[int](items=[1], total=1, page=1, page_size=1, total_pages=1).items == [1]
    nested = Page[Page[Item]]
    assert nested.model_fields["items"].annotation == list[Page[Item]]


def test_a_views_envelope_is_the_one_users_get() -> None:
    g = fr.FRGlobals()
    view: Any = type(
        "MoonView",
        (fr.AsyncRestView,),
        {"prefix": "/moons", "model": Moon, "include_pagination_metadata": True},
        globals=g,
    )
    assert view.list_response_model is Page[view.response_schema]
    app = FastAPI()
    fr.include_view(app, view)

    @app.get("/all-moons", response_model=Page[view.response_schema])
    async def all_moons() -> Any: ...

    document = app.openapi()
    listed = document["paths"]["/moons"]["get"]["responses"]["200"]["content"]
    own = document["paths"]["/all-moons"]["get"]["responses"]["200"]["content"]
    assert listed == own  # one component, referenced by both routes
    ref = listed["application/json"]["schema"]["$ref"]
    assert ref == f"#/components/schemas/Page_{view.response_schema.__name__}_"
