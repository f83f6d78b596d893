"""Keyset pages over HTTP: walking the ``next`` (and ``prev``) links of any ``order_by``
returns every row once, in the order of the unpaged list, on every backend and view kind."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Header
from sqlalchemy import delete, event, insert, select, update

import restly as fr
from restly.query import cursor_codec
from restly.query._cursor import EnumName

from .list_support import Base, NestedVolume, Volume, VOLUMES, ids, seed, volume, walk

__all__ = ["Base"]  # the ``database`` fixture creates this module's tables

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["async", "sync"])
def view_base(request: pytest.FixtureRequest) -> type:
    return fr.AsyncRestView if request.param == "async" else fr.RestView


def volume_app(view_base: type, **options: Any) -> tuple[FastAPI, dict[str, type]]:
    """``/volumes`` (flat, with the envelope) and ``/nested`` (a nested shelf: ORM objects,
    a plain array), over the same table."""
    app = FastAPI()
    views = {
        "flat": type(
            "VolumeView",
            (view_base,),
            {"prefix": "/volumes", "model": Volume, "include_pagination_metadata": True, **options},
        ),
        "nested": type(
            "NestedView",
            (view_base,),
            {"prefix": "/nested", "model": Volume, "schema": NestedVolume, **options},
        ),
    }
    fr.include_view(app, *views.values())
    return app, views


@pytest.fixture
async def client(
    database: Any, fr_globals: fr.FRGlobals, view_base: type, client_for: Any
) -> httpx.AsyncClient:
    seed(fr_globals)
    app, _ = volume_app(view_base)
    return client_for(app)


FLAT_ORDERS = [
    "",
    "-id",
    "rank",
    "-rank",
    "rank,-title",
    "weight,-rank",
    "-stamp",
    "stamp,weight",
    "kind,flag",
    "-flag,code",
    "-weight,-rank,-stamp",
    "moment,-id",
    "score",
    "-score,weight",
]
NESTED_ORDERS = ["shelf.name", "-shelf.name,rank", "shelf.id,-stamp", "-shelf.name,-rank"]


async def unpaged(client: httpx.AsyncClient, path: str, order: str) -> list[int]:
    return ids(await client.get(path, params={"order_by": order} if order else {}))


@pytest.mark.parametrize(
    ("path", "order", "size"),
    [("/volumes", order, 7) for order in FLAT_ORDERS]
    + [("/nested", order, 5) for order in NESTED_ORDERS],
)
async def test_walking_the_pages_returns_every_row_once_in_the_unpaged_order(
    client: httpx.AsyncClient, path: str, order: str, size: int
) -> None:
    expected = await unpaged(client, path, order)
    assert sorted(expected) == [row["id"] for row in VOLUMES]
    params = {"page_size": size, **({"order_by": order} if order else {})}
    first = await client.get(path, params=params)
    assert "prev" not in first.links
    forward = await walk(client, first)
    pages = [ids(page) for page in forward]
    assert [row for page in pages for row in page] == expected
    assert [len(page) for page in pages[:-1]] == [size] * (len(pages) - 1)
    assert "next" not in forward[-1].links  # omitted on the last page, never empty
    # the prev links of the last page lead back through the very same pages
    backward = await walk(client, forward[-1], "prev")
    assert [ids(page) for page in reversed(backward)] == pages


@pytest.mark.parametrize("size", [128, 129, 150])
@pytest.mark.parametrize("order", ["", "-rank", "weight,-rank"])
async def test_pages_of_more_rows_than_are_read_at_a_time_walk_alike(
    database: Any, fr_globals: fr.FRGlobals, view_base: type, client_for: Any, order: str, size: int
) -> None:
    """A flat page is read a chunk of rows at a time (``RowSerializer.collect``): pages
    longer than a chunk, or ending where one ends, still note their boundary rows, their
    next page and their total."""
    seed(fr_globals, [volume(index) for index in range(1, 2 * size + 40)])
    app, _ = volume_app(view_base)
    client = client_for(app)
    expected = await unpaged(client, "/volumes", order)
    params = {"page_size": size, **({"order_by": order} if order else {})}
    first = await client.get("/volumes", params=params)
    assert first.json()["total"] == len(expected)
    forward = await walk(client, first)
    pages = [ids(page) for page in forward]
    assert [len(page) for page in pages] == [size, size, 39]
    assert [row for page in pages for row in page] == expected
    backward = await walk(client, forward[-1], "prev")
    assert [ids(page) for page in reversed(backward)] == pages
    second = await client.get("/volumes", params={**params, "page": 2})
    assert ids(second) == pages[1] and second.json()["total"] == len(expected)


async def test_nulls_sort_where_each_database_puts_them(
    client: httpx.AsyncClient, database: Any
) -> None:
    # PostgreSQL puts NULL after every value ascending; SQLite and MariaDB before.
    listed = ids(await client.get("/volumes", params={"order_by": "rank"}))
    nulls_last = database.dialect == "postgresql"

    def position(row: dict[str, Any]) -> tuple[Any, ...]:
        missing = row["rank"] is None
        return (missing != (not nulls_last), row["rank"] or 0, row["id"])

    assert listed == [row["id"] for row in sorted(VOLUMES, key=position)]
    first = await client.get("/volumes", params={"order_by": "rank", "page_size": 10})
    pages = await walk(client, first)
    assert [row for page in pages for row in ids(page)] == listed


async def test_the_envelope_carries_the_links_cursors(client: httpx.AsyncClient) -> None:
    first = await client.get("/volumes", params={"order_by": "-rank", "page_size": 20})
    body = first.json()
    assert {k: v for k, v in body.items() if k not in ("items", "next_cursor")} == {
        "total": 61, "page": 1, "page_size": 20, "total_pages": 4,
    }  # fmt: skip
    assert first.headers["link"] == (
        f'</volumes?order_by=-rank&page_size=20&cursor={body["next_cursor"]}>; rel="next"'
    )
    second = await client.get(first.links["next"]["url"])
    body = second.json()
    # a page reached by a cursor is not counted unless asked: has_more tells what follows
    assert (body["total"], body["page"], body["total_pages"], body["has_more"]) == (
        None, None, None, True,
    )  # fmt: skip
    assert second.links["next"]["url"].endswith(f"cursor={body['next_cursor']}")
    assert second.links["prev"]["url"].endswith(f"cursor={body['prev_cursor']}")
    back = (await client.get("/volumes", params={"order_by": "-rank", "page_size": 20,
                                                 "cursor": body["prev_cursor"]})).json()  # fmt: skip
    assert [v["id"] for v in back["items"]] == [v["id"] for v in first.json()["items"]]
    assert "prev_cursor" not in back  # page 1 again: nothing before it


async def test_links_keep_every_other_parameter_and_are_relative(
    database: Any, fr_globals: fr.FRGlobals, view_base: type
) -> None:
    seed(fr_globals)
    app, _ = volume_app(view_base)
    transport = httpx.ASGITransport(app=app, root_path="/api")
    async with httpx.AsyncClient(transport=transport, base_url="https://example.org") as client:
        params = {"title__contains": "vol 1", "rank": "1,2", "order_by": "rank,-title",
                  "page_size": "2"}  # fmt: skip
        response = await client.get("/api/volumes", params=params)
        link = response.links["next"]["url"]
        assert link.startswith("/api/volumes?title__contains=vol+1&rank=1%2C2&order_by=rank%2C-title")
        assert "page_size=2&cursor=" in link and "example.org" not in link
        expected = [r["id"] for r in sorted(
            (r for r in VOLUMES if r["rank"] in (1, 2) and r["title"] == "vol 1"),
            key=lambda r: (r["rank"], -r["id"]),  # the primary key follows the last key's way
        )]  # fmt: skip
        pages = await walk(client, response)
        assert [row for page in pages for row in ids(page)] == expected


async def test_a_cursor_accepts_another_page_size(client: httpx.AsyncClient) -> None:
    expected = await unpaged(client, "/volumes", "weight")
    first = await client.get("/volumes", params={"order_by": "weight", "page_size": 3})
    cursor = first.json()["next_cursor"]
    bigger = await client.get("/volumes", params={"order_by": "weight", "page_size": 50,
                                                  "cursor": cursor})  # fmt: skip
    assert ids(bigger) == expected[3:53]
    unpaginated = await client.get("/volumes", params={"order_by": "weight", "cursor": cursor})
    assert ids(unpaginated) == expected[3:]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"order_by": "-weight"}, "belongs to another listing"),
        ({"order_by": "weight", "flag": "true"}, "belongs to another listing"),
        ({"order_by": "weight", "cursor": "!!"}, "not one this API issued"),
        ({"order_by": "weight", "page": 2}, "cannot be combined"),
    ],
)
async def test_a_cursor_used_elsewhere_is_a_400_naming_it(
    client: httpx.AsyncClient, change: dict[str, Any], message: str
) -> None:
    first = await client.get("/volumes", params={"order_by": "weight", "page_size": 3})
    params = {"page_size": 3, "cursor": first.json()["next_cursor"], **change}
    response = await client.get("/volumes", params=params)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "cursor" in detail and message in detail
    # a cursor of the other view of the same table and order
    other = await client.get("/nested", params={"order_by": "rank", "page_size": 3})
    foreign = other.links["next"]["url"].replace("/nested", "/volumes")
    refused = await client.get(foreign)
    assert refused.status_code == 400 and "belongs to another listing" in refused.text


async def test_a_tampered_cursor_is_a_400(client: httpx.AsyncClient) -> None:
    first = await client.get("/volumes", params={"page_size": 3})
    cursor = first.json()["next_cursor"]
    for index in (0, 5, len(cursor) // 2, len(cursor) - 1):
        changed = cursor[:index] + ("B" if cursor[index] != "B" else "C") + cursor[index + 1 :]
        response = await client.get("/volumes", params={"page_size": 3, "cursor": changed})
        assert response.status_code == 400, changed
        assert "cursor parameter is not one this API issued" in response.json()["detail"]
    too_long = await client.get("/volumes", params={"cursor": "A" * 5000})
    assert too_long.status_code == 422 and too_long.json()["detail"][0]["loc"] == ["query", "cursor"]


@pytest.mark.parametrize(
    ("order", "values"),
    [
        ("stamp", ("not a date", 3)),
        ("stamp", (3,)),
        ("stamp", ("2024-01-01", 1, 2)),
        ("stamp", (None, 1)),  # stamp is not nullable
        ("", (2**31,)),  # beyond the INTEGER column: asyncpg would refuse to bind it
        ("", (True,)),
        ("title", ("a\x00b", 1)),  # NUL: PostgreSQL refuses it in text
        ("weight", (Decimal("NaN"), 1)),
        ("weight", (Decimal("1e999"), 1)),
        ("kind", ("NOT_A_KIND", 1)),
    ],
)
async def test_a_forged_position_is_a_400_not_a_500(
    client: httpx.AsyncClient, order: str, values: tuple[Any, ...]
) -> None:
    """With the default key anyone can write a cursor; its values are still checked."""
    params = {"order_by": order, "page_size": 3} if order else {"page_size": 3}
    cursor = (await client.get("/volumes", params=params)).json()["next_cursor"]
    codec = cursor_codec(None)
    binding = codec._open(cursor)[:8]  # type: ignore[index]  # the listing's own binding
    if order == "kind":
        values = (EnumName(values[0]), *values[1:])
    forged = codec.encode(binding, values, False)
    response = await client.get("/volumes", params={**params, "cursor": forged})
    assert response.status_code == 400, (values, response.text)
    assert "does not fit this listing's sort keys" in response.json()["detail"]


async def test_a_cursor_signed_with_another_key_is_a_400(
    database: Any, fr_globals: fr.FRGlobals, view_base: type, client_for: Any
) -> None:
    seed(fr_globals)
    fr.configure(cursor_key="the key of this deployment")
    client = client_for(volume_app(view_base)[0])
    cursor = (await client.get("/volumes", params={"page_size": 3})).json()["next_cursor"]
    assert (await client.get("/volumes", params={"page_size": 3, "cursor": cursor})).status_code == 200
    fr.configure(cursor_key="the key of another deployment")
    response = await client.get("/volumes", params={"page_size": 3, "cursor": cursor})
    assert response.status_code == 400 and "signed with another key" in response.text


def current_user(x_user: str = Header()) -> str:
    return x_user


async def test_a_cursor_grants_nothing_the_scope_is_applied_again(
    database: Any, fr_globals: fr.FRGlobals, view_base: type, client_for: Any
) -> None:
    seed(fr_globals)

    class MineView(view_base):  # type: ignore[valid-type,misc]
        prefix = "/mine"
        model = Volume
        include_pagination_metadata = True
        user: Annotated[str, Depends(current_user)]

        def build_list_query(self) -> Any:
            return super().build_list_query().where(Volume.owner == self.user)

    app = FastAPI()
    fr.include_view(app, MineView)
    client = client_for(app)
    first = await client.get("/mine", params={"page_size": 4}, headers={"x-user": "ann"})
    assert first.json()["total"] == sum(row["owner"] == "ann" for row in VOLUMES)
    # bob replays ann's cursor: he sees only his own rows, those after that position
    replayed = await client.get(first.links["next"]["url"], headers={"x-user": "bob"})
    bobs = [row["id"] for row in VOLUMES if row["owner"] == "bob"]
    assert ids(replayed) == [i for i in bobs if i > ids(first)[-1]][:4]
    assert ids(replayed) and all(VOLUMES[i - 1]["owner"] == "bob" for i in ids(replayed))


async def test_a_deleted_boundary_row_or_new_rows_before_it_change_nothing_after_it(
    client: httpx.AsyncClient, fr_globals: fr.FRGlobals
) -> None:
    expected = await unpaged(client, "/volumes", "-rank")
    first = await client.get("/volumes", params={"order_by": "-rank", "page_size": 10})
    boundary = ids(first)[-1]
    with fr_globals.get_engine().begin() as connection:
        connection.execute(delete(Volume).where(Volume.id == boundary))
        # a new row sorting before the position: the first row's rank, a higher id
        top = first.json()["items"][0]["rank"]
        connection.execute(insert(Volume), [{**volume(100), "rank": top}])
    rest = await walk(client, await client.get(first.links["next"]["url"]))
    assert [row for page in rest for row in ids(page)] == expected[10:]


async def test_descending_and_single_key_lists_have_next_links(client: httpx.AsyncClient) -> None:
    for order in ("-id", "-stamp", "-code"):
        first = await client.get("/volumes", params={"order_by": order, "page_size": 60})
        assert "next" in first.links, order
        last = await client.get(first.links["next"]["url"])
        assert len(ids(last)) == 1 and "next" not in last.links


async def test_rows_differing_by_a_microsecond_are_told_apart(
    database: Any, fr_globals: fr.FRGlobals, view_base: type, client_for: Any
) -> None:
    rows = [{**volume(index), "stamp": volume(1)["stamp"].replace(microsecond=index % 3)}
            for index in range(1, 13)]  # fmt: skip
    seed(fr_globals, rows)
    client = client_for(volume_app(view_base)[0])
    first = await client.get("/volumes", params={"order_by": "-stamp,-flag", "page_size": 1})
    pages = await walk(client, first)
    assert [row for page in pages for row in ids(page)] == await unpaged(
        client, "/volumes", "-stamp,-flag"
    )
    assert len(pages) == 12


async def test_an_unpaginated_list_cut_short_links_to_the_rest(
    database: Any, fr_globals: fr.FRGlobals, view_base: type, client_for: Any
) -> None:
    seed(fr_globals)
    client = client_for(volume_app(view_base, max_page_size=25)[0])
    for path in ("/volumes", "/nested"):
        first = await client.get(path, params={"order_by": "title"})
        assert len(ids(first)) == 25
        assert "page_size" not in first.links["next"]["url"]
        pages = await walk(client, first)
        assert [len(ids(page)) for page in pages] == [25, 25, 11]
        everything = [row for page in pages for row in ids(page)]
        assert sorted(everything) == sorted(row["id"] for row in VOLUMES)
    # a list that fits is silent, as before
    assert "link" not in (await client.get("/volumes", params={"rank": "1"})).headers


async def test_offset_pages_link_to_the_pages_around_them(client: httpx.AsyncClient) -> None:
    first = await client.get("/nested", params={"page": 1, "page_size": 25})
    assert first.links["next"]["url"] == "/nested?page_size=25&page=2"
    assert "prev" not in first.links
    middle = await client.get(first.links["next"]["url"])
    assert set(middle.links) == {"next", "prev"}
    assert middle.links["prev"]["url"] == "/nested?page_size=25&page=1"
    last = await client.get(middle.links["next"]["url"])
    assert len(ids(last)) == 11 and set(last.links) == {"prev"}
    counted = await client.get("/volumes", params={"page": 3, "page_size": 25})
    assert set(counted.links) == {"prev"} and "next_cursor" not in counted.json()


async def test_a_cursor_page_counts_nothing(
    client: httpx.AsyncClient, fr_globals: fr.FRGlobals
) -> None:
    first = await client.get("/volumes", params={"order_by": "rank", "page_size": 5})
    sent: list[str] = []
    engines = [fr_globals.get_engine(), fr_globals.get_async_engine().sync_engine]

    def record(*args: Any) -> None:
        sent.append(" ".join(args[2].split()).lower())

    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        page = await client.get(first.links["next"]["url"])
        assert len(ids(page)) == 5
        assert len(sent) == 1 and "count(" not in sent[0]
        sent.clear()
        counted = await client.get(first.links["next"]["url"], headers={"Prefer": "count=exact"})
        assert counted.json()["total"] == 61 and len(sent) == 2 and "count(" in sent[1]
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def flagged() -> Any:
    return select(Volume).where(Volume.flag.is_(True))


async def test_custom_queries_and_handle_list_page_by_cursor_too(
    database: Any, fr_globals: fr.FRGlobals, view_base: type, client_for: Any
) -> None:
    seed(fr_globals)

    class Scoped(view_base):  # type: ignore[valid-type,misc]
        prefix = "/scoped"
        model = Volume

        def build_list_query(self) -> Any:
            return flagged()

    if view_base is fr.AsyncRestView:

        class Handled(fr.AsyncRestView):
            prefix = "/handled"
            model = Volume
            schema = NestedVolume
            include_pagination_metadata = True

            async def handle_list(self, query_params: Any, query: Any = None) -> Any:
                flagged = self.build_list_query().where(Volume.flag.is_(True))  # keeps its loads
                return list(await super().handle_list(query_params, query=flagged))

    else:

        class Handled(fr.RestView):  # type: ignore[no-redef]
            prefix = "/handled"
            model = Volume
            schema = NestedVolume
            include_pagination_metadata = True

            def handle_list(self, query_params: Any, query: Any = None) -> Any:
                flagged = self.build_list_query().where(Volume.flag.is_(True))  # keeps its loads
                return list(super().handle_list(query_params, query=flagged))

    app = FastAPI()
    fr.include_view(app, Scoped, Handled)
    client = client_for(app)
    even = [row["id"] for row in VOLUMES if row["flag"]]
    for path, order in (("/scoped", "-rank,stamp"), ("/handled", "shelf.name,-id")):
        expected = await unpaged(client, path, order)
        assert sorted(expected) == even
        first = await client.get(path, params={"order_by": order, "page_size": 4})
        pages = await walk(client, first)
        assert [row for page in pages for row in ids(page)] == expected, path
        back = await walk(client, pages[-1], "prev")
        assert [row for page in reversed(back) for row in ids(page)] == expected, path


async def test_cursors_work_across_worker_processes(
    fr_globals: fr.FRGlobals, view_base: type, client_for: Any, tmp_path: Path
) -> None:
    """A cursor issued by another process (another worker behind a balancer), with no key
    configured, continues the listing here. (One SQLite file serves both processes.)"""
    path = tmp_path / "shared.sqlite3"
    fr.configure(database_url=f"sqlite:///{path}", async_database_url=f"sqlite+aiosqlite:///{path}")
    Base.metadata.create_all(fr_globals.get_engine())
    seed(fr_globals)
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from fastapi.testclient import TestClient
        import restly as fr
        from tests.views.test_list_cursor import volume_app
        fr.configure(database_url="sqlite:///{path}")
        app, _ = volume_app(fr.RestView)
        with TestClient(app) as client:
            response = client.get("/volumes", params={{"order_by": "-stamp", "page_size": 7}})
            print(response.links["next"]["url"])
    """))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    link = done.stdout.strip().splitlines()[-1]
    client = client_for(volume_app(view_base)[0])
    expected = await unpaged(client, "/volumes", "-stamp")
    assert ids(await client.get(link)) == expected[7:14]
    await fr_globals.dispose()


async def test_updates_between_pages_never_repeat_a_row_in_a_stable_key(
    client: httpx.AsyncClient, fr_globals: fr.FRGlobals
) -> None:
    first = await client.get("/volumes", params={"page_size": 10})  # by id
    with fr_globals.get_engine().begin() as connection:
        connection.execute(update(Volume).values(rank=None))  # not a sort key here
    rest = await walk(client, await client.get(first.links["next"]["url"]))
    seen = ids(first) + [row for page in rest for row in ids(page)]
    assert seen == sorted(row["id"] for row in VOLUMES)


async def test_row_scopes_apply_to_every_keyset_page(
    database: Any, fr_globals: fr.FRGlobals, view_base: type, client_for: Any
) -> None:
    """``fr.scope`` conditions reach the keyset statements (ORM selects), forward and back,
    and the key lookup of an overridden ``handle_list``."""
    seed(fr_globals)

    @fr.scope(Volume)
    def owned(user: Annotated[str, Depends(current_user)]) -> Any:
        return Volume.owner == user

    app, _ = volume_app(view_base)
    client = client_for(app)
    bobs = [row["id"] for row in sorted(VOLUMES, key=lambda row: -row["id"]) if row["owner"] == "bob"]
    first = await client.get("/volumes", params={"order_by": "-id", "page_size": 4},
                             headers={"x-user": "bob"})  # fmt: skip
    pages = [first]
    for _ in range(10):
        if "next" not in pages[-1].links:
            break
        pages.append(await client.get(pages[-1].links["next"]["url"], headers={"x-user": "bob"}))
    assert [row for page in pages for row in ids(page)] == bobs
    back = await client.get(pages[-1].links["prev"]["url"], headers={"x-user": "bob"})
    assert ids(back) == ids(pages[-2])
