"""RFC 9457 problem details (`fr.configure(app, problem_details=True)`), over HTTP.

One test per rule of the standard (``/work/shared/reference/http_semantics.md`` §3): every
error is ``application/problem+json`` with ``type``/``title``/``status``/``detail``; generic
errors are ``about:blank`` titled with the reason phrase; restly's own kinds have stable
types; a 422 is one problem whose ``errors`` point into the body (RFC 6901) or name the
parameter or header; extensions never replace a standard member; no internals, no
write-only values; HEAD gets the headers alone; OpenAPI documents the problem schema; off
by default.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import unquote

import httpx
import pytest
from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import ForeignKey, String
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.orm.exc import StaleDataError

import restly as fr
from restly._problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPES, json_pointer, problem
from restly.exc import Conflict, NotFound, PayloadTooLarge, RestlyHTTPError, ServiceUnavailable

pytestmark = pytest.mark.anyio

Client = Callable[[FastAPI], httpx.AsyncClient]
PASSWORD = "hunter2-never-shown"


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "pd_author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20), unique=True)


class Book(Base):
    __tablename__ = "pd_book"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(50))
    pages: Mapped[int] = mapped_column(default=1)
    password: Mapped[str] = mapped_column(String(40), default="")
    author_id: Mapped[int] = mapped_column(ForeignKey("pd_author.id"))
    author: Mapped[Author] = relationship()


class BookSchema(fr.IDSchema):
    title: str = Field(max_length=50)
    pages: int = 1
    password: fr.WriteOnly[str] = Field("", max_length=40)
    author: fr.IDRef[Author]


class Label(BaseModel):
    label: str = Field(max_length=3)


class Shape(BaseModel):
    """A body whose keys need escaping in a JSON pointer."""

    odd: int = Field(alias="a/b~c")
    labels: list[Label] = []


class ErrorsView(fr.View):
    """Routes that fail on purpose."""

    prefix = "/errors"

    @fr.get("/raise/{status}")
    async def raise_status(self, status: int) -> None:
        raise HTTPException(status, detail=f"raised {status}")

    @fr.get("/boom")
    async def boom(self) -> None:
        raise RuntimeError("internal detail: /srv/app/secret.py line 12")

    @fr.post("/shapes", status_code=200)
    async def shapes(
        self, shape: Shape, count: int, x_count: Annotated[int, Header()]
    ) -> dict[str, int]:
        return {"count": count}

    @fr.get("/db/{fault}")
    async def database(self, fault: str) -> None:
        original = Exception("SELECT secret FROM internals")
        raise {
            "refused": DataError("SELECT 1", {}, original),
            "bug": DBAPIError("SELECT 1", {}, original),
            "stale": StaleDataError("UPDATE pd_book SET ..."),
        }[fault]

    @fr.get("/extensions")
    async def extensions(self) -> None:
        raise HTTPException(
            409,
            detail={
                "detail": "the real detail",
                "type": "https://evil.example/override",
                "title": "Overridden",
                "status": 200,
                "instance": "/elsewhere",
                "invoice": 7,
                "x": "too short a name",
            },
        )

    @fr.get("/restly-extensions")
    async def restly_extensions(self) -> None:
        raise Conflict("Invoice already paid", extensions={"invoice": 7, "paid_at": "today"})


def make_app(kind: str, *, problem_details: bool | None = True) -> FastAPI:
    app = FastAPI()
    rest, react_admin = (
        (fr.AsyncRestView, fr.AsyncReactAdminView)
        if kind == "async"
        else (fr.RestView, fr.ReactAdminView)
    )
    views = [
        type("AuthorView", (rest,), {"prefix": "/authors", "model": Author}),
        type("BookView", (rest,), {"prefix": "/books", "model": Book, "schema": BookSchema}),
        type("AdminBookView", (react_admin,), {"prefix": "/admin/books", "model": Book}),
        ErrorsView,
    ]
    fr.include_view(app, *views)
    if problem_details is not None:
        fr.configure(app, problem_details=problem_details)
    return app


@pytest.fixture(params=["async", "sync"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def problem_of(response: httpx.Response) -> dict[str, Any]:
    """The problem object of ``response``, checked against RFC 9457 §3.1."""
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE, response.text
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys(), body
    assert body["status"] == response.status_code
    assert all(isinstance(body[name], str) for name in ("type", "title", "detail"))
    return body


def resolve(document: Any, pointer: str) -> Any:
    """The value an RFC 6901 pointer (URI fragment form) designates in ``document``."""
    assert pointer.startswith("#"), pointer
    node = document
    for token in unquote(pointer[1:]).split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


# --- every error is a problem -----------------------------------------------------------------


async def test_restly_errors_are_problems_with_their_types(
    database: Any, kind: str, client_for: Client
) -> None:
    client = client_for(make_app(kind))
    missing = problem_of(await client.get("/books/999"))
    assert missing == {
        "type": "/problems/not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "Not Found",
    }
    assert (await client.post("/authors", json={"name": "Ann"})).status_code == 201
    duplicate = problem_of(await client.post("/authors", json={"name": "Ann"}))
    assert duplicate["type"] == "/problems/constraint-violation"
    assert duplicate["title"] == "Constraint Violation" and duplicate["status"] == 409
    assert duplicate["detail"].startswith("Unique constraint violated")
    unknown_author = problem_of(await client.post("/books", json={"title": "T", "author": 99}))
    assert unknown_author["type"] == "/problems/not-found"
    assert unknown_author["detail"] == "Id not found for author: 99"
    text = {"content-type": "text/plain"}
    not_json = await client.post("/authors", content=b"name=Bo", headers=text)
    assert problem_of(not_json)["title"] == "Unsupported Media Type"
    assert not_json.headers["accept-post"] == "application/json"
    bad_range = problem_of(await client.get("/admin/books", params={"range": "[5,2]"}))
    assert bad_range["type"] == "about:blank" and bad_range["title"] == "Bad Request"
    assert bad_range["status"] == 400 and "range" in bad_range["detail"]


async def test_routing_errors_are_generic_problems(
    database: Any, kind: str, client_for: Client
) -> None:
    client = client_for(make_app(kind))
    unknown = problem_of(await client.get("/nowhere"))
    assert unknown == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "Not Found",
    }
    not_allowed = await client.put("/books")
    assert problem_of(not_allowed)["title"] == "Method Not Allowed"
    assert problem_of(not_allowed)["type"] == "about:blank"
    assert not_allowed.headers["allow"] == "GET, HEAD, POST, OPTIONS"


@pytest.mark.parametrize(
    ("status", "title"),
    [
        (400, "Bad Request"),
        (403, "Forbidden"),
        (412, "Precondition Failed"),
        (415, "Unsupported Media Type"),
        (428, "Precondition Required"),
        (429, "Too Many Requests"),
        (599, "Error"),
    ],
)
async def test_the_applications_http_exceptions_are_generic_problems(
    fr_globals: fr.FRGlobals, client_for: Client, status: int, title: str
) -> None:
    client = client_for(make_app("async"))
    body = problem_of(await client.get(f"/errors/raise/{status}"))
    expected = {"type": "about:blank", "title": title, "status": status}
    assert body == {**expected, "detail": f"raised {status}"}


async def test_a_crash_is_a_500_problem_without_internals(
    fr_globals: fr.FRGlobals, client_for: Client
) -> None:
    response = await client_for(make_app("async")).get("/errors/boom")
    assert problem_of(response) == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "The server could not answer this request",
    }
    assert "secret" not in response.text and "RuntimeError" not in response.text


async def test_database_errors_are_problems_without_sql(
    fr_globals: fr.FRGlobals, client_for: Client
) -> None:
    client = client_for(make_app("async"))
    refused = await client.get("/errors/db/refused")
    assert problem_of(refused)["type"] == "/problems/invalid-value"
    assert refused.json()["errors"] == [
        {"detail": "The database refused a value of this request", "code": "value_refused"}
    ]
    stale = problem_of(await client.get("/errors/db/stale"))
    assert stale["type"] == "/problems/concurrent-update" and stale["status"] == 409
    bug = await client.get("/errors/db/bug")
    assert problem_of(bug)["status"] == 500
    for response in (refused, bug):
        assert "SELECT" not in response.text and "internals" not in response.text


async def test_an_unreachable_database_is_a_503_problem(
    fr_globals: fr.FRGlobals, client_for: Client, kind: str
) -> None:
    fr.configure(
        async_database_url="postgresql+asyncpg://postgres@127.0.0.1:1/test",
        database_url="postgresql+psycopg://postgres@127.0.0.1:1/test",
        connect_timeout=2,
    )
    try:
        response = await client_for(make_app(kind)).get("/authors/1")
        assert response.headers["retry-after"] == "1"
        assert problem_of(response) == {
            "type": "/problems/service-unavailable",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "The database is unavailable or busy; retry shortly",
        }
        assert "127.0.0.1" not in response.text
    finally:
        await fr_globals.dispose()


async def test_a_body_too_large_is_a_413_problem(
    fr_globals: fr.FRGlobals, client_for: Client
) -> None:
    fr.configure(async_database_url="sqlite+aiosqlite://", max_body_size=100)
    response = await client_for(make_app("async")).post(
        "/authors", content=b'{"name": "' + b"x" * 200 + b'"}'
    )
    assert problem_of(response) == {
        "type": "/problems/content-too-large",
        "title": "Content Too Large",
        "status": 413,
        "detail": "Content Too Large",
    }
    await fr_globals.dispose()


async def test_problems_are_sent_whatever_the_client_accepts(
    database: Any, client_for: Client
) -> None:
    client = client_for(make_app("async"))
    for accept in ("application/json", "text/html", "*/*"):
        response = await client.get("/books/1", headers={"Accept": accept})
        assert problem_of(response)["status"] == 404


# --- 422: one problem, every error located ----------------------------------------------------


async def test_422_is_one_problem_whose_pointers_resolve_in_the_body(
    fr_globals: fr.FRGlobals, client_for: Client
) -> None:
    sent = {"a/b~c": "many", "labels": [{"label": "ok"}, {"label": "far too long"}, {}]}
    response = await client_for(make_app("async")).post(
        "/errors/shapes?count=1", json=sent, headers={"x-count": "2"}
    )
    assert response.status_code == 422
    body = problem_of(response)
    assert body["type"] == "/problems/validation" and body["title"] == "Invalid Request"
    pointers = {error["pointer"]: error for error in body["errors"]}
    assert set(pointers) == {"#/a~1b~0c", "#/labels/1/label", "#/labels/2/label"}
    assert resolve(sent, "#/a~1b~0c") == "many"
    assert resolve(sent, "#/labels/1/label") == "far too long"
    assert "label" not in resolve(sent, "#/labels/2")  # a missing member: where it belongs
    assert pointers["#/labels/2/label"]["code"] == "missing"
    assert body["detail"].count(";") == 2  # one summary line per error
    assert "far too long" not in response.text and "many" not in response.text  # no input


async def test_422_names_query_parameters_and_headers(
    fr_globals: fr.FRGlobals, client_for: Client
) -> None:
    response = await client_for(make_app("async")).post(
        "/errors/shapes?count=x", json={"a/b~c": 1}, headers={"x-count": "y"}
    )
    errors = problem_of(response)["errors"]
    assert {"detail": errors[0]["detail"], "parameter": "count", "code": "int_parsing"} in errors
    assert any(error.get("header") == "x-count" for error in errors), errors
    assert not any("pointer" in error for error in errors)


async def test_422_of_list_parameters_and_malformed_json(
    database: Any, kind: str, client_for: Client
) -> None:
    client = client_for(make_app(kind))
    listed = problem_of(await client.get("/books?pages__gte=x&colour=red"))
    assert [error.get("parameter") for error in listed["errors"]] == ["pages__gte", "colour"]
    malformed = await client.post(
        "/books", content=b'{"title": ', headers={"content-type": "application/json"}
    )
    [error] = problem_of(malformed)["errors"]
    assert error["pointer"] == "#" and error["code"] == "json_invalid"
    assert error["detail"].startswith("JSON decode error: Expecting value")


async def test_write_only_values_never_reach_a_problem(
    database: Any, kind: str, client_for: Client
) -> None:
    client = client_for(make_app(kind))
    too_long = PASSWORD * 3
    for sent in (
        {"title": "T", "password": too_long},  # an error in the secret, one around it
        {"title": "x" * 60, "password": PASSWORD, "author": "nobody"},
        {"password": PASSWORD},
    ):
        response = await client.post("/books", json=sent)
        assert response.status_code == 422, response.text
        assert PASSWORD not in response.text
        problem_of(response)
    pointers = [error["pointer"] for error in problem_of(response)["errors"]]
    assert pointers == ["#/title", "#/author"]


def test_json_pointers_escape_tilde_slash_and_what_a_fragment_cannot_hold() -> None:
    assert json_pointer(["a/b", "m~n", 0, "with space", "é"]) == "#/a~1b/m~0n/0/with%20space/%C3%A9"
    assert json_pointer([]) == "#"


# --- members ----------------------------------------------------------------------------------


async def test_extensions_never_replace_standard_members(
    fr_globals: fr.FRGlobals, client_for: Client
) -> None:
    client = client_for(make_app("async"))
    body = problem_of(await client.get("/errors/extensions"))
    assert body == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "the real detail",
        "invoice": 7,  # "x" is too short a name for an extension: left out
    }
    restly = problem_of(await client.get("/errors/restly-extensions"))
    assert restly == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "Invoice already paid",
        "invoice": 7,
        "paid_at": "today",
    }
    assert problem(404, kind="not-found", extensions={"status": 200, "type": "x"}) == {
        "type": "/problems/not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "Not Found",
    }


@pytest.mark.parametrize(
    "name", ["status", "type", "title", "detail", "instance", "ab", "1st", "a-b"]
)
def test_restly_errors_refuse_extensions_that_are_no_extension(name: str) -> None:
    with pytest.raises(ValueError, match=f"NotFound\\(extensions=...\\): '{name}' cannot be"):
        NotFound(extensions={name: 1})


def test_restly_problem_types_come_from_one_table() -> None:
    def subclasses(cls: type) -> list[type]:
        return [cls, *(sub for child in cls.__subclasses__() for sub in subclasses(child))]

    typed = {cls: cls.problem_type for cls in subclasses(RestlyHTTPError) if cls.problem_type}
    assert typed[NotFound] == "not-found" and typed[ServiceUnavailable] == "service-unavailable"
    assert typed[PayloadTooLarge] == "content-too-large"
    for cls, slug in typed.items():
        assert PROBLEM_TYPES[slug].status == cls.status_code, cls
    uris = [problem_type.uri for problem_type in PROBLEM_TYPES.values()]
    assert len(set(uris)) == len(uris) and all(uri.startswith("/problems/") for uri in uris)


# --- HEAD, react-admin, handlers, OpenAPI -----------------------------------------------------


async def test_head_errors_have_the_headers_and_no_body(
    database: Any, kind: str, client_for: Client
) -> None:
    client = client_for(make_app(kind))
    for url in ("/books/999", "/nowhere", "/admin/books?range=[5,2]"):
        got, head = await client.get(url), await client.head(url)
        assert head.status_code == got.status_code >= 400
        assert head.content == b""
        assert head.headers["content-type"] == PROBLEM_MEDIA_TYPE
        assert head.headers["content-length"] == got.headers["content-length"]


async def test_react_admin_problems_carry_a_message(
    database: Any, kind: str, client_for: Client
) -> None:
    response = await client_for(make_app(kind)).get("/admin/books/5")
    body = problem_of(response)
    assert body["message"] == body["detail"] == "Not Found"
    invalid = problem_of(await client_for(make_app(kind)).post("/admin/books", json={}))
    assert invalid["message"] == invalid["detail"]
    # RFC 9457's errors list stays: react-admin's field errors are for the default bodies.
    assert isinstance(invalid["errors"], list) and invalid["errors"][0]["pointer"].startswith("#/")


async def test_handlers_the_application_registered_win(
    fr_globals: fr.FRGlobals, client_for: Client
) -> None:
    app = FastAPI()

    @app.exception_handler(HTTPException)
    async def own(request: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"mine": True}, status_code=418)

    fr.configure(app, problem_details=True)
    fr.include_view(app, ErrorsView)
    client = client_for(app)
    assert (await client.get("/errors/raise/400")).json() == {"mine": True}
    assert problem_of(await client.get("/errors/boom"))["status"] == 500


async def test_the_choice_holds_for_views_mounted_later_and_can_be_undone(
    database: Any, client_for: Client
) -> None:
    late = type("LateView", (fr.AsyncRestView,), {"prefix": "/late", "model": Author})
    app = FastAPI()
    fr.configure(app, problem_details=True)
    fr.include_view(app, late)
    assert problem_of(await client_for(app).get("/late/1"))["type"] == "/problems/not-found"
    # Switched off again before it serves: exactly the answers of an app never switched on.
    undone, default = FastAPI(), FastAPI()
    fr.include_view(undone, late)
    fr.configure(undone, problem_details=True)
    fr.configure(undone, problem_details=False)
    fr.include_view(default, late)
    for url in ("/late/1", "/nowhere"):
        answer = await client_for(undone).get(url)
        assert answer.headers["content-type"] == "application/json"
        assert answer.content == (await client_for(default).get(url)).content
    assert undone.openapi() == default.openapi()


async def test_off_by_default(database: Any, kind: str, client_for: Client) -> None:
    client = client_for(make_app(kind, problem_details=None))
    missing = await client.get("/books/999")
    assert missing.headers["content-type"] == "application/json"
    assert missing.content == b'{"detail":"Not Found"}'
    assert (await client.get("/errors/raise/412")).content == b'{"detail":"raised 412"}'
    invalid = (await client.post("/books", json={})).json()
    assert invalid["detail"][0]["loc"] == ["body", "title"]


def test_configure_problem_details_needs_the_app_and_a_bool(fr_globals: fr.FRGlobals) -> None:
    with pytest.raises(fr.RestlyConfigurationError) as raised:
        fr.configure(problem_details=True)
    assert str(raised.value) == (
        "configure(problem_details=True) needs the app whose errors it formats. "
        "Use fr.configure(app, problem_details=True)."
    )
    with pytest.raises(fr.RestlyConfigurationError) as raised:
        fr.configure(FastAPI(), problem_details="yes")  # type: ignore[arg-type]
    assert str(raised.value) == (
        "configure(problem_details=...) must be True or False; got 'yes'. "
        "Use problem_details=True."
    )


def error_responses(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", code, response)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        for code, response in operation["responses"].items()
        if code[0] in "45"
    ]


def test_openapi_declares_the_problem_schema_on_every_error_response(
    fr_globals: fr.FRGlobals,
) -> None:
    fr.configure(async_database_url="sqlite+aiosqlite://")
    document = make_app("async").openapi()
    schemas = document["components"]["schemas"]
    assert {"Problem", "ProblemError", "ValidationProblem"} <= schemas.keys()
    assert not {"HTTPValidationError", "ValidationError", "ErrorDetail"} & schemas.keys()
    documented = error_responses(document)
    assert len(documented) > 20
    for operation, code, response in documented:
        content = response["content"]
        name = "ValidationProblem" if code == "422" else "Problem"
        expected = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{name}"}}}
        assert content == expected, (operation, code)
    assert schemas["Problem"]["required"] == ["type", "title", "status", "detail"]
    text = json.dumps(document)
    assert "HTTPValidationError" not in text and "ErrorDetail" not in text


def test_openapi_is_unchanged_when_problem_details_are_off(fr_globals: fr.FRGlobals) -> None:
    fr.configure(async_database_url="sqlite+aiosqlite://")
    document = make_app("async", problem_details=None).openapi()
    assert "HTTPValidationError" in document["components"]["schemas"]
    assert PROBLEM_MEDIA_TYPE not in json.dumps(document)
    for _, _, response in error_responses(document):
        assert set(response["content"]) == {"application/json"}


def test_openapi_keeps_the_applications_own_error_schemas(fr_globals: fr.FRGlobals) -> None:
    class Problem(BaseModel):  # the application's own, of the same name
        brewing: bool

    app = FastAPI()

    @app.get("/tea", responses={418: {"model": Problem}, 403: {"description": "Not yours"}})
    async def tea() -> dict[str, str]:
        return {}

    fr.configure(app, problem_details=True)
    document = app.openapi()
    responses = document["paths"]["/tea"]["get"]["responses"]
    assert responses["418"]["content"] == {
        PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/RestlyProblem"}},
        "application/json": {"schema": {"$ref": "#/components/schemas/Problem"}},
    }
    assert responses["403"]["content"] == {
        PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/RestlyProblem"}}
    }
    schemas = document["components"]["schemas"]
    assert schemas["Problem"]["properties"] == {"brewing": {"title": "Brewing", "type": "boolean"}}
    first = schemas["ValidationProblem"]["allOf"][0]
    assert first == {"$ref": "#/components/schemas/RestlyProblem"}
