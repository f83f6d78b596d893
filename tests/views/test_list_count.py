"""Count negotiation over HTTP: ``Prefer: count=exact|planned|estimated|none`` (RFC 7240),
answered in ``Preference-Applied``, for the envelope and react-admin's ``Content-Range``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Header
from sqlalchemy import event, insert, text
from sqlalchemy.orm import Session, with_loader_criteria

import restly as fr
from restly.query._estimate import ESTIMATE_OPTION

from .list_support import SHELVES, Base, Shelf, Volume, VOLUMES, seed, volume

__all__ = ["Base"]  # the ``database`` fixture creates this module's tables

pytestmark = pytest.mark.anyio

RANK_ONE = sum(row["rank"] == 1 for row in VOLUMES)


@pytest.fixture(params=["async", "sync"])
def view_base(request: pytest.FixtureRequest) -> type:
    return fr.AsyncRestView if request.param == "async" else fr.RestView


def analyze(fr_globals: fr.FRGlobals, database: Any) -> None:
    """Fresh planner statistics (what autovacuum keeps up to date in production)."""
    if database.dialect == "postgresql":
        with fr_globals.get_engine().connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("ANALYZE ls_volume")
            )


def volume_app(view_base: type, **options: Any) -> FastAPI:
    app = FastAPI()
    namespace = {"prefix": "/volumes", "model": Volume, "include_pagination_metadata": True}
    fr.include_view(app, type("VolumeView", (view_base,), {**namespace, **options}))
    ra_base = fr.AsyncReactAdminView if view_base is fr.AsyncRestView else fr.ReactAdminView
    fr.include_view(app, type("VolumeAdmin", (ra_base,), {"prefix": "/admin", "model": Volume}))
    return app


@pytest.fixture
async def client(
    database: Any, fr_globals: fr.FRGlobals, view_base: type, client_for: Any
) -> httpx.AsyncClient:
    seed(fr_globals)
    analyze(fr_globals, database)
    return client_for(volume_app(view_base))


@contextmanager
def statements(fr_globals: fr.FRGlobals) -> Iterator[list[tuple[str, bool]]]:
    """The statements sent meanwhile, and whether each ran as an ``EXPLAIN`` estimate."""
    sent: list[tuple[str, bool]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: Any) -> None:
        estimate = bool(context is not None and context.execution_options.get(ESTIMATE_OPTION))
        sent.append((" ".join(statement.split()).lower(), estimate))

    engines = [fr_globals.get_engine(), fr_globals.get_async_engine().sync_engine]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


async def get(client: httpx.AsyncClient, prefer: str | None = None, **params: Any) -> httpx.Response:
    headers = {"Prefer": prefer} if prefer is not None else {}
    response = await client.get("/volumes", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response


async def test_without_prefer_the_count_is_exact_and_nothing_is_answered(
    client: httpx.AsyncClient,
) -> None:
    response = await get(client, page_size=5)
    assert response.json()["total"] == 61 and response.json()["total_pages"] == 13
    assert "preference-applied" not in response.headers
    assert response.headers["vary"] == "Prefer"


async def test_prefer_count_exact_is_applied(client: httpx.AsyncClient) -> None:
    response = await get(client, "count=exact", rank=1, page_size=5)
    assert response.json()["total"] == RANK_ONE
    assert response.headers["preference-applied"] == "count=exact"


async def test_prefer_count_none_sends_no_count(
    client: httpx.AsyncClient, fr_globals: fr.FRGlobals
) -> None:
    with statements(fr_globals) as sent:
        first = await get(client, "count=none", page_size=5)
    assert len(sent) == 1 and "count(" not in sent[0][0]
    body = first.json()
    assert (body["total"], body["total_pages"], body["has_more"], body["page"]) == (
        None, None, True, 1,
    )  # fmt: skip
    assert first.headers["preference-applied"] == "count=none"
    last = (await get(client, "count=none", page=13, page_size=5)).json()
    assert len(last["items"]) == 1 and last["has_more"] is False
    beyond = (await get(client, "count=none", page=99, page_size=5)).json()
    assert beyond["items"] == [] and beyond["total"] is None and beyond["has_more"] is False


async def test_prefer_count_planned_reads_the_planner_where_there_is_one(
    client: httpx.AsyncClient, fr_globals: fr.FRGlobals, database: Any
) -> None:
    with statements(fr_globals) as sent:
        response = await get(client, "count=planned", page_size=5)
    body = response.json()
    if database.dialect == "postgresql":
        assert response.headers["preference-applied"] == "count=planned"
        assert body["total_estimated"] is True and body["total"] == 61  # statistics fresh
        assert [estimate for _, estimate in sent] == [False, True]
        assert not any("count(" in statement for statement, _ in sent)
    else:  # no planner estimate: exact, and the header says so
        assert response.headers["preference-applied"] == "count=exact"
        assert "total_estimated" not in body and body["total"] == 61
        assert not any(estimate for _, estimate in sent)


@pytest.mark.parametrize(("threshold", "applied"), [(100, "exact"), (10, "planned")])
async def test_prefer_count_estimated_is_exact_below_the_threshold(
    database: Any, fr_globals: fr.FRGlobals, view_base: type, client_for: Any,
    threshold: int, applied: str,
) -> None:  # fmt: skip
    seed(fr_globals)
    analyze(fr_globals, database)
    client = client_for(volume_app(view_base, count_threshold=threshold))
    response = await get(client, "count=estimated", page_size=5)
    expected = applied if database.dialect == "postgresql" else "exact"
    assert response.headers["preference-applied"] == f"count={expected}"
    assert response.json()["total"] == 61
    assert ("total_estimated" in response.json()) == (expected == "planned")


async def test_the_views_count_is_the_default(
    database: Any, fr_globals: fr.FRGlobals, view_base: type, client_for: Any
) -> None:
    seed(fr_globals)
    client = client_for(volume_app(view_base, count="none"))
    plain = (await get(client, page_size=5)).json()
    assert plain["total"] is None and plain["has_more"] is True
    asked = await get(client, "count=exact", page_size=5)
    assert asked.json()["total"] == 61


@pytest.mark.parametrize(
    ("prefer", "total", "applied"),
    [
        ("count=banana", 61, None),  # unknown value: ignored (RFC 7240 section 2)
        ("count", 61, None),
        ("count=", 61, None),
        ("handling=lenient, count=banana", 61, None),
        ('respond-async, count="none"; foo=bar, wait=10', None, "none"),
        ("COUNT=NONE", None, "none"),
        ("count=none, count=exact", None, "none"),  # the first one counts
        ("return=minimal", 61, None),
        (",,;=,", 61, None),
    ],
)
async def test_prefer_is_parsed_as_rfc_7240_says(
    client: httpx.AsyncClient, prefer: str, total: int | None, applied: str | None
) -> None:
    response = await get(client, prefer, page_size=5)
    assert response.json()["total"] == total
    assert response.headers.get("preference-applied") == (applied and f"count={applied}")


async def test_a_strict_prefer_refuses_an_unknown_count(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/volumes", params={"page_size": 5}, headers={"Prefer": "handling=strict, count=banana"}
    )
    assert response.status_code == 400
    assert "count=banana" in response.json()["detail"]
    fine = await get(client, "handling=strict, count=none", page_size=5)
    assert fine.json()["total"] is None


async def test_past_the_last_page_every_count_tells_the_truth(
    client: httpx.AsyncClient, database: Any
) -> None:
    """Never 0 for a page past the end: the total of an empty page comes from a count."""
    for prefer, total in (
        (None, 61), ("count=exact", 61), ("count=planned", 61), ("count=estimated", 61),
        ("count=none", None),
    ):  # fmt: skip
        body = (await get(client, prefer, page=99, page_size=5)).json()
        assert body["items"] == [] and body["total"] == total, prefer


@pytest.mark.parametrize(
    "db_urls", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)  # the only database answering planned counts
async def test_an_estimate_is_never_below_what_the_page_shows(
    database: Any, fr_globals: fr.FRGlobals, view_base: type, client_for: Any
) -> None:
    engine = fr_globals.get_engine()
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.execute(text("ALTER TABLE ls_volume SET (autovacuum_enabled = false)"))
        connection.execute(insert(Shelf), SHELVES)
        connection.execute(insert(Volume), [volume(index) for index in range(1, 4)])
        connection.execute(text("ANALYZE ls_volume"))  # statistics of 3 rows...
        connection.execute(insert(Volume), [volume(index) for index in range(4, 2001)])
        plan = connection.execute(text("EXPLAIN (FORMAT JSON) SELECT id FROM ls_volume")).scalar()
    raw = plan[0]["Plan"]["Plan Rows"]
    assert raw < 151, raw  # ...so the planner underestimates: the case to clamp
    client = client_for(volume_app(view_base))
    body = (await get(client, "count=planned", page=3, page_size=50)).json()
    assert len(body["items"]) == 50 and body["total_estimated"] is True
    assert body["total"] >= 151  # 100 rows before this page, 50 on it, and more after
    short = (await get(client, "count=planned", page=40, page_size=50)).json()
    assert len(short["items"]) == 50 and short["total"] >= 2000
    beyond = (await get(client, "count=planned", page=41, page_size=50)).json()
    assert beyond["items"] == [] and beyond["total_estimated"] is True
    assert 0 < beyond["total"] < 2000  # past the end a page shows nothing: the plan, as is


async def test_planned_counts_see_the_criteria_session_events_add(
    client: httpx.AsyncClient, database: Any
) -> None:
    """Row scopes added in ``do_orm_execute`` apply to the estimate as to the list."""

    def scope(state: Any) -> None:
        if state.is_select and not state.is_column_load and not state.is_relationship_load:
            state.statement = state.statement.options(
                with_loader_criteria(Volume, Volume.rank == 1, include_aliases=True)
            )

    event.listen(Session, "do_orm_execute", scope)
    try:
        exact = (await get(client, "count=exact", page_size=5)).json()
        planned = await get(client, "count=planned", page_size=5)
    finally:
        event.remove(Session, "do_orm_execute", scope)
    assert exact["total"] == RANK_ONE
    if database.dialect == "postgresql":
        assert planned.headers["preference-applied"] == "count=planned"
        assert planned.json()["total"] < 30  # the scope's ~15 rows, not the table's 61
    else:
        assert planned.json()["total"] == RANK_ONE


async def test_react_admin_content_range_follows_the_count(
    client: httpx.AsyncClient, database: Any
) -> None:
    plain = await client.get("/admin", params={"range": "[0,9]"})
    assert plain.headers["content-range"] == "items 0-9/61"
    assert plain.links["next"]["url"] == "/admin?range=%5B10%2C19%5D"
    assert "preference-applied" not in plain.headers and plain.headers["vary"] == "Prefer"
    uncounted = await client.get("/admin", params={"range": "[10,19]"},
                                 headers={"Prefer": "count=none"})  # fmt: skip
    assert uncounted.headers["content-range"] == "items 10-19/*"
    assert uncounted.headers["preference-applied"] == "count=none"
    assert uncounted.links["prev"]["url"] == "/admin?range=%5B0%2C9%5D"
    assert "next" in uncounted.links  # a full range: more may follow
    planned = await client.get("/admin", params={"range": "[0,9]"},
                               headers={"Prefer": "count=planned"})  # fmt: skip
    applied = "planned" if database.dialect == "postgresql" else "exact"
    assert planned.headers["preference-applied"] == f"count={applied}"
    assert planned.headers["content-range"] == "items 0-9/61"
    last = await client.get("/admin", params={"range": "[60,69]"},
                            headers={"Prefer": "count=none"})  # fmt: skip
    assert last.headers["content-range"] == "items 60-60/*"  # not counted, even when short
    assert "next" not in last.links


async def test_openapi_documents_prefer_and_the_answers_headers(view_base: type) -> None:
    document = volume_app(view_base).openapi()
    for path in ("/volumes", "/admin"):
        operation = document["paths"][path]["get"]
        prefer = [p for p in operation["parameters"] if p["name"] == "Prefer"]
        assert prefer and prefer[0]["in"] == "header", path
        headers = operation["responses"]["200"]["headers"]
        assert {"Link", "Preference-Applied", "Vary"} <= set(headers), path
    listing = document["paths"]["/volumes"]["get"]
    assert "400" in listing["responses"]
    assert any(p["name"] == "cursor" for p in listing["parameters"])


def owner(x_user: str = Header()) -> str:
    return x_user


async def test_planned_counts_see_row_scopes(
    database: Any, fr_globals: fr.FRGlobals, view_base: type, client_for: Any
) -> None:
    seed(fr_globals)
    analyze(fr_globals, database)

    @fr.scope(Volume)
    def owned(user: Annotated[str, Depends(owner)]) -> Any:
        return Volume.owner == user

    client = client_for(volume_app(view_base))
    bobs = sum(row["owner"] == "bob" for row in VOLUMES)
    headers = {"x-user": "bob", "Prefer": "count=planned"}
    planned = await client.get("/volumes", params={"page_size": 5}, headers=headers)
    body = planned.json()
    if database.dialect == "postgresql":
        assert planned.headers["preference-applied"] == "count=planned"
        assert body["total"] < 40  # bob's ~15 rows, not the table's 61
    else:
        assert body["total"] == bobs
    exact = await client.get("/volumes", params={"page_size": 5},
                             headers={"x-user": "bob", "Prefer": "count=exact"})  # fmt: skip
    assert exact.json()["total"] == bobs
    admin = await client.get("/admin", params={"range": "[0,4]"}, headers=headers)
    assert admin.headers["content-range"].startswith("items 0-4/")
