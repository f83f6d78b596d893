"""PATCH as one ``UPDATE … RETURNING`` and DELETE as one ``DELETE … RETURNING``, where
nothing needs the row before the write — and the ORM path wherever something does (a hook,
a validator, a timestamp, a flush listener, children to detach), on every backend."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import ForeignKey, String, event, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, validates

import restly as fr
from tests.statements_support import recording, whole

pytestmark = pytest.mark.anyio


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "sw_note"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(50), unique=True)
    stars: Mapped[int] = mapped_column(default=0)
    owner: Mapped[str] = mapped_column(String(20), default="ann")


class Shouted(Base):
    """A model with a validator: the ORM must see every value set."""

    __tablename__ = "sw_shouted"
    id: Mapped[int] = mapped_column(primary_key=True)
    word: Mapped[str] = mapped_column(String(50))

    @validates("word")
    def _upper(self, _key: str, value: str) -> str:
        return value.upper()


class Stamped(fr.TimestampsMixin, Base):
    __tablename__ = "sw_stamped"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(50))


class Slugged(Base):
    """A model with a constructor of its own: the ORM must build every new row."""

    __tablename__ = "sw_slugged"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(50))
    slug: Mapped[str | None] = mapped_column(String(50))

    def __init__(self, **values: Any) -> None:
        values.setdefault("slug", values["title"].lower().replace(" ", "-"))
        super().__init__(**values)


class Counted(Base):
    """A version counter: a PATCH with If-Match checks the version in its UPDATE."""

    __tablename__ = "sw_counted"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(50))
    stars: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(nullable=False)
    __mapper_args__ = {"version_id_col": version}


class Customer(Base):
    __tablename__ = "sw_customer"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    orders: Mapped[list[Order]] = relationship(back_populates="customer")


class Order(Base):
    __tablename__ = "sw_order"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("sw_customer.id"))
    customer: Mapped[Customer] = relationship(back_populates="orders")


class Country(Base):
    """Referenced by a foreign key without a relationship: the database refuses the delete."""

    __tablename__ = "sw_country"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class City(Base):
    __tablename__ = "sw_city"
    id: Mapped[int] = mapped_column(primary_key=True)
    country_id: Mapped[int] = mapped_column(ForeignKey("sw_country.id"))


class Shelf(Base):
    __tablename__ = "sw_shelf"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    items: Mapped[list[Item]] = relationship(back_populates="shelf")


class Item(Base):
    __tablename__ = "sw_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    shelf_id: Mapped[int | None] = mapped_column(ForeignKey("sw_shelf.id"))
    shelf: Mapped[Shelf | None] = relationship(back_populates="items")


@pytest.fixture(params=["async", "sync"])
def view_base(request: pytest.FixtureRequest) -> type:
    return fr.AsyncRestView if request.param == "async" else fr.RestView


@pytest.fixture
def client_for(database: Any, client_for: Callable[..., httpx.AsyncClient]) -> Any:
    return client_for


@pytest.fixture
def statements(fr_globals: fr.FRGlobals) -> Iterator[list[str]]:
    """The statements sent to the database while the test runs, as their first word."""
    with recording(fr_globals) as sent:
        yield sent


def app_for(view_base: type, model: type, prefix: str, **options: Any) -> FastAPI:
    app = FastAPI()
    fr.include_view(app, type(f"{model.__name__}View", (view_base,), {"prefix": prefix, "model": model, **options}))
    return app


def rows(fr_globals: fr.FRGlobals, statement: Any) -> list[Any]:
    with Session(fr_globals.get_engine()) as session:
        return list(session.execute(statement).all())


async def test_create_is_one_insert_returning_the_row(
    view_base: type, client_for: Any, statements: list[str], fr_globals: fr.FRGlobals
) -> None:
    client = client_for(app_for(view_base, Note, "/notes"))
    response = await client.post("/notes", json={"title": "a"})
    assert response.status_code == 201
    body = response.json()
    assert body == {"id": body["id"], "title": "a", "stars": 0, "owner": "ann"}  # defaults
    assert response.headers["Location"].endswith(f"/notes/{body['id']}")
    assert statements == ["INSERT"]
    assert rows(fr_globals, select(Note.id, Note.title)) == [(body["id"], "a")]
    minimal = await client.post("/notes", json={"title": "b"}, headers={"Prefer": "return=minimal"})
    assert minimal.status_code == 201 and minimal.content == b""
    assert minimal.headers["Location"].endswith(f"/notes/{body['id'] + 1}")


async def test_a_constructor_of_the_models_own_builds_every_new_row(
    view_base: type, client_for: Any
) -> None:
    client = client_for(app_for(view_base, Slugged, "/slugged"))
    assert (await client.post("/slugged", json={"title": "Hello World"})).json()["slug"] == "hello-world"


async def test_patch_is_one_update_returning_the_row_as_written(
    view_base: type, client_for: Any, statements: list[str], fr_globals: fr.FRGlobals, database: Any
) -> None:
    client = client_for(app_for(view_base, Note, "/notes"))
    note = (await client.post("/notes", json={"title": "a", "stars": 1})).json()
    statements.clear()
    response = await client.patch(f"/notes/{note['id']}", json={"stars": 5})
    assert response.status_code == 200
    assert response.json() == {**note, "stars": 5}
    single = database.dialect != "mariadb"  # MariaDB has no UPDATE ... RETURNING
    assert statements == (["UPDATE"] if single else ["SELECT", "UPDATE"])
    assert rows(fr_globals, select(Note.stars)) == [(5,)]
    # an empty PATCH changes nothing: it reads the row and answers it
    assert (await client.patch(f"/notes/{note['id']}", json={})).json()["stars"] == 5


async def test_a_missing_row_is_404_and_nothing_changes(
    view_base: type, client_for: Any, fr_globals: fr.FRGlobals
) -> None:
    client = client_for(app_for(view_base, Note, "/notes"))
    await client.post("/notes", json={"title": "a"})
    assert (await client.patch("/notes/999", json={"stars": 5})).status_code == 404
    assert (await client.delete("/notes/999")).status_code == 404
    assert rows(fr_globals, select(Note.title, Note.stars)) == [("a", 0)]


async def test_a_unique_violation_is_409_and_rolls_back(
    view_base: type, client_for: Any, fr_globals: fr.FRGlobals
) -> None:
    client = client_for(app_for(view_base, Note, "/notes"))
    await client.post("/notes", json={"title": "a"})
    second = (await client.post("/notes", json={"title": "b"})).json()
    response = await client.patch(f"/notes/{second['id']}", json={"title": "a", "stars": 3})
    assert response.status_code == 409
    assert "title" in response.json()["detail"] and "UPDATE" not in response.text
    assert sorted(rows(fr_globals, select(Note.title, Note.stars))) == [("a", 0), ("b", 0)]


async def test_delete_is_one_statement_and_the_row_is_gone(
    view_base: type, client_for: Any, statements: list[str], fr_globals: fr.FRGlobals
) -> None:
    client = client_for(app_for(view_base, Note, "/notes"))
    note = (await client.post("/notes", json={"title": "a"})).json()
    statements.clear()
    assert (await client.delete(f"/notes/{note['id']}")).status_code == 204
    assert statements == ["DELETE"]
    assert rows(fr_globals, select(Note.id)) == []
    assert (await client.delete(f"/notes/{note['id']}")).status_code == 404


async def test_a_row_scope_hides_rows_from_the_single_statements(
    view_base: type, client_for: Any, fr_globals: fr.FRGlobals
) -> None:
    with Session(fr_globals.get_engine()) as session:
        session.add_all([Note(title="mine", owner="ann"), Note(title="theirs", owner="bob")])
        session.commit()
        mine, theirs = session.scalars(select(Note.id).order_by(Note.id)).all()

    @fr.scope(Note)
    def only_ann() -> Any:
        return Note.owner == "ann"

    client = client_for(app_for(view_base, Note, "/notes"))
    assert (await client.patch(f"/notes/{theirs}", json={"stars": 9})).status_code == 404
    assert (await client.delete(f"/notes/{theirs}")).status_code == 404
    assert (await client.patch(f"/notes/{mine}", json={"stars": 2})).json()["stars"] == 2
    assert sorted(rows(fr_globals, select(Note.title, Note.stars))) == [("mine", 2), ("theirs", 0)]


async def test_concurrent_deletes_of_one_row_answer_204_once(
    view_base: type, client_for: Any, fr_globals: fr.FRGlobals
) -> None:
    client = client_for(app_for(view_base, Note, "/notes"))
    note = (await client.post("/notes", json={"title": "a"})).json()
    answers = await asyncio.gather(*(client.delete(f"/notes/{note['id']}") for _ in range(4)))
    assert sorted(answer.status_code for answer in answers) == [204, 404, 404, 404]


async def test_a_validator_keeps_the_orm_path(
    view_base: type, client_for: Any, statements: list[str]
) -> None:
    client = client_for(app_for(view_base, Shouted, "/shouted"))
    word = (await client.post("/shouted", json={"word": "hi"})).json()
    statements.clear()
    assert (await client.patch(f"/shouted/{word['id']}", json={"word": "hey"})).json()["word"] == "HEY"
    assert statements[0] == "SELECT"


async def test_an_unchanged_patch_leaves_updated_at_alone(
    view_base: type, client_for: Any
) -> None:
    """``onupdate`` timestamps move only when the ORM writes a change, so the view keeps it."""
    client = client_for(app_for(view_base, Stamped, "/stamped"))
    created = (await client.post("/stamped", json={"label": "x"})).json()
    same = (await client.patch(f"/stamped/{created['id']}", json={"label": "x"})).json()
    assert same["updated_at"] == created["updated_at"]
    changed = (await client.patch(f"/stamped/{created['id']}", json={"label": "y"})).json()
    assert datetime.fromisoformat(changed["updated_at"]) > datetime.fromisoformat(created["updated_at"])


@contextmanager
def listening(target: Any, name: str, listener: Callable[..., None]) -> Iterator[None]:
    event.listen(target, name, listener)
    try:
        yield
    finally:
        event.remove(target, name, listener)


async def test_flush_and_mapper_listeners_added_later_are_still_called(
    view_base: type, client_for: Any
) -> None:
    """Listeners registered after the view class was created: the writes take the ORM path
    that calls them (an audit ``before_flush``, a ``before_update`` mapper event)."""
    client = client_for(app_for(view_base, Note, "/notes"))
    note = (await client.post("/notes", json={"title": "a"})).json()
    flushed: list[str] = []
    with listening(Session, "before_flush", lambda *_: flushed.append("flush")):
        assert (await client.patch(f"/notes/{note['id']}", json={"stars": 1})).status_code == 200
    assert flushed == ["flush"]
    inserted: list[str] = []
    with listening(Note, "before_insert", lambda _m, _c, target: inserted.append(target.title)):
        assert (await client.post("/notes", json={"title": "b"})).status_code == 201
    assert inserted == ["b"]
    updated: list[int] = []
    with listening(Note, "before_update", lambda _m, _c, target: updated.append(target.stars)):
        assert (await client.patch(f"/notes/{note['id']}", json={"stars": 2})).status_code == 200
    assert updated == [2]
    deleted: list[int] = []
    with listening(Note, "before_delete", lambda _m, _c, target: deleted.append(target.id)):
        assert (await client.delete(f"/notes/{note['id']}")).status_code == 204
    assert deleted == [note["id"]]


async def test_deleting_a_parent_detaches_its_children_as_the_orm_does(
    view_base: type, client_for: Any, fr_globals: fr.FRGlobals
) -> None:
    client = client_for(app_for(view_base, Shelf, "/shelves"))
    shelf = (await client.post("/shelves", json={"name": "top"})).json()
    with Session(fr_globals.get_engine()) as session:
        session.add(Item(shelf_id=shelf["id"]))
        session.commit()
    assert (await client.delete(f"/shelves/{shelf['id']}")).status_code == 204
    assert rows(fr_globals, select(Item.shelf_id)) == [(None,)]


async def test_hooks_and_etags_keep_the_read_before_the_write(
    view_base: type, client_for: Any, statements: list[str]
) -> None:
    seen: list[Any] = []

    def before_action_commit(self: Any, action: str, new: Any, old: Any = None) -> None:
        seen.append((action, old and old["stars"], new.stars))

    async def async_before_action_commit(self: Any, action: str, new: Any, old: Any = None) -> None:
        before_action_commit(self, action, new, old)

    hook = async_before_action_commit if view_base is fr.AsyncRestView else before_action_commit
    client = client_for(app_for(view_base, Note, "/notes", before_action_commit=hook))
    note = (await client.post("/notes", json={"title": "a"})).json()
    assert (await client.patch(f"/notes/{note['id']}", json={"stars": 4})).status_code == 200
    assert seen[-1] == ("update", 0, 4)
    tagged = client_for(app_for(view_base, Note, "/tagged", etag=True))
    statements.clear()
    current = await tagged.get(f"/tagged/{note['id']}")
    patched = await tagged.patch(
        f"/tagged/{note['id']}", json={"stars": 6}, headers={"If-Match": current.headers["ETag"]}
    )
    assert patched.status_code == 200 and patched.headers["ETag"] != current.headers["ETag"]


@pytest.mark.parametrize(("parent", "child", "prefix"), [(Customer, Order, "/customers"), (Country, City, "/countries")])
async def test_deleting_a_row_others_still_reference_is_409_naming_them(
    view_base: type, client_for: Any, fr_globals: fr.FRGlobals, parent: type, child: type, prefix: str
) -> None:
    """With a relationship the ORM sets the children's required key to NULL; without one the
    database refuses: either way the client learns which rows hold on, and nothing changes."""
    client = client_for(app_for(view_base, parent, prefix))
    row = (await client.post(prefix, json={"name": "x"})).json()
    key = "customer_id" if child is Order else "country_id"
    with Session(fr_globals.get_engine()) as session:
        session.add(child(**{key: row["id"]}))
        session.commit()
    response = await client.delete(f"{prefix}/{row['id']}")
    assert response.status_code == 409, response.text
    assert response.json()["detail"] == f"Cannot delete: rows of {child.__tablename__} still reference it"
    assert rows(fr_globals, select(parent.id)) == [(row["id"],)]
    assert rows(fr_globals, select(getattr(child, key))) == [(row["id"],)]


async def test_an_etag_view_writes_in_one_statement_without_preconditions(
    view_base: type, client_for: Any, statements: list[str], fr_globals: fr.FRGlobals, database: Any
) -> None:
    """Digest tags (``etag = True``, no version counter): a create, a PATCH and a DELETE sent
    without ``If-Match``/``If-None-Match`` need no old row; each answers the tag ``GET``
    answers for the row written."""
    client = client_for(app_for(view_base, Note, "/notes", etag=True))
    created = await client.post("/notes", json={"title": "a", "stars": 1})
    assert created.status_code == 201 and statements == ["INSERT"]
    path = f"/notes/{created.json()['id']}"
    assert (await client.get(path)).headers["ETag"] == created.headers["ETag"]
    statements.clear()
    patched = await client.patch(path, json={"stars": 5})
    assert patched.status_code == 200 and patched.json()["stars"] == 5
    single = database.dialect != "mariadb"  # MariaDB has no UPDATE ... RETURNING
    assert statements == (["UPDATE"] if single else ["SELECT", "UPDATE"])
    assert patched.headers["ETag"] not in (None, created.headers["ETag"])
    assert (await client.get(path)).headers["ETag"] == patched.headers["ETag"]
    assert (await client.patch(path, json={"stars": 6}, headers={"If-Match": patched.headers["ETag"]})).status_code == 200
    assert (await client.patch(path, json={"stars": 7}, headers={"If-Match": patched.headers["ETag"]})).status_code == 412
    statements.clear()
    assert (await client.delete(path)).status_code == 204
    assert statements == ["DELETE"]
    assert (await client.patch(path, json={"stars": 1})).status_code == 404
    assert rows(fr_globals, select(Note.id)) == []


async def test_an_etag_view_reads_the_row_locked_first_when_a_precondition_is_sent(
    view_base: type, client_for: Any, statements: list[str], database: Any
) -> None:
    """With ``If-Match`` or ``If-None-Match`` (or ``require_if_match``) the row is read,
    locked, before the write: the tag to compare is the current row's."""
    client = client_for(app_for(view_base, Note, "/notes", etag=True))
    created = await client.post("/notes", json={"title": "a"})
    path, tag = f"/notes/{created.json()['id']}", created.headers["ETag"]
    locked_read = ["BEGIN", "SELECT"] if database.dialect == "sqlite" else ["SELECT"]  # IMMEDIATE
    for stars, headers in ((2, {"If-Match": tag}), (3, {"If-None-Match": '"other"'})):
        statements.clear()
        answer = await client.patch(path, json={"stars": stars}, headers=headers)
        assert answer.status_code == 200, answer.text
        assert statements == [*locked_read, "UPDATE"]
        tag = answer.headers["ETag"]
    strict = client_for(app_for(view_base, Note, "/strict", etag=True, require_if_match=True))
    assert (await strict.patch(path.replace("/notes", "/strict"), json={"stars": 9})).status_code == 428
    statements.clear()
    assert (await client.delete(path, headers={"If-Match": tag})).status_code == 204
    assert statements == [*locked_read, "DELETE"]


@pytest.fixture
def sql(fr_globals: fr.FRGlobals) -> Iterator[list[str]]:
    """The statements sent while the test runs, whole (whitespace collapsed)."""
    with recording(fr_globals, whole) as sent:
        yield sent


async def test_if_match_on_a_versioned_row_is_checked_again_by_the_update(
    view_base: type, client_for: Any, sql: list[str], fr_globals: fr.FRGlobals, database: Any
) -> None:
    """The guard reads the version without a lock (404 and 412 before the body's 422); the
    UPDATE carries the version in its WHERE and returns the row. MariaDB (no UPDATE …
    RETURNING) reads the row locked, then writes."""
    client = client_for(app_for(view_base, Counted, "/counted"))
    created = await client.post("/counted", json={"title": "a"})
    path, tag = f"/counted/{created.json()['id']}", created.headers["ETag"]
    assert tag == '"1"'
    sql.clear()
    patched = await client.patch(path, json={"stars": 4}, headers={"If-Match": tag})
    assert patched.status_code == 200, patched.text
    assert patched.json() == {**created.json(), "stars": 4, "version": 2}
    if database.dialect == "mariadb":
        assert "FOR UPDATE" in sql[0] and sql[-1].startswith("UPDATE")
    else:
        assert [statement.split()[0] for statement in sql] == ["SELECT", "UPDATE"]
        assert "FOR UPDATE" not in sql[0]
        assert "sw_counted.version = " in sql[1] and "RETURNING" in sql[1]
    assert patched.headers["ETag"] == '"2"' == (await client.get(path)).headers["ETag"]
    assert (await client.patch(path, json={"stars": 5}, headers={"If-Match": tag})).status_code == 412
    assert (await client.patch(path, json={"stars": "x"}, headers={"If-Match": tag})).status_code == 412
    assert (await client.patch("/counted/999", json={"stars": 5}, headers={"If-Match": tag})).status_code == 404
    same = await client.patch(path, json={}, headers={"If-Match": '"2"'})  # nothing to set
    assert same.status_code == 200 and same.headers["ETag"] == '"2"'
    for stars, header in ((6, "*"), (7, '"x", "3"')):  # these hold at other versions too
        sql.clear()
        answer = await client.patch(path, json={"stars": stars}, headers={"If-Match": header})
        assert answer.status_code == 200, answer.text
        locked = sql[0] == "BEGIN IMMEDIATE" if database.dialect == "sqlite" else "FOR UPDATE" in sql[0]
        assert locked, sql  # read locked first, then written
    assert rows(fr_globals, select(Counted.stars, Counted.version)) == [(7, 4)]


@pytest.mark.parametrize("db_urls", ["sqlite", "postgresql"], indirect=True)  # MariaDB: locked read
@pytest.mark.parametrize("meanwhile", ["changed", "deleted"])
async def test_a_write_between_the_check_and_the_update_answers_412_or_404(
    view_base: type, client_for: Any, fr_globals: fr.FRGlobals, meanwhile: str
) -> None:
    """Another transaction commits after the guard checked the version and before the
    UPDATE runs: the UPDATE matches nothing, and the row read then decides (412: it is
    there with another version; 404: it is gone). Nothing of this request is written."""
    client = client_for(app_for(view_base, Counted, "/counted"))
    created = (await client.post("/counted", json={"title": "a"})).json()
    pending = [created["id"]]

    def interfere(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if pending and statement.startswith("UPDATE sw_counted"):
            with Session(fr_globals.get_engine()) as other:
                row = other.get(Counted, pending.pop())
                if meanwhile == "changed":
                    row.title = "theirs"
                else:
                    other.delete(row)
                other.commit()

    engines = [fr_globals.get_engine(), fr_globals.get_async_engine().sync_engine]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", interfere)
    try:
        answer = await client.patch(f"/counted/{created['id']}", json={"title": "mine"}, headers={"If-Match": '"1"'})
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", interfere)
    assert not pending  # it did run in between
    assert answer.status_code == (412 if meanwhile == "changed" else 404), answer.text
    expected = [("theirs", 2)] if meanwhile == "changed" else []
    assert rows(fr_globals, select(Counted.title, Counted.version)) == expected
