"""``fr.scope``: declaring row scopes, and what view classes compile from them."""

from __future__ import annotations

import threading
from typing import Any, Optional

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import ForeignKey, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.pool import StaticPool

import restly as fr
from restly.exc import RestlyConfigurationError


class Base(DeclarativeBase):
    pass


class Owner(Base):
    __tablename__ = "sco_owner"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class Pet(Base):
    __tablename__ = "sco_pet"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    owner_id: Mapped[Optional[int]] = mapped_column(ForeignKey("sco_owner.id"))
    owner: Mapped[Optional[Owner]] = relationship()


class Vet(Base):
    __tablename__ = "sco_vet"
    id: Mapped[int] = mapped_column(primary_key=True)
    favourite_id: Mapped[Optional[int]]  # a plain column: references Pet only in schemas


class OwnerSchema(fr.IDSchema):
    name: str


class PetSchema(fr.IDSchema):
    name: str
    owner: fr.ReadOnly[OwnerSchema]  # not optional


class VetSchema(fr.IDSchema):
    favourite_id: fr.IDRef[Pet] | None = None


def error_of(build: Any) -> str:
    with pytest.raises(RestlyConfigurationError) as caught:
        build()
    return str(caught.value)


def test_the_decorator_registers_in_the_active_globals_and_returns_the_function(
    fr_globals: fr.FRGlobals,
) -> None:
    def visible_pets() -> Any:
        return Pet.name != "secret"

    assert fr.scope(Pet)(visible_pets) is visible_pets
    assert [(s.model, s.function) for s in fr_globals.scopes] == [(Pet, visible_pets)]
    other = fr.FRGlobals()
    fr.scope(Owner, globals=other)(visible_pets)
    assert [s.model for s in fr_globals.scopes] == [Pet] and [s.model for s in other.scopes] == [Owner]


def test_a_scope_needs_a_mapped_class_and_a_function(fr_globals: fr.FRGlobals) -> None:
    assert error_of(lambda: fr.scope(dict)) == (  # type: ignore[arg-type]
        "fr.scope() needs a mapped SQLAlchemy class; got <class 'dict'>. "
        "Use @fr.scope(Post) above the scope function."
    )
    assert error_of(lambda: fr.scope(Pet)("nope")) == (  # type: ignore[arg-type]
        "@fr.scope(Pet) decorates a function returning a condition on Pet; got 'nope'."
    )
    assert len(fr_globals.scopes) == 0


def test_a_scope_declared_after_a_view_reaching_its_model_is_refused(fr_globals: fr.FRGlobals) -> None:
    class PetView(fr.AsyncRestView):
        prefix = "/pets"
        model = Pet

    class VetView(fr.RestView):
        prefix = "/vets"
        model = Vet
        schema = VetSchema

    def late() -> Any:
        return None

    # PetView reaches Owner through Pet.owner; VetView references Pet in its schema
    assert error_of(lambda: fr.scope(Owner)(late)) == (
        "row scope test_a_scope_declared_after_a_view_reaching_its_model_is_refused.<locals>.late "
        "for Owner is declared after PetView, which already reaches Owner without it. Declare "
        "scopes before the views (e.g. import the module declaring them before the views' modules)."
    )
    assert "after PetView, VetView, which already reach Pet" in error_of(lambda: fr.scope(Pet)(late))
    assert len(fr_globals.scopes) == 0
    with fr.use_fr_globals(fr.FRGlobals()):
        fr.scope(Pet)(late)  # other globals: their views are another app's


def test_views_created_after_a_scope_apply_it_when_they_reach_its_model(fr_globals: fr.FRGlobals) -> None:
    @fr.scope(Owner)
    def owners() -> Any:
        return None

    class OwnerView(fr.AsyncRestView):
        prefix = "/owners"
        model = Owner

    class VetView(fr.AsyncRestView):
        prefix = "/vets"
        model = Vet

    class PetView(fr.AsyncRestView):
        prefix = "/pets"
        model = Pet

    assert [s.function for s in OwnerView.__restly_compiled__.scopes] == [owners]
    assert [s.function for s in PetView.__restly_compiled__.scopes] == [owners]  # via Pet.owner
    assert VetView.__restly_compiled__.scopes == ()
    assert PetView.__restly_compiled__.reached_models == {Pet, Owner}


def test_a_response_that_cannot_show_a_hidden_to_one_target_is_refused(fr_globals: fr.FRGlobals) -> None:
    @fr.scope(Owner)
    def owners() -> Any:
        return None

    def build() -> None:
        class PetView(fr.AsyncRestView):
            prefix = "/pets"
            model = Pet
            schema = PetSchema

    assert error_of(build) == (
        "PetView is misconfigured (1 problem):\n"
        "  - PetView.response_schema field 'owner' shows Owner, which row scope "
        "test_a_response_that_cannot_show_a_hidden_to_one_target_is_refused.<locals>.owners "
        "may hide; a hidden Owner is answered as null, so make the field optional "
        "(`... | None = None`)."
    )


@pytest.mark.anyio
async def test_a_sync_scope_runs_on_the_event_loop_once_per_request(fr_globals: fr.FRGlobals) -> None:
    threads: list[int] = []

    @fr.scope(Pet)
    def record_thread() -> Any:
        threads.append(threading.get_ident())
        return None

    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    Base.metadata.create_all(engine)
    fr.configure(engine=engine)
    app = FastAPI()

    @fr.include_view(app)
    class PetView(fr.RestView):
        prefix = "/pets"
        model = Pet

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.get("/pets")).json() == []
        assert (await http.get("/pets")).json() == []
    assert threads == [threading.get_ident()] * 2  # not FastAPI's threadpool
    engine.dispose()
