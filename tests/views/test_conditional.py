"""ETags and conditional requests (SPEC §10; RFC 9110 §8.8.3, §13; RFC 6585 §3) over HTTP,
sync and async, with version tags (a version counter) and representation tags (a digest of
the JSON answer, ``etag = True``), read from rows or objects, on SQLite, PostgreSQL and MariaDB.

The numbers in the test names' docstrings are the lines of the checklist in
``shared/reference/http_semantics.md`` §1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Optional

import httpx
import pytest
from fastapi import Depends, FastAPI, Header, Response
from sqlalchemy import Column, ForeignKey, Integer, String, Table, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.orm.exc import StaleDataError

import restly as fr
from restly.exc import Forbidden, RestlyConfigurationError

pytestmark = pytest.mark.anyio


class Base(DeclarativeBase):
    pass


note_labels = Table(
    "cond_note_label",
    Base.metadata,
    Column("note_id", ForeignKey("cond_note.id", ondelete="CASCADE"), primary_key=True),
    Column("label_id", ForeignKey("cond_label.id", ondelete="CASCADE"), primary_key=True),
)
memo_labels = Table(
    "cond_memo_label",
    Base.metadata,
    Column("memo_id", ForeignKey("cond_memo.id", ondelete="CASCADE"), primary_key=True),
    Column("label_id", ForeignKey("cond_label.id", ondelete="CASCADE"), primary_key=True),
)


class Label(Base):
    __tablename__ = "cond_label"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


class Note(Base):
    """Versioned: the tag is the version counter."""

    __tablename__ = "cond_note"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(50))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    labels: Mapped[list[Label]] = relationship(secondary=note_labels, order_by=Label.id)
    parts: Mapped[list[Part]] = relationship(order_by="Part.id")
    __mapper_args__ = {"version_id_col": version}


class Part(Base):
    __tablename__ = "cond_part"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))
    note_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cond_note.id"))


class Memo(Base):
    """Not versioned: with ``etag = True`` the tag is a digest of the answer."""

    __tablename__ = "cond_memo"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(50))
    labels: Mapped[list[Label]] = relationship(secondary=memo_labels, order_by=Label.id)


class NoteTitle(fr.IDSchema):  # flat, without the version: GET reads rows + the version
    title: str


class NoteFull(fr.IDSchema):  # a relationship: GET reads objects
    title: str
    labels: list[fr.IDRef[Label]] = []
    parts: fr.WriteOnly[list[fr.IDRef[Part]]] = []


class MemoFull(fr.IDSchema):
    title: str
    labels: list[fr.IDRef[Label]] = []


#: mode -> (model, schema or None (generated), options)
MODES: dict[str, tuple[type, type | None, dict[str, Any]]] = {
    "version-rows": (Note, NoteTitle, {}),
    "version-objects": (Note, NoteFull, {}),
    "hash-rows": (Memo, None, {"etag": True}),
    "hash-objects": (Memo, MemoFull, {"etag": True}),
}
BASES = {
    ("async", "rest"): fr.AsyncRestView,
    ("sync", "rest"): fr.RestView,
    ("async", "react-admin"): fr.AsyncReactAdminView,
    ("sync", "react-admin"): fr.ReactAdminView,
}


@pytest.fixture(params=["async", "sync"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=list(MODES))
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def make_view(kind: str, mode: str, flavour: str = "rest", **namespace: Any) -> type:
    model, schema, options = MODES[mode]
    body: dict[str, Any] = {"prefix": "/items", "model": model, **options}
    if schema is not None:
        body["schema"] = schema
    body.update(namespace)
    name = f"{kind.title()}{mode.title().replace('-', '')}{flavour.title().replace('-', '')}View"
    return type(name, (BASES[kind, flavour],), body)


@pytest.fixture
def serve(
    database: Any, client_for: Callable[[FastAPI], httpx.AsyncClient]
) -> Callable[..., httpx.AsyncClient]:
    def serve_view(view: type, app: FastAPI | None = None) -> httpx.AsyncClient:
        app = app or FastAPI()
        fr.include_view(app, view)
        return client_for(app)

    return serve_view


@pytest.fixture
def client(serve: Any, kind: str, mode: str) -> httpx.AsyncClient:
    return serve(make_view(kind, mode))  # type: ignore[no-any-return]


def seed_labels(fr_globals: fr.FRGlobals) -> list[int]:
    with fr_globals.get_sessionmaker()() as session:
        labels = [Label(name=name) for name in ("red", "blue")]
        parts = [Part(name=name) for name in ("wheel", "axle")]
        session.add_all([*labels, *parts])
        session.commit()
        return [label.id for label in labels]


def stored_title(fr_globals: fr.FRGlobals, model: type, id: int) -> str | None:
    with fr_globals.get_sessionmaker()() as session:
        return session.scalar(select(model.title).where(model.id == id))  # type: ignore[attr-defined]


async def created(client: httpx.AsyncClient, title: str = "first") -> tuple[str, str]:
    """POST one item: its path and the ETag of the 201."""
    answer = await client.post("/items", json={"title": title})
    assert answer.status_code == 201, answer.text
    return f"/items/{answer.json()['id']}", answer.headers["ETag"]


# -- tags ---------------------------------------------------------------------------------


async def test_reads_and_writes_answer_one_strong_tag_that_changes_with_each_write(
    client: httpx.AsyncClient,
) -> None:
    """#1: quoted and strong, stable across GETs, sent by POST and PATCH, new after each write."""
    path, posted = await created(client)
    assert posted.startswith('"') and posted.endswith('"') and len(posted) > 2
    first = await client.get(path)
    assert first.headers["ETag"] == posted
    assert (await client.get(path)).headers["ETag"] == posted
    patched = await client.patch(path, json={"title": "second"})
    assert patched.status_code == 200
    assert patched.headers["ETag"] != posted
    assert (await client.get(path)).headers["ETag"] == patched.headers["ETag"]


async def test_a_version_tag_is_the_version_whatever_the_response_shows(
    serve: Any, kind: str
) -> None:
    """#11: a version tag does not depend on the projection: two views of one row share it."""
    app = FastAPI()
    full = make_view(kind, "version-objects")
    brief = make_view(kind, "version-rows", prefix="/brief")
    fr.include_view(app, full)
    client = serve(brief, app)
    path, tag = await created(client)
    assert tag == '"1"'
    brief_path = path.replace("/items", "/brief")
    assert (await client.get(brief_path)).headers["ETag"] == (await client.get(path)).headers["ETag"]


# -- If-None-Match --------------------------------------------------------------------------


async def test_if_none_match_naming_the_current_tag_answers_304_with_the_tag(
    client: httpx.AsyncClient,
) -> None:
    """#2: current, weak form of the current, *, a list holding it -> 304 + ETag, no body."""
    path, tag = await created(client)
    for header in (tag, f"W/{tag}", "*", f'"other", {tag}'):
        answer = await client.get(path, headers={"If-None-Match": header})
        assert (answer.status_code, answer.content) == (304, b""), header
        assert answer.headers["ETag"] == tag
    fresh = await client.get(path, headers={"If-None-Match": '"other", W/"stale"'})
    assert fresh.status_code == 200 and fresh.json()["title"] == "first"


async def test_if_match_on_a_read_that_fails_answers_412(client: httpx.AsyncClient) -> None:
    path, tag = await created(client)
    assert (await client.get(path, headers={"If-Match": tag})).status_code == 200
    assert (await client.get(path, headers={"If-Match": '"other"'})).status_code == 412


# -- If-Match on writes ----------------------------------------------------------------------


async def test_if_match_with_the_current_tag_writes(client: httpx.AsyncClient) -> None:
    """#3"""
    path, tag = await created(client)
    patched = await client.patch(path, json={"title": "second"}, headers={"If-Match": tag})
    assert patched.status_code == 200 and patched.json()["title"] == "second"
    deleted = await client.delete(path, headers={"If-Match": patched.headers["ETag"]})
    assert deleted.status_code == 204
    assert (await client.get(path)).status_code == 404


async def test_a_stale_tag_answers_412_and_writes_nothing(
    client: httpx.AsyncClient, mode: str, fr_globals: fr.FRGlobals
) -> None:
    """#4, #5: a stale tag, or the weak form of the current one (strong comparison)."""
    path, stale = await created(client)
    current = (await client.patch(path, json={"title": "second"})).headers["ETag"]
    model = MODES[mode][0]
    for header in (stale, f"W/{current}", '"nonsense"'):
        refused = await client.patch(path, json={"title": "lost"}, headers={"If-Match": header})
        assert refused.status_code == 412, header
        assert "GET it again" in refused.json()["detail"]
        assert (await client.delete(path, headers={"If-Match": header})).status_code == 412
    assert stored_title(fr_globals, model, int(path.rsplit("/", 1)[1])) == "second"
    assert (await client.get(path)).headers["ETag"] == current


async def test_if_match_star_and_lists_holding_the_current_tag_write(
    client: httpx.AsyncClient,
) -> None:
    """#6: *, a list, two header lines."""
    path, tag = await created(client)
    tag = (await client.patch(path, json={"title": "a"}, headers={"If-Match": "*"})).headers["ETag"]
    answer = await client.patch(path, json={"title": "b"}, headers={"If-Match": f'"x", {tag}'})
    assert answer.status_code == 200
    lines = httpx.Headers([("If-Match", '"x"'), ("If-Match", answer.headers["ETag"])])
    assert (await client.patch(path, json={"title": "c"}, headers=lines)).status_code == 200


async def test_writes_without_preconditions_still_work(client: httpx.AsyncClient) -> None:
    """#7: If-Match is not required by default."""
    path, _ = await created(client)
    assert (await client.patch(path, json={"title": "b"})).status_code == 200
    assert (await client.delete(path)).status_code == 204


async def test_if_none_match_on_a_write_refuses_when_it_names_the_current_tag(
    client: httpx.AsyncClient,
) -> None:
    path, tag = await created(client)
    for header in (tag, "*", f"W/{tag}"):
        answer = await client.patch(path, json={"title": "b"}, headers={"If-None-Match": header})
        assert answer.status_code == 412, header
    assert (await client.patch(path, json={"title": "b"}, headers={"If-None-Match": '"x"'})).status_code == 200


async def test_if_unmodified_since_is_ignored(client: httpx.AsyncClient) -> None:
    """#8: restly sends no Last-Modified, so date preconditions are ignored (§13.2.2)."""
    path, tag = await created(client)
    old = {"If-Unmodified-Since": "Sat, 01 Jan 2000 00:00:00 GMT", "If-Match": tag}
    assert (await client.patch(path, json={"title": "b"}, headers=old)).status_code == 200


async def test_require_if_match_answers_428_saying_how_to_resubmit(
    serve: Any, kind: str, mode: str
) -> None:
    """#7, #8: 428 without If-Match; 404 before 428; the tag or * satisfies it."""
    client = serve(make_view(kind, mode, require_if_match=True))
    path, tag = await created(client)
    for answer in (
        await client.patch(path, json={"title": "b"}),
        await client.delete(path),
        await client.patch(path, json={"title": "b"}, headers={"If-None-Match": '"x"'}),
    ):
        assert answer.status_code == 428
        assert "If-Match: <its ETag>" in answer.json()["detail"]
    assert (await client.patch("/items/999", json={"title": "b"})).status_code == 404
    assert (await client.patch(path, json={"title": 5})).status_code == 428  # before 422
    answer = await client.patch(path, json={"title": "b"}, headers={"If-Match": tag})
    assert answer.status_code == 200
    assert (await client.delete(path, headers={"If-Match": "*"})).status_code == 204


async def test_404_beats_412_and_412_beats_422(client: httpx.AsyncClient) -> None:
    """#8 and the order of evaluation (§0): a stale tag with an invalid body is a 412."""
    path, tag = await created(client)
    await client.patch(path, json={"title": "b"})
    assert (await client.patch("/items/999", json={"title": "b"}, headers={"If-Match": tag})).status_code == 404
    assert (await client.delete("/items/999", headers={"If-Match": tag})).status_code == 404
    assert (await client.patch(path, json={"title": 5}, headers={"If-Match": tag})).status_code == 412
    too_long = {"title": "x" * 51}
    assert (await client.patch(path, json=too_long, headers={"If-Match": tag})).status_code == 412
    current = (await client.get(path)).headers["ETag"]
    assert (await client.patch(path, json={"title": 5}, headers={"If-Match": current})).status_code == 422


async def test_malformed_precondition_headers_answer_400(client: httpx.AsyncClient) -> None:
    """#12: an unquoted tag, a list with garbage, * in a list, an empty value: 400, not a
    guess (and never 500)."""
    path, tag = await created(client)
    for header in ("abc", f"{tag}, garbage", f"*, {tag}", "", 'w/"1"', '"unterminated'):
        for name in ("If-Match", "If-None-Match"):
            patched = await client.patch(path, json={"title": "b"}, headers={name: header})
            assert patched.status_code == 400, (name, header)
            assert name in patched.json()["detail"]
            assert (await client.get(path, headers={name: header})).status_code == 400
            assert (await client.delete(path, headers={name: header})).status_code == 400
    assert (await client.get(path)).json()["title"] == "first"


# -- relations -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["version-objects", "hash-objects"])
async def test_changing_only_a_relation_changes_the_tag(
    client: httpx.AsyncClient, fr_globals: fr.FRGlobals
) -> None:
    """#10: a many-to-many list of references changes the tag (the version is bumped)."""
    red, blue = seed_labels(fr_globals)
    path, tag = await created(client)
    tagged = await client.patch(path, json={"labels": [red, blue]}, headers={"If-Match": tag})
    assert tagged.status_code == 200 and tagged.json()["labels"] == [red, blue]
    assert tagged.headers["ETag"] != tag
    assert (await client.get(path)).headers["ETag"] == tagged.headers["ETag"]
    assert (await client.patch(path, json={"title": "x"}, headers={"If-Match": tag})).status_code == 412
    fewer = await client.patch(path, json={"labels": [blue]}, headers={"If-Match": tagged.headers["ETag"]})
    assert fewer.status_code == 200 and fewer.headers["ETag"] not in (tag, tagged.headers["ETag"])


@pytest.mark.parametrize("mode", ["version-objects"])
async def test_changing_only_hidden_children_changes_a_version_tag(
    client: httpx.AsyncClient, fr_globals: fr.FRGlobals
) -> None:
    """#10: children (a one-to-many list, write-only here) change a version tag too."""
    seed_labels(fr_globals)
    with fr_globals.get_sessionmaker()() as session:
        wheel, axle = session.scalars(select(Part.id).order_by(Part.id)).all()
    path, tag = await created(client)
    answer = await client.patch(path, json={"parts": [wheel, axle]}, headers={"If-Match": tag})
    assert answer.status_code == 200 and "parts" not in answer.json()
    assert answer.headers["ETag"] == '"2"'
    assert (await client.get(path)).headers["ETag"] == '"2"'
    same = await client.patch(path, json={"parts": [wheel, axle]}, headers={"If-Match": '"2"'})
    assert same.headers["ETag"] == '"2"'  # nothing changed: no new version


# -- races -----------------------------------------------------------------------------------

ROUNDS = 3
WRITERS = 4


async def test_of_concurrent_writes_with_the_same_tag_exactly_one_succeeds(
    client: httpx.AsyncClient, mode: str, fr_globals: fr.FRGlobals
) -> None:
    """#9: real concurrent PATCHes (and DELETEs) carrying one current tag: one 2xx, the
    others 412, never 409 or 500; the winner's write is the one stored."""
    import asyncio

    import anyio

    model = MODES[mode][0]
    with anyio.fail_after(90):
        for round_ in range(ROUNDS):
            path, tag = await created(client, f"round {round_}")
            answers = await asyncio.gather(
                *(
                    client.patch(path, json={"title": f"writer {n}"}, headers={"If-Match": tag})
                    for n in range(WRITERS)
                )
            )
            statuses = sorted(answer.status_code for answer in answers)
            assert statuses == [200] + [412] * (WRITERS - 1), [a.text for a in answers]
            winner = next(answer for answer in answers if answer.status_code == 200)
            stored = stored_title(fr_globals, model, int(path.rsplit("/", 1)[1]))
            assert stored == winner.json()["title"]
            current = winner.headers["ETag"]
            deletes = await asyncio.gather(
                *(client.delete(path, headers={"If-Match": current}) for _ in range(WRITERS))
            )
            # the others wait for the winner's lock, then find no row: 404 beats 412
            statuses = sorted(d.status_code for d in deletes)
            assert statuses == [204] + [404] * (WRITERS - 1), [d.text for d in deletes]
            assert (await client.get(path)).status_code == 404


async def test_a_stale_data_error_answers_412_when_a_precondition_was_sent(
    serve: Any, kind: str
) -> None:
    """The ORM's version check failing (here raised by an override) is a 412 for a
    conditional request, and stays a 409 otherwise."""

    def fail(self: Any, id: Any, schema_obj: Any) -> Any:
        raise StaleDataError("UPDATE statement on table expected to update 1 row(s); 0 were matched.")

    async def async_fail(self: Any, id: Any, schema_obj: Any) -> Any:
        fail(self, id, schema_obj)

    view = make_view(kind, "version-rows", handle_update=async_fail if kind == "async" else fail)
    client = serve(view)
    path, tag = await created(client)
    assert (await client.patch(path, json={"title": "b"}, headers={"If-Match": tag})).status_code == 412
    assert (await client.patch(path, json={"title": "b"})).status_code == 409


# -- the write pipeline ------------------------------------------------------------------------


async def test_authorize_runs_after_the_precondition_and_before_the_write(
    serve: Any, kind: str, mode: str, fr_globals: fr.FRGlobals
) -> None:
    """A current tag reaches `authorize` (403, nothing written); a stale one is refused
    first (412): the precondition is checked before the body is validated, `authorize`
    (which receives the validated body) after."""
    seen: list[str] = []

    def authorize(self: Any, action: str, obj: Any = None, data: Any = None) -> None:
        seen.append(action)
        if action in ("update", "delete"):
            raise Forbidden("read-only")

    async def async_authorize(self: Any, action: str, obj: Any = None, data: Any = None) -> None:
        authorize(self, action, obj, data)

    view = make_view(kind, mode, authorize=async_authorize if kind == "async" else authorize)
    client = serve(view)
    path, tag = await created(client)
    assert (await client.patch(path, json={"title": "b"}, headers={"If-Match": tag})).status_code == 403
    assert (await client.delete(path, headers={"If-Match": tag})).status_code == 403
    assert (await client.patch(path, json={"title": "b"}, headers={"If-Match": '"x"'})).status_code == 412
    assert seen.count("update") == 1 and seen.count("delete") == 1
    assert stored_title(fr_globals, MODES[mode][0], int(path.rsplit("/", 1)[1])) == "first"


async def test_a_refused_read_is_refused_before_304(serve: Any, kind: str, mode: str) -> None:
    def authorize(self: Any, action: str, obj: Any = None, data: Any = None) -> None:
        if action == "get_one":
            raise Forbidden()

    async def async_authorize(self: Any, action: str, obj: Any = None, data: Any = None) -> None:
        authorize(self, action, obj, data)

    client = serve(make_view(kind, mode, authorize=async_authorize if kind == "async" else authorize))
    path, tag = await created(client)
    assert (await client.get(path, headers={"If-None-Match": tag})).status_code == 403


# -- react-admin -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["version-rows", "hash-objects"])
async def test_react_admin_writes_honour_if_match(
    serve: Any, kind: str, mode: str, fr_globals: fr.FRGlobals
) -> None:
    client = serve(make_view(kind, mode, "react-admin"))
    path, tag = await created(client)
    assert (await client.get(path)).headers["ETag"] == tag
    put = await client.put(path, json={"id": 0, "title": "b"}, headers={"If-Match": tag})
    assert put.status_code == 200 and put.headers["ETag"] != tag
    assert (await client.put(path, json={"title": "c"}, headers={"If-Match": tag})).status_code == 412
    assert (await client.put(path, json={"title": 5}, headers={"If-Match": tag})).status_code == 412
    assert (await client.delete(path, headers={"If-Match": tag})).status_code == 412
    assert stored_title(fr_globals, MODES[mode][0], int(path.rsplit("/", 1)[1])) == "b"
    deleted = await client.delete(path, headers={"If-Match": put.headers["ETag"]})
    assert deleted.status_code == 200 and deleted.json()["title"] == "b"


# -- views without tags ------------------------------------------------------------------------


async def test_a_view_without_tags_ignores_preconditions(serve: Any, kind: str) -> None:
    client = serve(make_view(kind, "hash-rows", etag=None))  # Memo has no version counter
    path = f"/items/{(await client.post('/items', json={'title': 'a'})).json()['id']}"
    got = await client.get(path, headers={"If-None-Match": "*"})
    assert got.status_code == 200 and "ETag" not in got.headers
    patched = await client.patch(path, json={"title": "b"}, headers={"If-Match": "garbage"})
    assert patched.status_code == 200 and "ETag" not in patched.headers
    assert (await client.delete(path, headers={"If-Match": '"stale"'})).status_code == 204


async def test_etag_false_turns_version_tags_off(serve: Any, kind: str) -> None:
    client = serve(make_view(kind, "version-rows", etag=False))
    answer = await client.post("/items", json={"title": "a"})
    assert "ETag" not in answer.headers
    path = f"/items/{answer.json()['id']}"
    assert (await client.patch(path, json={"title": "b"}, headers={"If-Match": '"9"'})).status_code == 200


def test_misconfigured_tag_options_are_refused_at_class_creation(kind: str) -> None:
    with pytest.raises(RestlyConfigurationError) as raised:
        make_view(kind, "hash-rows", etag="yes", require_if_match=1)
    message = str(raised.value)
    assert "etag must be True, False or None; got 'yes'" in message
    assert "require_if_match must be True or False; got 1" in message
    with pytest.raises(RestlyConfigurationError) as raised:
        make_view(kind, "hash-rows", etag=None, require_if_match=True)
    assert "require_if_match = True needs ETags" in str(raised.value)
    assert "Set etag = True" in str(raised.value)


# -- OpenAPI -----------------------------------------------------------------------------------


def _operation(app: FastAPI, path: str, method: str) -> dict[str, Any]:
    return app.openapi()["paths"][path][method]  # type: ignore[no-any-return]


def _headers(operation: dict[str, Any]) -> dict[str, bool]:
    return {p["name"]: p["required"] for p in operation.get("parameters", []) if p["in"] == "header"}


@pytest.mark.parametrize("required", [False, True])
def test_openapi_documents_tags_and_preconditions(kind: str, required: bool, fr_globals: Any) -> None:
    """#14, and what a view without tags documents."""
    app = FastAPI()
    fr.include_view(app, make_view(kind, "version-rows", require_if_match=required))
    fr.include_view(app, make_view(kind, "hash-rows", "react-admin", prefix="/admin", etag=True))
    fr.include_view(app, make_view(kind, "hash-rows", prefix="/plain", etag=None))
    get = _operation(app, "/items/{id}", "get")
    assert get["responses"]["304"]["headers"]["ETag"]
    assert get["responses"]["200"]["headers"]["ETag"]
    assert _headers(get) == {"If-None-Match": False, "If-Match": False}
    for method in ("patch", "delete"):
        operation = _operation(app, "/items/{id}", method)
        assert _headers(operation)["If-Match"] is required
        assert "412" in operation["responses"]
        assert ("428" in operation["responses"]) is required
    assert _operation(app, "/items/{id}", "patch")["responses"]["200"]["headers"]["ETag"]
    assert _operation(app, "/items", "post")["responses"]["201"]["headers"].keys() >= {"ETag", "Location"}
    put = _operation(app, "/admin/{id}", "put")
    assert "If-Match" in _headers(put) and "412" in put["responses"]
    plain = _operation(app, "/plain/{id}", "get")
    assert "304" not in plain["responses"] and not _headers(plain)
    plain_patch = _operation(app, "/plain/{id}", "patch")
    assert _headers(plain_patch) == {"Prefer": False, "Idempotency-Key": False}
    assert "412" not in plain_patch["responses"]
    assert "ETag" not in _operation(app, "/plain", "post")["responses"]["201"]["headers"]


def test_generated_schemas_make_the_version_read_only(kind: str) -> None:
    view = make_view(kind, "version-rows", schema=None)
    assert "version" in view.response_schema.model_fields  # type: ignore[attr-defined]
    assert "version" not in view.creation_schema.model_fields  # type: ignore[attr-defined]
    assert "version" not in view.update_schema.model_fields  # type: ignore[attr-defined]


async def test_guarded_routes_keep_class_level_dependencies(serve: Any, kind: str) -> None:
    """The instance a guarded route runs on has its dependencies set (the injected
    ``Response`` too: headers set on it reach the answer)."""

    def authorize(self: Any, action: str, obj: Any = None, data: Any = None) -> None:
        self.response.headers["X-Action"] = f"{action} by {self.user}"

    async def async_authorize(self: Any, action: str, obj: Any = None, data: Any = None) -> None:
        authorize(self, action, obj, data)

    def user(x_user: str = Header("ann")) -> str:
        return x_user

    view = make_view(
        kind,
        "version-rows",
        authorize=async_authorize if kind == "async" else authorize,
        __annotations__={"response": Response, "user": Annotated[str, Depends(user)]},
    )
    client = serve(view)
    path, tag = await created(client)
    answer = await client.patch(path, json={"title": "b"}, headers={"If-Match": tag, "X-User": "bob"})
    assert answer.status_code == 200 and answer.headers["X-Action"] == "update by bob"
    assert (await client.delete(path, headers={"X-User": "cy"})).headers["X-Action"] == "delete by cy"
