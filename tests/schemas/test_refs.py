"""References over HTTP: ``fr.IDRef[Model]``, lists of them and ``fr.IDSchema[Model]``.

Every HTTP test runs with sync (``fr.RestView``) and async (``fr.AsyncRestView``) views on
SQLite and PostgreSQL::

    class BookSchema(fr.IDSchema):
        author: fr.IDRef[Author]           # POST {"author": 1}  or  {"author": {"id": 1}}
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Optional

import httpx
import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy import Column, ForeignKey, String, Table, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

import restly as fr
from ..relations_support import Database, StatementCounter, client_for, rest_view, seed, tables
from restly.exc import RestlyConfigurationError
from restly.schemas import RefTarget


class Base(DeclarativeBase):
    pass


book_tags = Table(
    "refs_book_tag",
    Base.metadata,
    Column("book_id", ForeignKey("refs_book.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("refs_tag.id", ondelete="CASCADE"), primary_key=True),
)


class Author(Base):
    __tablename__ = "refs_author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class Tag(Base):
    __tablename__ = "refs_tag"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(50))


class Book(Base):
    __tablename__ = "refs_book"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    author_id: Mapped[int] = mapped_column(ForeignKey("refs_author.id"))
    author: Mapped[Author] = relationship(foreign_keys=[author_id])
    editor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("refs_author.id"))
    tags: Mapped[list[Tag]] = relationship(secondary=book_tags, order_by=Tag.id)


class Shelf(Base):
    __tablename__ = "refs_shelf"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(50))


class Slot(Base):
    __tablename__ = "refs_slot"
    id: Mapped[int] = mapped_column(primary_key=True)
    shelf_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("refs_shelf.id"))
    shelf: Mapped[Shelf] = relationship()


SHELF_ID = uuid.UUID("8a8e2b3c-1f6f-4d59-9a55-3c3f3e1e0b01")


class SlotSchema(fr.IDSchema):
    shelf: fr.IDRef[Shelf]


class BookSchema(fr.IDSchema):
    title: str
    author: fr.IDRef[Author]
    author_id: Optional[int] = None
    editor_id: Optional[fr.IDRef[Author]] = None
    tags: list[fr.IDRef[Tag]] = []


class QuietBookSchema(fr.IDSchema):
    title: str
    author_id: fr.IDRef[Author]
    tags: fr.WriteOnly[list[fr.IDRef[Tag]]] = []


class NestedBookSchema(fr.IDSchema):
    title: str
    author: fr.IDSchema[Author]
    tags: list[fr.IDSchema[Tag]] = []


@dataclass
class Api:
    http: httpx.AsyncClient
    db: Database

    def book(self, book_id: int) -> tuple[str, int, Optional[int], list[int]] | None:
        """``(title, author_id, editor_id, tag ids)`` of a stored book, read directly."""
        with Session(self.db.engine) as session:
            book = session.get(Book, book_id)
            if book is None:
                return None
            return book.title, book.author_id, book.editor_id, [tag.id for tag in book.tags]

    def book_count(self) -> int:
        with Session(self.db.engine) as session:
            return len(session.scalars(select(Book.id)).all())


@pytest.fixture(params=["sync", "async"])
def view_base(request: pytest.FixtureRequest) -> type[Any]:
    return fr.RestView if request.param == "sync" else fr.AsyncRestView


@pytest.fixture
async def api(db_urls: Any, view_base: type[Any]) -> AsyncIterator[Api]:
    """Two authors (1, 2), three tags (1, 2, 3), and views /books and /nested-books."""
    g = fr.FRGlobals()
    async with tables(db_urls, Base.metadata) as db:
        seed(db, [Author(id=1, name="Ann"), Author(id=2, name="Bob")])
        seed(db, [Tag(id=1, label="sf"), Tag(id=2, label="classic"), Tag(id=3, label="new")])
        seed(db, [Shelf(id=SHELF_ID, name="top")])
        views = (
            rest_view(view_base, Book, BookSchema, "/books", globals=g),
            rest_view(view_base, Slot, SlotSchema, "/slots", globals=g),
            rest_view(view_base, Book, QuietBookSchema, "/quiet-books", globals=g),
            rest_view(view_base, Book, NestedBookSchema, "/nested-books", globals=g),
        )
        async with client_for(db, g, *views) as http:
            yield Api(http, db)


def detail(response: httpx.Response) -> Any:
    return response.json()["detail"]


# -- scalar and list references ----------------------------------------------------------


@pytest.mark.anyio
async def test_create_with_scalar_ids_answers_ids(api: Api) -> None:
    response = await api.http.post(
        "/books", json={"title": "Dune", "author": 1, "editor_id": 2, "tags": [2, 1]}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body == {
        "id": body["id"],
        "title": "Dune",
        "author": 1,
        "author_id": 1,
        "editor_id": 2,
        "tags": [1, 2],
    }
    assert api.book(body["id"]) == ("Dune", 1, 2, [1, 2])
    fetched = await api.http.get(f"/books/{body['id']}")
    assert fetched.json() == body


@pytest.mark.anyio
async def test_create_accepts_the_object_form(api: Api) -> None:
    response = await api.http.post(
        "/books",
        json={"title": "Emma", "author": {"id": 2}, "editor_id": {"id": 1}, "tags": [{"id": 3}, 1]},
    )
    assert response.status_code == 201, response.text
    assert response.json()["author"] == 2
    assert api.book(response.json()["id"]) == ("Emma", 2, 1, [1, 3])


@pytest.mark.anyio
async def test_repeated_ids_in_a_list_are_stored_once(api: Api) -> None:
    response = await api.http.post("/books", json={"title": "Dup", "author": 1, "tags": [3, 3, 3]})
    assert response.status_code == 201, response.text
    assert response.json()["tags"] == [3]


@pytest.mark.anyio
async def test_list_shows_references_as_ids(api: Api) -> None:
    await api.http.post("/books", json={"title": "A", "author": 1, "tags": [1]})
    await api.http.post("/books", json={"title": "B", "author": 2})
    response = await api.http.get("/books")
    assert response.status_code == 200
    assert [(b["title"], b["author"], b["tags"]) for b in response.json()] == [
        ("A", 1, [1]),
        ("B", 2, []),
    ]


@pytest.mark.anyio
async def test_missing_author_is_404_naming_field_and_id(api: Api) -> None:
    response = await api.http.post("/books", json={"title": "X", "author": 999})
    assert response.status_code == 404
    assert response.json() == {"detail": "Id not found for author: 999"}
    assert api.book_count() == 0


@pytest.mark.anyio
async def test_missing_column_reference_is_404(api: Api) -> None:
    response = await api.http.post("/books", json={"title": "X", "author": 1, "editor_id": 77})
    assert response.status_code == 404
    assert response.json() == {"detail": "Id not found for editor_id: 77"}
    assert api.book_count() == 0


@pytest.mark.anyio
async def test_missing_ids_in_a_list_are_404_naming_them(api: Api) -> None:
    one = await api.http.post("/books", json={"title": "X", "author": 1, "tags": [1, 999]})
    assert one.status_code == 404
    assert one.json() == {"detail": "Id not found for tags: 999"}
    several = await api.http.post("/books", json={"title": "X", "author": 1, "tags": [998, 2, 999]})
    assert several.status_code == 404
    assert several.json() == {"detail": "Ids not found for tags: 998, 999"}
    assert api.book_count() == 0


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body",
    [
        {"author": 2**31},
        {"author": -(2**31) - 1},
        {"author": {"id": 2**31}},
        {"author": 10**30},
        {"author": "one"},
        {"author": {"key": 1}},
        {"author": None},
        {"author": 1, "editor_id": 2**63},
        {"author": 1, "tags": [1, 2**31]},
        {"author": 1, "tags": [{"id": 2**40}]},
    ],
)
async def test_invalid_or_out_of_range_ids_are_422(api: Api, body: dict[str, Any]) -> None:
    response = await api.http.post("/books", json={"title": "X", **body})
    assert response.status_code == 422, response.text
    assert api.book_count() == 0


@pytest.mark.anyio
async def test_disagreeing_relationship_and_fk_column_are_422(api: Api) -> None:
    response = await api.http.post("/books", json={"title": "X", "author": 1, "author_id": 2})
    assert response.status_code == 422
    (error,) = detail(response)
    assert error["loc"] == ["body", "author"]
    assert error["msg"] == "Value error, author (1) and author_id (2) disagree; send one of them"
    assert api.book_count() == 0


@pytest.mark.anyio
async def test_agreeing_relationship_and_fk_column_are_accepted(api: Api) -> None:
    response = await api.http.post("/books", json={"title": "X", "author": {"id": 2}, "author_id": 2})
    assert response.status_code == 201, response.text
    assert response.json()["author"] == 2


@pytest.mark.anyio
async def test_update_replaces_references(api: Api) -> None:
    created = (await api.http.post("/books", json={"title": "X", "author": 1, "tags": [1, 2]})).json()
    response = await api.http.patch(
        f"/books/{created['id']}", json={"author": 2, "editor_id": 1, "tags": [{"id": 3}]}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["author"], response.json()["author_id"], response.json()["tags"]) == (
        2,
        2,
        [3],
    )
    assert api.book(created["id"]) == ("X", 2, 1, [3])
    cleared = await api.http.patch(f"/books/{created['id']}", json={"editor_id": None, "tags": []})
    assert cleared.status_code == 200, cleared.text
    assert api.book(created["id"]) == ("X", 2, None, [])


@pytest.mark.anyio
async def test_update_with_missing_id_is_404_and_changes_nothing(api: Api) -> None:
    created = (await api.http.post("/books", json={"title": "X", "author": 1, "tags": [1]})).json()
    response = await api.http.patch(f"/books/{created['id']}", json={"title": "Y", "tags": [2, 404]})
    assert response.status_code == 404
    assert response.json() == {"detail": "Id not found for tags: 404"}
    assert api.book(created["id"]) == ("X", 1, None, [1])


@pytest.mark.anyio
async def test_update_with_disagreeing_fields_is_422(api: Api) -> None:
    created = (await api.http.post("/books", json={"title": "X", "author": 1})).json()
    response = await api.http.patch(f"/books/{created['id']}", json={"author": 2, "author_id": 1})
    assert response.status_code == 422
    assert api.book(created["id"]) == ("X", 1, None, [])


@pytest.mark.anyio
async def test_references_cost_one_query_per_referenced_model(api: Api) -> None:
    async with StatementCounter(api.db) as counter:
        response = await api.http.post(
            "/books", json={"title": "X", "author": 1, "editor_id": 2, "tags": [1, 2, 3]}
        )
    assert response.status_code == 201, response.text
    first_insert = next(
        i for i, s in enumerate(counter.statements) if s.lstrip().upper().startswith("INSERT")
    )
    lookups = counter.statements[:first_insert]  # resolving happens before writing
    author_lookups = [s for s in lookups if "FROM refs_author" in s]
    tag_lookups = [s for s in lookups if "FROM refs_tag" in s and "refs_book_tag" not in s]
    assert len(lookups) == 2
    assert len(author_lookups) == 1  # author and editor_id: one IN query for both ids
    assert len(tag_lookups) == 1  # one IN query for the whole list
    assert all(" IN " in s.upper() for s in lookups)


@pytest.mark.anyio
async def test_uuid_primary_keys_are_referenced_by_uuid(api: Api) -> None:
    created = await api.http.post("/slots", json={"shelf": str(SHELF_ID)})
    assert created.status_code == 201, created.text
    assert created.json()["shelf"] == str(SHELF_ID)
    other = uuid.UUID(int=7)
    missing = await api.http.post("/slots", json={"shelf": {"id": str(other)}})
    assert missing.status_code == 404
    assert missing.json() == {"detail": f"Id not found for shelf: {other}"}
    invalid = await api.http.post("/slots", json={"shelf": "not-a-uuid"})
    assert invalid.status_code == 422


@pytest.mark.anyio
async def test_replacing_a_collection_the_response_does_not_show(api: Api) -> None:
    # The view never loads tags (write-only), so replacing them must load the old ones.
    created = await api.http.post("/quiet-books", json={"title": "Q", "author_id": 1, "tags": [1, 2]})
    assert created.status_code == 201, created.text
    assert created.json() == {"id": created.json()["id"], "title": "Q", "author_id": 1}
    patched = await api.http.patch(f"/quiet-books/{created.json()['id']}", json={"tags": [3]})
    assert patched.status_code == 200, patched.text
    assert api.book(created.json()["id"]) == ("Q", 1, None, [3])


# -- IDSchema[Model]: the nested form ----------------------------------------------------


@pytest.mark.anyio
async def test_id_schema_form_in_and_out(api: Api) -> None:
    response = await api.http.post(
        "/nested-books", json={"title": "N", "author": {"id": 2}, "tags": [{"id": 1}, {"id": 3}]}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body == {"id": body["id"], "title": "N", "author": {"id": 2}, "tags": [{"id": 1}, {"id": 3}]}
    assert api.book(body["id"]) == ("N", 2, None, [1, 3])
    assert (await api.http.get("/nested-books")).json() == [body]
    patched = await api.http.patch(f"/nested-books/{body['id']}", json={"author": {"id": 1}})
    assert patched.json()["author"] == {"id": 1}


@pytest.mark.anyio
async def test_id_schema_form_missing_and_invalid_ids(api: Api) -> None:
    missing = await api.http.post("/nested-books", json={"title": "N", "author": {"id": 5}})
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Id not found for author: 5"}
    out_of_range = await api.http.post("/nested-books", json={"title": "N", "author": {"id": 2**31}})
    assert out_of_range.status_code == 422
    scalar = await api.http.post("/nested-books", json={"title": "N", "author": 1})
    assert scalar.status_code == 422


# -- OpenAPI -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_openapi_documents_both_input_forms_and_the_id_output(api: Api) -> None:
    components = (await api.http.get("/openapi.json")).json()["components"]["schemas"]
    creation = components["BookCreate"]["properties"]["author"]
    assert {"type": "integer", "maximum": 2**31 - 1, "minimum": -(2**31)} in creation["anyOf"]
    assert {"$ref": "#/components/schemas/IDSchema_Author_"} in creation["anyOf"]
    response_author = components["BookSchema"]["properties"]["author"]
    assert response_author["type"] == "integer"


# -- the schema-level API ----------------------------------------------------------------


def test_idref_is_the_primary_key_type_with_its_range() -> None:
    class Schema(BaseModel):
        author: fr.IDRef[Author]

    assert Schema(author={"id": 3}).author == 3
    book = Book(id=1, title="t", author=Author(id=4, name="x"))
    assert Schema.model_validate(book, from_attributes=True).author == 4
    with pytest.raises(ValidationError):
        Schema(author=2**31)


def test_idref_target_describes_every_reference_form() -> None:
    fields = {**BookSchema.model_fields, **NestedBookSchema.model_fields}
    assert fr.idref_target(BookSchema.model_fields["author"]) == RefTarget(Author, int)
    assert fr.idref_target(BookSchema.model_fields["editor_id"]) == (Author, int)
    assert fr.idref_target(BookSchema.model_fields["tags"]) == (Tag, int)
    assert fr.idref_target(NestedBookSchema.model_fields["author"]) == (Author, int)
    assert fr.idref_target(NestedBookSchema.model_fields["tags"]) == (Tag, int)
    assert fr.idref_target(fr.IDRef[Tag]) == (Tag, int)
    assert fr.idref_target(fields["title"]) is None
    assert fr.idref_target(BookSchema.model_fields["author_id"]) is None


def test_id_schema_of_a_model_is_built_once() -> None:
    assert fr.IDSchema[Author] is fr.IDSchema[Author]
    assert fr.IDSchema[Author].model_validate({"id": 7}).id == 7
    assert issubclass(fr.IDSchema[Author], fr.IDSchema)


def test_idref_of_something_unmapped_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"fr.IDRef\[...\] needs a mapped SQLAlchemy class; got 5"):
        fr.IDRef[5]


def test_reference_to_the_wrong_model_is_a_configuration_error() -> None:
    class WrongSchema(fr.IDSchema):
        title: str
        author: fr.IDRef[Tag]

    with pytest.raises(RestlyConfigurationError) as raised:
        rest_view(fr.AsyncRestView, Book, WrongSchema, "/wrong", globals=fr.FRGlobals())
    assert str(raised.value) == (
        "BookView is misconfigured (1 problem):\n"
        "  - BookView.schema field 'author' references Tag but Book.author relates to "
        "Author; use fr.IDRef[Author]."
    )


def test_single_versus_list_mismatch_is_a_configuration_error() -> None:
    class MismatchSchema(fr.IDSchema):
        title: str
        author: list[fr.IDRef[Author]]
        tags: fr.IDRef[Tag]
        editor_id: list[fr.IDRef[Author]] = []

    with pytest.raises(RestlyConfigurationError) as raised:
        rest_view(fr.RestView, Book, MismatchSchema, "/wrong", globals=fr.FRGlobals())
    assert raised.value.problems == (
        "BookView.schema field 'author' is list[fr.IDRef[Author]] but Book.author is a "
        "many-to-one relationship; use fr.IDRef[Author].",
        "BookView.schema field 'tags' is fr.IDRef[Tag] but Book.tags is a to-many "
        "relationship; use list[fr.IDRef[Tag]].",
        "BookView.schema field 'editor_id' is list[fr.IDRef[Author]] but Book.editor_id is a "
        "column, which holds one id; use fr.IDRef[Author], or name the to-many relationship.",
    )


def test_free_helper_resolves_references_with_a_sync_session(tmp_path: Any) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'helper.sqlite3'}")
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            session.add_all([Author(id=1, name="Ann"), Tag(id=1, label="sf")])
            session.flush()
            creation = fr.schemas.creation_schema_for(BookSchema)
            schema_obj = creation.model_validate({"title": "T", "author": 1, "tags": [1]})
            book = fr.make_new_object(session, Book, schema_obj)
            assert book.author.name == "Ann"
            assert [tag.label for tag in book.tags] == ["sf"]
            fr.save_object(session, book)
            assert book.author_id == 1
    finally:
        engine.dispose()


def test_declared_creation_schema_references_are_checked() -> None:
    class BookCreateSchema(fr.BaseSchema):
        title: str
        author: fr.IDRef[Tag]

    with pytest.raises(RestlyConfigurationError) as raised:
        rest_view(
            fr.AsyncRestView, Book, BookSchema, "/wrong", globals=fr.FRGlobals(),
            creation_schema=BookCreateSchema,
        )
    assert raised.value.problems == (
        "BookView.creation_schema field 'author' references Tag but Book.author relates to "
        "Author; use fr.IDRef[Author].",
    )


def test_reference_fields_point_at_the_mounted_view_in_openapi() -> None:
    from fastapi import FastAPI

    g = fr.FRGlobals()
    app = FastAPI()
    fr.include_view(app, rest_view(fr.AsyncRestView, Book, BookSchema, "/books", globals=g))
    fr.include_view(app, rest_view(fr.AsyncRestView, Author, None, "/library/authors", globals=g))
    properties = app.openapi()["components"]["schemas"]["BookCreate"]["properties"]
    assert properties["author"]["x-resource-ref"] == "/library/authors"
    assert "x-resource-ref" not in properties["title"]
