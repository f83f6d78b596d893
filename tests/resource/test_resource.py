"""ResourceMeta: validation messages, abstract bases, derivation and registration."""

from __future__ import annotations

import uuid

import pytest
from pydantic import BaseModel
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr
from restly.exc import RestlyConfigurationError


class Base(DeclarativeBase):
    pass


class Article(Base):
    __tablename__ = "res_article"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(80))
    body: Mapped[str | None]


class Pair(Base):
    __tablename__ = "res_pair"
    left: Mapped[int] = mapped_column(primary_key=True)
    right: Mapped[int] = mapped_column(ForeignKey("res_article.id"), primary_key=True)


def error_of(build: object) -> str:
    with pytest.raises(RestlyConfigurationError) as caught:
        build()  # type: ignore[operator]
    return str(caught.value)


def test_the_error_is_a_type_error_listing_every_problem(fr_globals: fr.FRGlobals) -> None:
    def build() -> None:
        class ArticleView(fr.AsyncRestView):
            prefix = "articles"
            model = dict

    with pytest.raises(TypeError) as caught:
        build()
    assert str(caught.value) == (
        "ArticleView is misconfigured (2 problems):\n"
        "  - ArticleView.prefix must start with '/'; got 'articles'. Use prefix = \"/articles\".\n"
        "  - ArticleView.model must be a mapped SQLAlchemy class; got <class 'dict'>. Set "
        "model = YourModel (a class mapped on your SQLAlchemy DeclarativeBase)."
    )
    assert isinstance(caught.value, RestlyConfigurationError)
    assert len(caught.value.problems) == 2
    assert len(fr_globals.registry) == 0


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        (
            {"prefix": "/articles"},
            "ArticleView.model is required; got None. Set model = YourModel (a class mapped on "
            "your SQLAlchemy DeclarativeBase).",
        ),
        (
            {"model": Article},
            "ArticleView.prefix is required; got ''. Add a path such as prefix = \"/article\".",
        ),
        (
            {"model": Article, "prefix": 5},
            "ArticleView.prefix must be a str starting with '/'; got 5. Use "
            "prefix = \"/article\".",
        ),
        (
            {"model": Article, "prefix": "articles/"},
            "ArticleView.prefix must start with '/'; got 'articles/'. Use prefix = \"/articles\".",
        ),
        (
            {"model": Article, "prefix": "/articles/"},
            "ArticleView.prefix must not end with '/'; got '/articles/'. Use "
            "prefix = \"/articles\" (both forms of the URL are answered).",
        ),
        (
            {"model": Article, "prefix": "/a", "schema": dict},
            "ArticleView.schema must be a pydantic model class; got <class 'dict'>. Declare "
            "class ArticleSchema(fr.IDSchema): ... and set schema = ArticleSchema, or remove "
            "schema to have it generated.",
        ),
        (
            {"model": Article, "prefix": "/a", "creation_schema": "ArticleIn"},
            "ArticleView.creation_schema must be a pydantic model class; got 'ArticleIn'. "
            "Declare class ArticleSchema(fr.IDSchema): ... and set creation_schema = "
            "ArticleSchema, or remove creation_schema to have it generated.",
        ),
        (
            {"model": Article, "prefix": "/a", "id_type": "int"},
            "ArticleView.id_type must be a type such as int, str or uuid.UUID; got 'int'. Use "
            "id_type = int (or remove it: it defaults to the primary key's type).",
        ),
        (
            {"model": Article, "prefix": "/a", "exclude_routes": ("remove",)},
            "ArticleView.exclude_routes names unknown route 'remove'; choose from: delete, "
            "get, index, patch, post.",
        ),
        (
            {"model": Article, "prefix": "/a", "exclude_routes": "delete"},
            "ArticleView.exclude_routes must be a collection of route names; got 'delete'. "
            "Use exclude_routes = (\"delete\",).",
        ),
        (
            {"model": Article, "prefix": "/a", "max_page_size": 0},
            "ArticleView.max_page_size must be a positive int or None; got 0. Use "
            "max_page_size = 1000, or remove it to use the globals' default.",
        ),
        (
            {"model": Article, "prefix": "/a", "default_page_size": -5},
            "ArticleView.default_page_size must be a positive int or None; got -5. Use "
            "default_page_size = 25, or remove it to use the globals' default.",
        ),
        (
            {"model": Article, "prefix": "/a", "list_params_schema": Article},
            "ArticleView.list_params_schema is derived from response_schema and cannot be "
            f"declared; got {Article!r}. Remove it: shape the list parameters with "
            "response_schema, and add your own with extra_query_params.",
        ),
        (
            {"model": Article, "prefix": "/a", "default_page_size": 50, "max_page_size": 10},
            "ArticleView.default_page_size (50) is larger than max_page_size (10); lower "
            "default_page_size to at most 10.",
        ),
        (
            {"model": Article, "prefix": "/a", "include_pagination_metadata": "yes"},
            "ArticleView.include_pagination_metadata must be True or False; got 'yes'. "
            "Use include_pagination_metadata = True (or False, the default).",
        ),
        (
            {"model": Pair, "prefix": "/pairs"},
            "ArticleView.model Pair has a composite primary key (left, right); restly views "
            "address rows by one id. Give the table a single-column primary key (keeping a "
            "unique constraint over the composite columns).",
        ),
    ],
)
def test_each_misconfiguration_has_an_exact_message(
    fr_globals: fr.FRGlobals, attributes: dict[str, object], message: str
) -> None:
    text = error_of(lambda: type("ArticleView", (fr.AsyncRestView,), dict(attributes)))
    assert text == f"ArticleView is misconfigured (1 problem):\n  - {message}"
    assert len(fr_globals.registry) == 0


def test_schema_fields_must_exist_on_the_model(fr_globals: fr.FRGlobals) -> None:
    class ArticleSchema(fr.IDSchema):
        title: str
        subtitle: str
        summary: str = ""  # has a default: fine
        secret: fr.WriteOnly[str]  # input only: fine

    text = error_of(
        lambda: type(
            "ArticleView",
            (fr.RestView,),
            {"prefix": "/a", "model": Article, "schema": ArticleSchema},
        )
    )
    assert text == (
        "ArticleView is misconfigured (1 problem):\n"
        "  - ArticleView.schema field 'subtitle' is not an attribute of Article; remove it, "
        "rename it to a Article attribute, or give it a default."
    )


def test_a_plain_view_checks_its_prefix(fr_globals: fr.FRGlobals) -> None:
    def build() -> None:
        class Health(fr.View):
            prefix = "health"

    assert error_of(build) == (
        "Health is misconfigured (1 problem):\n"
        "  - Health.prefix must start with '/'; got 'health'. Use prefix = \"/health\"."
    )


def test_route_conflicts_are_reported_at_class_creation(fr_globals: fr.FRGlobals) -> None:
    def build() -> None:
        class ArticleView(fr.AsyncRestView):
            prefix = "/articles"
            model = Article

            @fr.get("/{id}")
            async def read(self, id: int) -> None: ...

    assert error_of(build) == (
        "ArticleView is misconfigured (1 problem):\n"
        "  - ArticleView.read and ArticleView.get both answer GET /articles/{id}; give one "
        "another path, or override the existing method 'get' instead of adding 'read'."
    )


def test_schemas_are_derived_when_the_class_is_created(fr_globals: fr.FRGlobals) -> None:
    class ArticleView(fr.AsyncRestView):
        prefix = "/articles"
        model = Article

    assert set(ArticleView.schema.model_fields) == {"id", "title", "body"}  # type: ignore[union-attr]
    assert set(ArticleView.creation_schema.model_fields) == {"title", "body"}  # type: ignore[union-attr]
    update = ArticleView.update_schema
    assert update is not None
    assert not any(field.is_required() for field in update.model_fields.values())
    assert ArticleView.response_schema is ArticleView.schema
    assert ArticleView.list_params_schema is not None
    assert ArticleView.id_type is int


def test_declared_schemas_are_honoured_and_write_only_fields_hidden(
    fr_globals: fr.FRGlobals,
) -> None:
    class ArticleSchema(fr.IDSchema):
        title: str
        body: fr.WriteOnly[str | None] = None

    class ArticleView(fr.RestView):
        prefix = "/articles"
        model = Article
        schema = ArticleSchema

    assert ArticleView.schema is ArticleSchema
    assert set(ArticleView.creation_schema.model_fields) == {"title", "body"}  # type: ignore[union-attr]
    assert set(ArticleView.response_schema.model_fields) == {"id", "title"}  # type: ignore[union-attr]


def test_subclasses_with_another_model_derive_their_own_schemas(fr_globals: fr.FRGlobals) -> None:
    class Tag(Base):
        __tablename__ = "res_tag"
        id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
        label: Mapped[str]

    class ArticleView(fr.AsyncRestView):
        prefix = "/articles"
        model = Article

    class TagView(ArticleView):
        prefix = "/tags"
        model = Tag

    assert set(TagView.schema.model_fields) == {"id", "label"}  # type: ignore[union-attr]
    assert TagView.id_type is uuid.UUID
    assert ArticleView.id_type is int


def test_shared_bases_are_abstract_and_not_registered(fr_globals: fr.FRGlobals) -> None:
    class AppView(fr.AsyncRestView):
        session: fr.AsyncSessionDep
        max_page_size = 50

    class ArticleView(AppView):
        prefix = "/articles"
        model = Article

    class Explicit(fr.AsyncRestView):
        __abstract__ = True
        prefix = "/ignored"

    assert list(fr_globals.registry) == [ArticleView]
    assert ArticleView.max_page_size == 50
    assert AppView not in fr_globals.registry and Explicit not in fr_globals.registry


def test_views_register_in_declaration_order_in_the_active_globals(
    fr_globals: fr.FRGlobals,
) -> None:
    other = fr.FRGlobals()

    class First(fr.View):
        prefix = "/first"

    with fr.use_fr_globals(other):

        class Elsewhere(fr.View):
            prefix = "/elsewhere"

    class Second(fr.AsyncRestView):
        prefix = "/second"
        model = Article

    class Named(fr.View, globals=other):
        prefix = "/named"

    assert list(fr_globals.registry) == [First, Second]
    assert list(other.registry) == [Elsewhere, Named]
    assert Named.__restly_globals__ is other
    assert len(fr_globals.registry) == 2 and First in fr_globals.registry
    fr_globals.registry.clear()
    assert list(fr_globals.registry) == []


def test_non_pydantic_schema_base_is_still_reported(fr_globals: fr.FRGlobals) -> None:
    class NotASchema:
        pass

    text = error_of(
        lambda: type(
            "ArticleView", (fr.AsyncRestView,), {"prefix": "/a", "model": Article, "schema": NotASchema}
        )
    )
    assert "ArticleView.schema must be a pydantic model class" in text
    assert issubclass(fr.BaseSchema, BaseModel)
