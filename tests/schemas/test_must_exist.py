"""``fr.MustExist``: scalar foreign keys checked for existence, over HTTP and at class time.

Every HTTP test runs with sync and async REST and react-admin views on SQLite, PostgreSQL
and MariaDB::

    class BookSchema(fr.IDSchema):
        author_id: fr.MustExist[int]                  # target from the column's ForeignKey
        legacy_author: fr.MustExist[int, Author] | None = None   # a column without one
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, Optional

import httpx
import pytest
from pydantic import create_model
from sqlalchemy import Column, ForeignKey, Integer, String, Table, event, select
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    relationship,
    with_loader_criteria,
)

import restly as fr
from ..relations_support import Database, StatementCounter, client_for, rest_view, seed, tables
from restly.exc import RestlyConfigurationError


class Base(DeclarativeBase):
    pass


translators = Table(
    "must_translator",
    Base.metadata,
    Column("book_id", ForeignKey("must_book.id", ondelete="CASCADE"), primary_key=True),
    Column("author_id", ForeignKey("must_author.id", ondelete="CASCADE"), primary_key=True),
)

unmapped = Table("must_unmapped", Base.metadata, Column("id", Integer, primary_key=True))


class Author(Base):
    __tablename__ = "must_author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    code: Mapped[str] = mapped_column(String(10), unique=True, default="")


class Tag(Base):
    __tablename__ = "must_tag"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(50))


class Book(Base):
    __tablename__ = "must_book"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    author_id: Mapped[int] = mapped_column(ForeignKey("must_author.id"))
    author: Mapped[Author] = relationship(foreign_keys=[author_id])
    editor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("must_author.id"))
    tag_id: Mapped[Optional[int]] = mapped_column(ForeignKey("must_tag.id"))
    legacy_author: Mapped[Optional[int]]  # no ForeignKey: the target must be named
    translators: Mapped[list[Author]] = relationship(secondary=translators, order_by=Author.id)
    # for the configuration errors
    rating: Mapped[Optional[int]]
    either_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("must_author.id"), ForeignKey("must_tag.id")
    )
    unmapped_id: Mapped[Optional[int]] = mapped_column(ForeignKey("must_unmapped.id"))
    author_code: Mapped[Optional[str]] = mapped_column(ForeignKey("must_author.code"))


class BookSchema(fr.IDSchema):
    title: str
    author_id: fr.MustExist[int]
    editor_id: Optional[fr.MustExist[int]] = None
    tag_id: fr.MustExist[int, Tag] | None = None
    legacy_author: Optional[fr.MustExist[int, Author]] = None


class MixedSchema(fr.IDSchema):
    """Every kind of reference to Author in one body, and one to Tag."""

    title: str
    author: fr.IDRef[Author]
    editor_id: fr.MustExist[int] | None = None
    translators: list[fr.IDRef[Author]] = []
    tag_id: fr.MustExist[int] | None = None


VIEW_BASES = {
    "rest-sync": fr.RestView,
    "rest-async": fr.AsyncRestView,
    "react-admin-sync": fr.ReactAdminView,
    "react-admin-async": fr.AsyncReactAdminView,
}


@dataclass
class Api:
    http: httpx.AsyncClient
    db: Database

    def book(self, book_id: int) -> tuple[str, int, Optional[int], Optional[int]] | None:
        """``(title, author_id, editor_id, tag_id)`` of a stored book, read directly."""
        with Session(self.db.engine) as session:
            book = session.get(Book, book_id)
            if book is None:
                return None
            return book.title, book.author_id, book.editor_id, book.tag_id

    def book_count(self) -> int:
        with Session(self.db.engine) as session:
            return len(session.scalars(select(Book.id)).all())


@pytest.fixture(params=list(VIEW_BASES))
def view_base(request: pytest.FixtureRequest) -> type[Any]:
    return VIEW_BASES[request.param]


@pytest.fixture
async def api(db_urls: Any, view_base: type[Any]) -> AsyncIterator[Api]:
    """Authors 1, 2 and 3 ("Hidden"), tags 1 and 2; views /books and /mixed."""
    g = fr.FRGlobals()
    async with tables(db_urls, Base.metadata) as db:
        seed(
            db,
            [
                Author(id=1, name="Ann", code="ann"),
                Author(id=2, name="Bob", code="bob"),
                Author(id=3, name="Hidden", code="hid"),
            ],
        )
        seed(db, [Tag(id=1, label="sf"), Tag(id=2, label="classic")])
        views = (
            rest_view(view_base, Book, BookSchema, "/books", globals=g),
            rest_view(view_base, Book, MixedSchema, "/mixed", globals=g),
        )
        async with client_for(db, g, *views) as http:
            yield Api(http, db)


@pytest.fixture
def hidden_authors() -> Iterator[None]:
    """A row scope as a ``do_orm_execute`` listener would apply it: author 3 is invisible
    to every ORM query of every session while the test runs."""

    def scope(state: ORMExecuteState) -> None:
        if state.is_select:
            state.statement = state.statement.options(
                with_loader_criteria(Author, Author.name != "Hidden", include_aliases=True)
            )

    event.listen(Session, "do_orm_execute", scope)
    try:
        yield
    finally:
        event.remove(Session, "do_orm_execute", scope)


def lookups_of(counter: StatementCounter, table: str) -> list[str]:
    """The SELECTs reading ``table`` itself before the first write (checking references
    comes first; a response may load related rows afterwards)."""
    found = []
    for statement in counter.statements:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
            break
        if statement.lstrip().upper().startswith("SELECT") and f"FROM {table} " in f"{statement} ":
            found.append(statement)
    return found


# -- writes --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_existing_targets_are_written_as_scalars(api: Api) -> None:
    response = await api.http.post(
        "/books",
        json={"title": "Dune", "author_id": 1, "editor_id": 2, "tag_id": 2, "legacy_author": 1},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body == {
        "id": body["id"],
        "title": "Dune",
        "author_id": 1,
        "editor_id": 2,
        "tag_id": 2,
        "legacy_author": 1,
    }
    assert api.book(body["id"]) == ("Dune", 1, 2, 2)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"author_id": 99}, "Id not found for author_id: 99"),
        ({"author_id": 1, "editor_id": 98}, "Id not found for editor_id: 98"),
        ({"author_id": 1, "tag_id": 3}, "Id not found for tag_id: 3"),
        ({"author_id": 1, "legacy_author": 97}, "Id not found for legacy_author: 97"),
    ],
)
async def test_a_missing_target_is_404_like_a_missing_idref(
    api: Api, body: dict[str, Any], detail: str
) -> None:
    response = await api.http.post("/books", json={"title": "X", **body})
    assert response.status_code == 404, response.text
    assert response.json()["detail"] == detail
    assert api.book_count() == 0


@pytest.mark.anyio
async def test_none_is_accepted_for_a_nullable_foreign_key(api: Api) -> None:
    response = await api.http.post(
        "/books", json={"title": "X", "author_id": 1, "editor_id": None, "tag_id": None}
    )
    assert response.status_code == 201, response.text
    assert api.book(response.json()["id"]) == ("X", 1, None, None)


@pytest.mark.anyio
async def test_none_is_refused_for_a_required_foreign_key(api: Api) -> None:
    response = await api.http.post("/books", json={"title": "X", "author_id": None})
    assert response.status_code == 422, response.text
    assert api.book_count() == 0


@pytest.mark.anyio
async def test_update_checks_the_sent_targets(api: Api, view_base: type[Any]) -> None:
    created = (await api.http.post("/books", json={"title": "X", "author_id": 1})).json()
    react_admin = issubclass(view_base, (fr.ReactAdminView, fr.AsyncReactAdminView))
    update = api.http.put if react_admin else api.http.patch
    missing = await update(f"/books/{created['id']}", json={"title": "Y", "editor_id": 77})
    assert missing.status_code == 404, missing.text
    assert missing.json()["detail"] == "Id not found for editor_id: 77"
    assert api.book(created["id"]) == ("X", 1, None, None)
    changed = await update(f"/books/{created['id']}", json={"author_id": 2, "editor_id": 1})
    assert changed.status_code == 200, changed.text
    assert api.book(created["id"]) == ("X", 2, 1, None)
    cleared = await update(f"/books/{created['id']}", json={"editor_id": None})
    assert cleared.status_code == 200, cleared.text
    assert api.book(created["id"]) == ("X", 2, None, None)


@pytest.mark.anyio
async def test_an_update_without_the_field_checks_nothing(api: Api) -> None:
    created = (await api.http.post("/books", json={"title": "X", "author_id": 1})).json()
    async with StatementCounter(api.db) as counter:
        response = await api.http.patch(f"/books/{created['id']}", json={"title": "Y"})
    assert response.status_code == 200, response.text
    assert lookups_of(counter, "must_author") == []
    assert lookups_of(counter, "must_tag") == []
    assert api.book(created["id"]) == ("Y", 1, None, None)


@pytest.mark.anyio
async def test_a_hidden_target_answers_like_a_missing_one(api: Api, hidden_authors: None) -> None:
    column = await api.http.post("/books", json={"title": "X", "author_id": 3})
    assert column.status_code == 404, column.text
    assert column.json()["detail"] == "Id not found for author_id: 3"
    relationship = await api.http.post("/mixed", json={"title": "X", "author": 3})
    assert relationship.status_code == 404, relationship.text
    assert relationship.json()["detail"] == "Id not found for author: 3"
    listed = await api.http.post("/mixed", json={"title": "X", "author": 1, "translators": [2, 3]})
    assert listed.status_code == 404, listed.text
    assert listed.json()["detail"] == "Id not found for translators: 3"
    assert api.book_count() == 0
    visible = await api.http.post("/books", json={"title": "X", "author_id": 2})
    assert visible.status_code == 201, visible.text


# -- one query per referenced model -----------------------------------------------------


@pytest.mark.anyio
async def test_every_reference_to_one_model_is_checked_with_one_query(api: Api) -> None:
    async with StatementCounter(api.db) as counter:
        response = await api.http.post(
            "/mixed",
            json={"title": "M", "author": 1, "editor_id": 2, "translators": [3, 1], "tag_id": 2},
        )
    assert response.status_code == 201, response.text
    author_lookups = lookups_of(counter, "must_author")
    assert len(author_lookups) == 1, author_lookups  # author, editor_id and translators
    assert " IN " in author_lookups[0].upper()
    assert len(lookups_of(counter, "must_tag")) == 1
    stored = api.book(response.json()["id"])
    assert stored == ("M", 1, 2, 2)


@pytest.mark.anyio
async def test_the_first_field_with_a_missing_id_is_named(api: Api) -> None:
    async with StatementCounter(api.db) as counter:
        response = await api.http.post(
            "/mixed", json={"title": "M", "author": 1, "editor_id": 50, "translators": [51]}
        )
    assert response.status_code == 404, response.text
    assert response.json()["detail"] == "Id not found for editor_id: 50"
    assert len(lookups_of(counter, "must_author")) == 1
    assert api.book_count() == 0


@pytest.mark.anyio
async def test_a_relationship_and_a_must_exist_column_must_agree(
    api: Api, view_base: type[Any]
) -> None:
    class AgreeingSchema(fr.IDSchema):
        title: str
        author: fr.IDRef[Author]
        author_id: fr.MustExist[int] | None = None

    g = fr.FRGlobals()
    view = rest_view(view_base, Book, AgreeingSchema, "/agreeing", globals=g)
    async with client_for(api.db, g, view) as http:
        response = await http.post("/agreeing", json={"title": "X", "author": 1, "author_id": 2})
        assert response.status_code == 422, response.text
        agreeing = await http.post("/agreeing", json={"title": "X", "author": 2, "author_id": 2})
        assert agreeing.status_code == 201, agreeing.text
    assert api.book(agreeing.json()["id"]) == ("X", 2, None, None)


# -- OpenAPI -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_openapi_shows_the_scalar_type(api: Api) -> None:
    components = (await api.http.get("/openapi.json")).json()["components"]["schemas"]
    creation = components["BookCreate"]["properties"]
    assert creation["author_id"]["type"] == "integer"
    assert {"type": "null"} in creation["editor_id"]["anyOf"]
    assert all("$ref" not in member for member in creation["editor_id"]["anyOf"])
    assert components["BookSchema"]["properties"]["author_id"]["type"] == "integer"


# -- the type and its checks at class creation -------------------------------------------


def test_must_exist_is_the_written_type_at_runtime() -> None:
    class Schema(fr.BaseSchema):
        author_id: fr.MustExist[int, Author]
        editor_id: fr.MustExist[int] | None = None

    assert Schema(author_id=5).author_id == 5
    assert Schema.model_json_schema()["properties"]["author_id"] == {
        "title": "Author Id",
        "type": "integer",
    }
    assert fr.idref_target(Schema.model_fields["author_id"]) is None  # a plain column to lists


def test_must_exist_arguments_are_checked() -> None:
    unmapped = r"fr.MustExist\[...\] needs a mapped SQLAlchemy class; got 5"
    with pytest.raises(TypeError, match=unmapped):
        fr.MustExist[int, 5]
    with pytest.raises(TypeError, match="fr.MustExist takes a type and optionally a model"):
        fr.MustExist[int, Author, Tag]


def problems_of(field: str, annotation: Any) -> tuple[str, ...]:
    """The problems reported for a view of Book whose schema has an optional ``field``."""
    schema = create_model(
        "BadSchema", __base__=fr.IDSchema, title=(str, ...), **{field: (Optional[annotation], None)}
    )
    with pytest.raises(RestlyConfigurationError) as raised:
        rest_view(fr.AsyncRestView, Book, schema, "/bad", globals=fr.FRGlobals())
    return raised.value.problems


@pytest.mark.parametrize(
    ("field", "annotation", "problem"),
    [
        (
            "rating",
            fr.MustExist[int],
            "is fr.MustExist[int] but column Book.rating has no ForeignKey to take the target "
            "from; name the target: fr.MustExist[int, Target].",
        ),
        (
            "either_id",
            fr.MustExist[int],
            "is fr.MustExist[int] but column Book.either_id has 2 ForeignKeys "
            "(must_author.id, must_tag.id); name the target: fr.MustExist[int, Target].",
        ),
        (
            "unmapped_id",
            fr.MustExist[int],
            "is fr.MustExist[int] but column Book.unmapped_id references table "
            "'must_unmapped', which no class of Book's registry maps; map it, or name the "
            "target: fr.MustExist[int, Target].",
        ),
        (
            "nothing_id",
            fr.MustExist[int],
            "is fr.MustExist[int] but Book has no column 'nothing_id'; name the field after a "
            "foreign-key column of Book.",
        ),
        (
            "author",
            fr.MustExist[int],
            "is fr.MustExist[int] but Book.author is a relationship; use fr.IDRef[Author] for "
            "it, or name the field 'author_id' (its foreign-key column).",
        ),
        (
            "author_id",
            fr.MustExist[int, Tag],
            "is fr.MustExist[int, Tag] but column Book.author_id references must_author.id, "
            "not Tag; name the class the column references as the target.",
        ),
        (
            "author_id",
            fr.MustExist[str, Author],
            "is fr.MustExist[str, Author] but the primary key of Author is int; use "
            "fr.MustExist[int, Author].",
        ),
        (
            "author_code",
            fr.MustExist[str],
            "is fr.MustExist[str] but column Book.author_code references must_author.code, "
            "not the primary key of Author; fr.MustExist checks primary keys.",
        ),
        (
            "translators",
            list[fr.MustExist[int, Author]],
            "is a list of fr.MustExist[int, Author], which checks one foreign-key column; use "
            "list[fr.IDRef[Author]] on a to-many relationship.",
        ),
    ],
)
def test_an_unresolvable_target_is_a_configuration_error(
    field: str, annotation: Any, problem: str
) -> None:
    assert problems_of(field, annotation) == (
        f"BookView.schema field {field!r} {problem}",
    )


def test_the_error_message_names_the_class_and_the_fix() -> None:
    class RatedSchema(fr.IDSchema):
        title: str
        rating: fr.MustExist[int] | None = None

    with pytest.raises(RestlyConfigurationError) as raised:
        rest_view(fr.RestView, Book, RatedSchema, "/rated", globals=fr.FRGlobals())
    assert str(raised.value) == (
        "BookView is misconfigured (1 problem):\n"
        "  - BookView.schema field 'rating' is fr.MustExist[int] but column Book.rating has "
        "no ForeignKey to take the target from; name the target: fr.MustExist[int, Target]."
    )


def test_a_declared_update_schema_is_checked_too() -> None:
    class BookUpdateSchema(fr.BaseSchema):
        rating: fr.MustExist[int] | None = None

    with pytest.raises(RestlyConfigurationError) as raised:
        rest_view(
            fr.AsyncRestView, Book, BookSchema, "/bad", globals=fr.FRGlobals(),
            update_schema=BookUpdateSchema,
        )
    assert raised.value.problems == (
        "BookView.update_schema field 'rating' is fr.MustExist[int] but column Book.rating "
        "has no ForeignKey to take the target from; name the target: "
        "fr.MustExist[int, Target].",
    )


def test_a_schema_no_view_checked_raises_when_written(tmp_path: Any) -> None:
    from sqlalchemy import create_engine

    class Unchecked(fr.BaseSchema):
        title: str
        author_id: int
        rating: fr.MustExist[int] | None = None

    engine = create_engine(f"sqlite:///{tmp_path / 'unchecked.sqlite3'}")
    try:
        with Session(engine) as session, pytest.raises(RestlyConfigurationError) as raised:
            fr.make_new_object(session, Book, Unchecked(title="T", author_id=1, rating=1))
        assert str(raised.value).startswith("Unchecked field 'rating' is fr.MustExist[int] but")
    finally:
        engine.dispose()
